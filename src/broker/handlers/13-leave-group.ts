// LeaveGroup (key 13), versions 0–5. v0–2 name one member; v3+ a batch of members, each by member id and/or
// group instance id (a static member may leave by instance id alone), each answered on its own. A member leaving
// starts a rebalance for the others. v5 adds a reason per member (logged).
// Leaves out: nothing.

import { ErrorCode } from "../../kafka/protocol/error-codes.js";
import {
  LeaveGroupRequestSchema,
  LeaveGroupResponseSchema,
  type LeaveGroupRequest,
  type LeaveGroupResponse,
} from "../../kafka/protocol/messages/index.js";
import type { LeavingMember } from "../group/types.js";
import { defineHandler } from "./handler.js";

/** The first version with the batched `members` array. */
const BATCHED_VERSION = 3;

function leavingMembers(request: LeaveGroupRequest, apiVersion: number): LeavingMember[] {
  if (apiVersion < BATCHED_VERSION) return [{ memberId: request.memberId, groupInstanceId: null }];
  return request.members.map((member) => ({
    memberId: member.memberId,
    groupInstanceId: member.groupInstanceId,
    reason: member.reason,
  }));
}

export default defineHandler<LeaveGroupRequest, LeaveGroupResponse>({
  apiKey: 13,
  name: "LeaveGroup",
  versions: [0, 5],
  requestSchema: LeaveGroupRequestSchema,
  responseSchema: LeaveGroupResponseSchema,
  handle(ctx, request) {
    const result = ctx.broker.groups.leaveGroup(request.groupId, leavingMembers(request, ctx.apiVersion));
    if (ctx.apiVersion < BATCHED_VERSION) {
      const memberError = result.members[0]?.errorCode ?? ErrorCode.NONE;
      return { throttleTimeMs: 0, errorCode: result.errorCode !== ErrorCode.NONE ? result.errorCode : memberError };
    }
    return { throttleTimeMs: 0, errorCode: result.errorCode, members: result.members };
  },
  errorResponse(request, errorCode) {
    return {
      throttleTimeMs: 0,
      errorCode,
      members: request.members.map((member) => ({
        memberId: member.memberId,
        groupInstanceId: member.groupInstanceId,
        errorCode,
      })),
    };
  },
});
