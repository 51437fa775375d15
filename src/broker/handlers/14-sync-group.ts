// SyncGroup (key 14), versions 0–5. The leader sends every member's assignment; each member's answer waits until
// the leader's SyncGroup has arrived and then carries that member's assignment. A group that is already stable
// answers at once with the member's current assignment. v3+ identify static members; v5 (KIP-559) sends the
// protocol type and name, which must match the group's (INCONSISTENT_GROUP_PROTOCOL otherwise) and are echoed back.
// Leaves out: nothing.

import {
  SyncGroupRequestSchema,
  SyncGroupResponseSchema,
  type SyncGroupRequest,
  type SyncGroupResponse,
} from "../../kafka/protocol/messages/index.js";
import { defineHandler } from "./handler.js";

export default defineHandler<SyncGroupRequest, SyncGroupResponse>({
  apiKey: 14,
  name: "SyncGroup",
  versions: [0, 5],
  requestSchema: SyncGroupRequestSchema,
  responseSchema: SyncGroupResponseSchema,
  async handle(ctx, request) {
    const result = await ctx.broker.groups.syncGroup({
      groupId: request.groupId,
      generationId: request.generationId,
      memberId: request.memberId,
      groupInstanceId: request.groupInstanceId,
      protocolType: request.protocolType,
      protocolName: request.protocolName,
      assignments: request.assignments,
    });
    return {
      throttleTimeMs: 0,
      errorCode: result.errorCode,
      protocolType: result.protocolType,
      protocolName: result.protocolName,
      assignment: result.assignment,
    };
  },
  errorResponse(_request, errorCode) {
    return { throttleTimeMs: 0, errorCode, protocolType: null, protocolName: null, assignment: Buffer.alloc(0) };
  },
});
