// DescribeUserScramCredentials (key 50), version 0. Lists the SCRAM users (all of them for a null or empty list)
// with each mechanism's iteration count, never a salt or key. A named user without credentials is
// RESOURCE_NOT_FOUND, a user named twice DUPLICATE_RESOURCE, as in Kafka.

import {
  DescribeUserScramCredentialsRequestSchema,
  DescribeUserScramCredentialsResponseSchema,
  type DescribeUserScramCredentialsRequest,
  type DescribeUserScramCredentialsResponse,
} from "../../kafka/protocol/messages/index.js";
import { defineHandler } from "./handler.js";

export default defineHandler<DescribeUserScramCredentialsRequest, DescribeUserScramCredentialsResponse>({
  apiKey: 50,
  name: "DescribeUserScramCredentials",
  versions: [0, 0],
  requestSchema: DescribeUserScramCredentialsRequestSchema,
  responseSchema: DescribeUserScramCredentialsResponseSchema,
  handle(ctx, request) {
    const { errorCode, results } = ctx.broker.scram.describe(request.users?.map((user) => user.name) ?? null);
    return { throttleTimeMs: 0, errorCode, errorMessage: null, results };
  },
  errorResponse(_request, errorCode) {
    return { throttleTimeMs: 0, errorCode, errorMessage: null, results: [] };
  },
});
