// Heartbeat (key 12), versions 0–4. Keeps a member's session alive. During a rebalance the answer is
// REBALANCE_IN_PROGRESS, telling the member to rejoin; an old generation is ILLEGAL_GENERATION, an unknown member
// UNKNOWN_MEMBER_ID, and a replaced static member (v3+ groupInstanceId) FENCED_INSTANCE_ID.
// Leaves out: nothing.

import {
  HeartbeatRequestSchema,
  HeartbeatResponseSchema,
  type HeartbeatRequest,
  type HeartbeatResponse,
} from "../../kafka/protocol/messages/index.js";
import { defineHandler } from "./handler.js";

export default defineHandler<HeartbeatRequest, HeartbeatResponse>({
  apiKey: 12,
  name: "Heartbeat",
  versions: [0, 4],
  requestSchema: HeartbeatRequestSchema,
  responseSchema: HeartbeatResponseSchema,
  handle(ctx, request) {
    const errorCode = ctx.broker.groups.heartbeat({
      groupId: request.groupId,
      generationId: request.generationId,
      memberId: request.memberId,
      groupInstanceId: request.groupInstanceId,
    });
    return { throttleTimeMs: 0, errorCode };
  },
  errorResponse(_request, errorCode) {
    return { throttleTimeMs: 0, errorCode };
  },
});
