// IncrementalAlterConfigs (key 44), versions 0–1. Patches a resource's overrides: SET (0) gives a config a value,
// DELETE (1) returns it to its default, APPEND (2) and SUBTRACT (3) add items to or remove them from a list config
// (cleanup.policy, say), starting from its default when it has no override; configs the request does not name keep
// their values. Topics, this broker, the cluster-wide default ("") and broker loggers (8, the "root" logger's
// level) are served; the rules are in configs/alter.ts, shared with AlterConfigs.
// Leaves out: throttling.

import {
  IncrementalAlterConfigsRequestSchema,
  IncrementalAlterConfigsResponseSchema,
  type IncrementalAlterConfigsRequest,
  type IncrementalAlterConfigsResponse,
} from "../../kafka/protocol/messages/index.js";
import { alterConfigResources } from "../configs/alter.js";
import { defineHandler } from "./handler.js";

export { ConfigOperation } from "../configs/alter.js";

export default defineHandler<IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse>({
  apiKey: 44,
  name: "IncrementalAlterConfigs",
  versions: [0, 1],
  requestSchema: IncrementalAlterConfigsRequestSchema,
  responseSchema: IncrementalAlterConfigsResponseSchema,
  handle(ctx, request) {
    const resources = request.resources.map((resource) => ({
      resourceType: resource.resourceType,
      resourceName: resource.resourceName,
      changes: resource.configs.map(({ name, configOperation, value }) => ({
        name,
        operation: configOperation,
        value,
      })),
    }));
    const responses = alterConfigResources(ctx.broker, resources, true, request.validateOnly);
    return { throttleTimeMs: 0, responses };
  },
  errorResponse(request, errorCode) {
    return {
      throttleTimeMs: 0,
      responses: request.resources.map(({ resourceType, resourceName }) => ({
        errorCode,
        errorMessage: null,
        resourceType,
        resourceName,
      })),
    };
  },
});
