// AlterUserScramCredentials (key 51), version 0. Creates, changes and deletes SCRAM credentials: an upsertion
// carries the salt, the iteration count (4096 to 16384) and the salted password the client derived; the broker
// keeps only the keys RFC 5802 needs, persists the change and uses it from the next login, without a restart. Each
// user is answered once; a user with any bad change is changed in no way.

import {
  AlterUserScramCredentialsRequestSchema,
  AlterUserScramCredentialsResponseSchema,
  type AlterUserScramCredentialsRequest,
  type AlterUserScramCredentialsResponse,
} from "../../kafka/protocol/messages/index.js";
import { defineHandler } from "./handler.js";

export default defineHandler<AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse>({
  apiKey: 51,
  name: "AlterUserScramCredentials",
  versions: [0, 0],
  requestSchema: AlterUserScramCredentialsRequestSchema,
  responseSchema: AlterUserScramCredentialsResponseSchema,
  handle(ctx, request) {
    const results = ctx.broker.scram.alter(request.deletions, request.upsertions);
    return { throttleTimeMs: 0, results };
  },
  errorResponse(request, errorCode) {
    const users = new Set([...request.deletions, ...request.upsertions].map((change) => change.name));
    return {
      throttleTimeMs: 0,
      results: [...users].map((user) => ({ user, errorCode, errorMessage: null })),
    };
  },
});
