// ApiVersions (key 18), versions 0–3. Advertises exactly the handlers this broker has, with the versions each
// serves. A request of a version we do not serve is answered by the server with apiVersionsFallbackResponse: a v0
// body carrying UNSUPPORTED_VERSION and our ranges (KIP-511). Leaves out: supported/finalized features (none).

import { encodeMessage } from "../../kafka/protocol/codec.js";
import { ErrorCode } from "../../kafka/protocol/error-codes.js";
import {
  ApiVersionsRequestSchema,
  ApiVersionsResponseSchema,
  type ApiVersionsRequest,
  type ApiVersionsResponse,
} from "../../kafka/protocol/messages/index.js";
import { defineHandler, type ApiHandler } from "./handler.js";

function advertisedRanges(handlers: ReadonlyMap<number, ApiHandler>): ApiVersionsResponse["apiKeys"] {
  return [...handlers.values()]
    .sort((a, b) => a.apiKey - b.apiKey)
    .map((handler) => ({ apiKey: handler.apiKey, minVersion: handler.versions[0], maxVersion: handler.versions[1] }));
}

export function apiVersionsFallbackResponse(handlers: ReadonlyMap<number, ApiHandler>): Buffer {
  const body: ApiVersionsResponse = { errorCode: ErrorCode.UNSUPPORTED_VERSION, apiKeys: advertisedRanges(handlers) };
  return Buffer.from(encodeMessage(ApiVersionsResponseSchema, 0, body).finish());
}

export default defineHandler<ApiVersionsRequest, ApiVersionsResponse>({
  apiKey: 18,
  name: "ApiVersions",
  versions: [0, 3],
  requestSchema: ApiVersionsRequestSchema,
  responseSchema: ApiVersionsResponseSchema,
  handle(ctx) {
    return { errorCode: ErrorCode.NONE, apiKeys: advertisedRanges(ctx.handlers), throttleTimeMs: 0 };
  },
  errorResponse(_request, errorCode) {
    return { errorCode, apiKeys: [], throttleTimeMs: 0 };
  },
});
