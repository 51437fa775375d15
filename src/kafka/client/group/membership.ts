// The requests of a consumer group's membership, one function each, sent to the group's coordinator: JoinGroup (held
// by the broker until every member has rejoined), SyncGroup (the leader hands in every member's assignment and each
// member gets its own), Heartbeat and LeaveGroup. Each returns the answer or throws a KafkaBrokerError; what to do
// about an error (rejoin, look for the coordinator again, give up) is the member's decision, in member.ts.

import {
  CONSUMER_PROTOCOL_TYPE,
  decodeConsumerAssignment,
  decodeConsumerSubscription,
  encodeConsumerAssignment,
  encodeConsumerSubscription,
} from "../../protocol/consumer-protocol.js";
import { ErrorCode } from "../../protocol/error-codes.js";
import type { TopicPartition } from "../admin/offsets.js";
import { byTopic } from "../admin/offsets.js";
import { Api } from "../apis/definitions.js";
import { checkErrorCode, KafkaBrokerError } from "../errors.js";
import type { BrokerConnection } from "../network/connection.js";
import type { MemberSubscription } from "./assignors.js";

export interface JoinRequest {
  readonly groupId: string;
  /** "" for a member joining for the first time. */
  readonly memberId: string;
  readonly sessionTimeoutMs: number;
  readonly rebalanceTimeoutMs: number;
  readonly topics: readonly string[];
  /** Protocol names, in order of preference. */
  readonly protocols: readonly string[];
  readonly reason: string | null;
  /** How long to wait for the answer beyond the rebalance timeout. */
  readonly requestTimeoutMs: number;
}

export interface JoinAnswer {
  readonly memberId: string;
  readonly generationId: number;
  readonly protocolName: string;
  readonly leaderId: string;
  /** Every member with its subscription: for the leader only, empty for the others. */
  readonly members: readonly MemberSubscription[];
}

/**
 * Thrown for MEMBER_ID_REQUIRED: the coordinator gave the member an id to join with (JoinGroup v4+), and the member
 * joins again right away with it.
 */
export class MemberIdRequiredError extends KafkaBrokerError {
  constructor(
    readonly memberId: string,
    groupId: string,
  ) {
    super(ErrorCode.MEMBER_ID_REQUIRED, `joining group "${groupId}"`);
  }
}

export async function joinGroup(connection: BrokerConnection, request: JoinRequest): Promise<JoinAnswer> {
  const metadata = encodeConsumerSubscription({
    topics: [...request.topics],
    userData: null,
    ownedPartitions: [],
    generationId: -1,
    rackId: null,
  });
  const response = await connection.request(
    Api.JoinGroup,
    {
      groupId: request.groupId,
      sessionTimeoutMs: request.sessionTimeoutMs,
      rebalanceTimeoutMs: request.rebalanceTimeoutMs,
      memberId: request.memberId,
      groupInstanceId: null,
      protocolType: CONSUMER_PROTOCOL_TYPE,
      protocols: request.protocols.map((name) => ({ name, metadata })),
      reason: request.reason,
    },
    { timeoutMs: request.rebalanceTimeoutMs + request.requestTimeoutMs },
  );
  if (response.errorCode === ErrorCode.MEMBER_ID_REQUIRED) {
    throw new MemberIdRequiredError(response.memberId, request.groupId);
  }
  checkErrorCode(response.errorCode, `joining group "${request.groupId}"`);
  const members = response.members.map((member) => ({
    memberId: member.memberId,
    topics: decodeConsumerSubscription(member.metadata)?.topics ?? [],
  }));
  return {
    memberId: response.memberId,
    generationId: response.generationId ?? -1,
    protocolName: response.protocolName ?? "",
    leaderId: response.leader,
    members,
  };
}

export interface SyncRequest {
  readonly groupId: string;
  readonly memberId: string;
  readonly generationId: number;
  readonly protocolName: string;
  /** The leader's assignment of every member; empty for the other members. */
  readonly assignments: ReadonlyMap<string, readonly TopicPartition[]>;
  readonly requestTimeoutMs: number;
  readonly rebalanceTimeoutMs: number;
}

/** Hands in the leader's assignments (if any) and returns this member's partitions. */
export async function syncGroup(connection: BrokerConnection, request: SyncRequest): Promise<TopicPartition[]> {
  const response = await connection.request(
    Api.SyncGroup,
    {
      groupId: request.groupId,
      generationId: request.generationId,
      memberId: request.memberId,
      groupInstanceId: null,
      protocolType: CONSUMER_PROTOCOL_TYPE,
      protocolName: request.protocolName,
      assignments: [...request.assignments].map(([memberId, partitions]) => ({
        memberId,
        assignment: encodeConsumerAssignment({
          assignedPartitions: [...byTopic(partitions)].map(([topic, entries]) => ({
            topic,
            partitions: entries.map((entry) => entry.partition),
          })),
          userData: null,
        }),
      })),
    },
    { timeoutMs: request.rebalanceTimeoutMs + request.requestTimeoutMs },
  );
  checkErrorCode(response.errorCode, `syncing group "${request.groupId}"`);
  const assignment = decodeConsumerAssignment(response.assignment);
  if (assignment === null) {
    throw new KafkaBrokerError(
      ErrorCode.INCONSISTENT_GROUP_PROTOCOL,
      `syncing group "${request.groupId}"`,
      "the leader's assignment for this member cannot be read",
    );
  }
  return assignment.assignedPartitions.flatMap((entry) =>
    entry.partitions.map((partition) => ({ topic: entry.topic, partition })),
  );
}

export interface MemberIdentity {
  readonly groupId: string;
  readonly memberId: string;
  readonly generationId: number;
}

export async function heartbeat(connection: BrokerConnection, member: MemberIdentity): Promise<void> {
  const response = await connection.request(Api.Heartbeat, {
    groupId: member.groupId,
    generationId: member.generationId,
    memberId: member.memberId,
    groupInstanceId: null,
  });
  checkErrorCode(response.errorCode, `heartbeat in group "${member.groupId}"`);
}

/** Leaves the group at once, so its partitions go to the others without waiting for the session timeout. */
export async function leaveGroup(
  connection: BrokerConnection,
  member: { readonly groupId: string; readonly memberId: string; readonly reason: string | null },
): Promise<void> {
  const response = await connection.request(Api.LeaveGroup, {
    groupId: member.groupId,
    memberId: member.memberId,
    members: [{ memberId: member.memberId, groupInstanceId: null, reason: member.reason }],
  });
  const context = `leaving group "${member.groupId}"`;
  checkErrorCode(response.errorCode, context);
  for (const answer of response.members ?? []) checkErrorCode(answer.errorCode ?? 0, context);
}
