// AlterConfigs (key 33), versions 0–2. Replaces a resource's whole set of overrides: what the request leaves out
// (or gives a null value) goes back to its default. Topics (2) take any Kafka topic config; this broker (4, named by
// its id) and the cluster-wide default ("") take the broker configs Kafka lets change at run time, and refuse the
// read-only ones with INVALID_REQUEST; broker loggers (8) are changed only by IncrementalAlterConfigs, as in Kafka.
// The checks and the changes are shared with IncrementalAlterConfigs in configs/alter.ts.
// Leaves out: throttling.

import {
  AlterConfigsRequestSchema,
  AlterConfigsResponseSchema,
  type AlterConfigsRequest,
  type AlterConfigsResponse,
} from "../../kafka/protocol/messages/index.js";
import { alterConfigResources, ConfigOperation } from "../configs/alter.js";
import { defineHandler } from "./handler.js";

export { ALTER_CONFIGS_RESOURCES_MAX } from "../configs/alter.js";

export default defineHandler<AlterConfigsRequest, AlterConfigsResponse>({
  apiKey: 33,
  name: "AlterConfigs",
  versions: [0, 2],
  requestSchema: AlterConfigsRequestSchema,
  responseSchema: AlterConfigsResponseSchema,
  handle(ctx, request) {
    const resources = request.resources.map((resource) => ({
      resourceType: resource.resourceType,
      resourceName: resource.resourceName,
      changes: resource.configs.map(({ name, value }) => ({
        name,
        operation: value === null ? ConfigOperation.DELETE : ConfigOperation.SET,
        value,
      })),
    }));
    const responses = alterConfigResources(ctx.broker, resources, false, request.validateOnly);
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
