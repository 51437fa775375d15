// IncrementalAlterConfigs (key 44), versions 0–1. Patches a topic's config overrides: SET (0) gives a config a value,
// DELETE (1) returns it to its default; configs the request does not name keep their values. Every change of a
// resource is checked before any is applied. APPEND (2) and SUBTRACT (3) are refused with INVALID_REQUEST: they
// work on list-valued configs, and no topic config Sluice accepts holds more than one value.
// Leaves out: broker and broker-logger resources (refused, as in AlterConfigs), throttling.

import { ErrorCode } from "../../kafka/protocol/error-codes.js";
import {
  IncrementalAlterConfigsRequestSchema,
  IncrementalAlterConfigsResponseSchema,
  type IncrementalAlterConfigsRequest,
  type IncrementalAlterConfigsResponse,
} from "../../kafka/protocol/messages/index.js";
import type { AlterConfigsResource } from "../../kafka/protocol/messages/incremental-alter-configs-request.js";
import { TopicError } from "../topics.js";
import { alterConfigResources, configNamedTwice } from "./33-alter-configs.js";
import { defineHandler } from "./handler.js";

export const ConfigOperation = { SET: 0, DELETE: 1, APPEND: 2, SUBTRACT: 3 } as const;

function changesOf(resource: AlterConfigsResource): Map<string, string | null> {
  const changes = new Map<string, string | null>();
  for (const { name, configOperation, value } of resource.configs) {
    if (changes.has(name)) throw configNamedTwice(name);
    switch (configOperation) {
      case ConfigOperation.SET:
        if (value === null) throw new TopicError(ErrorCode.INVALID_REQUEST, `SET ${name} needs a value`);
        changes.set(name, value);
        break;
      case ConfigOperation.DELETE:
        changes.set(name, null);
        break;
      case ConfigOperation.APPEND:
      case ConfigOperation.SUBTRACT:
        throw new TopicError(
          ErrorCode.INVALID_REQUEST,
          `APPEND and SUBTRACT change list-valued configs, and ${name} takes a single value here; use SET`,
        );
      default:
        throw new TopicError(
          ErrorCode.INVALID_REQUEST,
          `config operation ${configOperation} on ${name} is unknown; use 0 (SET) or 1 (DELETE)`,
        );
    }
  }
  return changes;
}

export default defineHandler<IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse>({
  apiKey: 44,
  name: "IncrementalAlterConfigs",
  versions: [0, 1],
  requestSchema: IncrementalAlterConfigsRequestSchema,
  responseSchema: IncrementalAlterConfigsResponseSchema,
  handle(ctx, request) {
    const responses = alterConfigResources(ctx.broker, request.resources, {
      incremental: true,
      validateOnly: request.validateOnly,
      changesOf,
    });
    return { throttleTimeMs: 0, responses };
  },
  errorResponse(request, errorCode) {
    return {
      throttleTimeMs: 0,
      responses: request.resources.map((resource) => ({
        errorCode,
        errorMessage: null,
        resourceType: resource.resourceType,
        resourceName: resource.resourceName,
      })),
    };
  },
});
