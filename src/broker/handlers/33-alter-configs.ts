// AlterConfigs (key 33), versions 0–2. Replaces a topic's whole set of config overrides: what the request leaves
// out (or gives a null value) goes back to its default. Every config of a resource is checked before any is applied,
// so a resource changes entirely or not at all. A resource named twice in one request, or a config named twice in
// one resource, is refused. The resource loop is shared with IncrementalAlterConfigs (44), which patches instead.
// Leaves out: broker resources (refused: their settings are flags given at start), broker loggers, throttling.

import { ErrorCode } from "../../kafka/protocol/error-codes.js";
import {
  AlterConfigsRequestSchema,
  AlterConfigsResponseSchema,
  type AlterConfigsRequest,
  type AlterConfigsResponse,
} from "../../kafka/protocol/messages/index.js";
import type { AlterConfigsResourceResponse } from "../../kafka/protocol/messages/alter-configs-response.js";
import type { Broker } from "../broker.js";
import { TopicError } from "../topics.js";
import { ConfigResourceType } from "./32-describe-configs.js";
import { defineHandler } from "./handler.js";

/** Resources one AlterConfigs or IncrementalAlterConfigs request may name; the rest get INVALID_REQUEST. */
export const ALTER_CONFIGS_RESOURCES_MAX = 1000;

export interface ConfigResourceName {
  resourceType: number;
  resourceName: string;
}

export interface AlterConfigsOptions<Resource extends ConfigResourceName> {
  incremental: boolean;
  validateOnly: boolean;
  /** Turns a resource's configs into changes (null = back to the default); throws TopicError for a bad entry. */
  changesOf: (resource: Resource) => Map<string, string | null>;
}

function answer(
  resource: ConfigResourceName,
  errorCode: number,
  errorMessage: string | null,
): AlterConfigsResourceResponse {
  return { errorCode, errorMessage, resourceType: resource.resourceType, resourceName: resource.resourceName };
}

function resourceTypeProblem(resourceType: number): string | null {
  switch (resourceType) {
    case ConfigResourceType.TOPIC:
      return null;
    case ConfigResourceType.BROKER:
      return "broker configs are set by flags at start; restart the broker with the new value";
    case ConfigResourceType.BROKER_LOGGER:
      return "broker loggers cannot be changed at run time; Sluice sets its log level at start";
    default:
      return `resource type ${resourceType} is not supported; use 2 (topic)`;
  }
}

/** Applies (or, with validateOnly, checks) each resource's changes, answering one entry per resource in order. */
export function alterConfigResources<Resource extends ConfigResourceName>(
  broker: Broker,
  resources: readonly Resource[],
  options: AlterConfigsOptions<Resource>,
): AlterConfigsResourceResponse[] {
  const key = (resource: ConfigResourceName) => `${resource.resourceType}:${resource.resourceName}`;
  const mentions = new Map<string, number>();
  for (const resource of resources) mentions.set(key(resource), (mentions.get(key(resource)) ?? 0) + 1);
  return resources.map((resource, position) => {
    if (position >= ALTER_CONFIGS_RESOURCES_MAX) {
      return answer(
        resource,
        ErrorCode.INVALID_REQUEST,
        `at most ${ALTER_CONFIGS_RESOURCES_MAX} resources per request; change the rest in another`,
      );
    }
    const typeProblem = resourceTypeProblem(resource.resourceType);
    if (typeProblem !== null) return answer(resource, ErrorCode.INVALID_REQUEST, typeProblem);
    if (mentions.get(key(resource))! > 1) {
      return answer(resource, ErrorCode.INVALID_REQUEST, `topic ${resource.resourceName} appears more than once`);
    }
    try {
      const changes = options.changesOf(resource);
      broker.topics.alterConfigs(resource.resourceName, changes, options.incremental, options.validateOnly);
      return answer(resource, ErrorCode.NONE, null);
    } catch (error) {
      if (!(error instanceof TopicError)) throw error;
      return answer(resource, error.errorCode, error.message);
    }
  });
}

export function configNamedTwice(name: string): TopicError {
  return new TopicError(ErrorCode.INVALID_REQUEST, `config ${name} is given more than once`);
}

export default defineHandler<AlterConfigsRequest, AlterConfigsResponse>({
  apiKey: 33,
  name: "AlterConfigs",
  versions: [0, 2],
  requestSchema: AlterConfigsRequestSchema,
  responseSchema: AlterConfigsResponseSchema,
  handle(ctx, request) {
    const responses = alterConfigResources(ctx.broker, request.resources, {
      incremental: false,
      validateOnly: request.validateOnly,
      changesOf(resource) {
        const changes = new Map<string, string | null>();
        for (const { name, value } of resource.configs) {
          if (changes.has(name)) throw configNamedTwice(name);
          changes.set(name, value);
        }
        return changes;
      },
    });
    return { throttleTimeMs: 0, responses };
  },
  errorResponse(request, errorCode) {
    return { throttleTimeMs: 0, responses: request.resources.map((resource) => answer(resource, errorCode, null)) };
  },
});
