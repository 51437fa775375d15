// JoinGroup (key 11), versions 0–9. The first JoinGroup of a v4+ member without a member id is answered with
// MEMBER_ID_REQUIRED and an id to join with; static members (v5+ groupInstanceId) get theirs at once. The answer
// waits for the join phase to complete: all members have rejoined, or the rebalance timeout (v1+; the session
// timeout for v0) has passed. The leader's answer lists every member with its metadata for the chosen protocol.
// v7+ carries the protocol type, v8+ a reason (logged). v9's skipAssignment is always false: a static leader that
// rejoins without changes is answered as a follower (with the previous leader id), as brokers before KIP-814 did.
// Leaves out: nothing else.

import {
  JoinGroupRequestSchema,
  JoinGroupResponseSchema,
  type JoinGroupRequest,
  type JoinGroupResponse,
} from "../../kafka/protocol/messages/index.js";
import type { JoinGroupResult } from "../group/types.js";
import { defineHandler } from "./handler.js";

/** v7 made the protocol name nullable; earlier versions answer an empty string where there is none. */
const NULLABLE_PROTOCOL_NAME_VERSION = 7;

function toResponse(result: JoinGroupResult, apiVersion: number): JoinGroupResponse {
  const protocolName = result.protocolName ?? (apiVersion >= NULLABLE_PROTOCOL_NAME_VERSION ? null : "");
  return {
    throttleTimeMs: 0,
    errorCode: result.errorCode,
    generationId: result.generationId,
    protocolType: result.protocolType,
    protocolName,
    leader: result.leaderId,
    skipAssignment: false,
    memberId: result.memberId,
    members: result.members.map((member) => ({
      memberId: member.memberId,
      groupInstanceId: member.groupInstanceId,
      metadata: member.metadata,
    })),
  };
}

export default defineHandler<JoinGroupRequest, JoinGroupResponse>({
  apiKey: 11,
  name: "JoinGroup",
  versions: [0, 9],
  requestSchema: JoinGroupRequestSchema,
  responseSchema: JoinGroupResponseSchema,
  async handle(ctx, request) {
    const result = await ctx.broker.groups.joinGroup({
      groupId: request.groupId,
      memberId: request.memberId,
      groupInstanceId: request.groupInstanceId,
      clientId: ctx.connection.clientId ?? "",
      clientHost: `/${ctx.connection.remoteAddress}`,
      sessionTimeoutMs: request.sessionTimeoutMs,
      rebalanceTimeoutMs: ctx.apiVersion >= 1 ? request.rebalanceTimeoutMs : request.sessionTimeoutMs,
      protocolType: request.protocolType,
      protocols: request.protocols,
      requireKnownMemberId: ctx.apiVersion >= 4,
      reason: request.reason,
    });
    return toResponse(result, ctx.apiVersion);
  },
  errorResponse(request, errorCode) {
    return {
      throttleTimeMs: 0,
      errorCode,
      generationId: -1,
      protocolType: null,
      protocolName: "",
      leader: "",
      skipAssignment: false,
      memberId: request.memberId,
      members: [],
    };
  },
});
