// Consumer groups seen from outside: list, describe (members with their subscriptions and assignments), delete, and
// read, set or delete a group's committed offsets (the admin path: commits outside any generation, as Kafka's tools
// make them to reset a group). Each group's requests go to its coordinator, found with FindCoordinator and looked up
// again when the coordinator moves.

import {
  decodeConsumerAssignment,
  decodeConsumerSubscription,
  CONSUMER_PROTOCOL_TYPE,
} from "../../protocol/consumer-protocol.js";
import { ErrorCode } from "../../protocol/error-codes.js";
import type { DescribedGroupMember } from "../../protocol/messages/describe-groups-response.js";
import { Api } from "../apis/definitions.js";
import { isStaleCoordinatorError, type KafkaCluster } from "../cluster/cluster.js";
import { sendRouted, type ItemOutcome } from "../cluster/routing.js";
import { brokerErrorOrNull, checkErrorCode, KafkaBrokerError, KafkaConfigError } from "../errors.js";
import type { BrokerConnection } from "../network/connection.js";
import { byTopic, type TopicPartition } from "./offsets.js";

export interface ListedGroup {
  readonly groupId: string;
  readonly protocolType: string;
  /** The group's state when the broker reports it (ListGroups v4+), else null. */
  readonly state: string | null;
  readonly type: string | null;
}

export interface GroupMemberDescription {
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly clientId: string;
  readonly clientHost: string;
  /** For "consumer" groups: the topics the member subscribes to; null when unreadable. */
  readonly subscribedTopics: readonly string[] | null;
  /** For "consumer" groups: the partitions the member was assigned; null when unreadable. */
  readonly assignment: readonly TopicPartition[] | null;
  readonly metadata: Buffer;
  readonly rawAssignment: Buffer;
}

export interface GroupDescription {
  readonly groupId: string;
  readonly error: KafkaBrokerError | null;
  /** Empty, Stable, PreparingRebalance, CompletingRebalance, Dead. */
  readonly state: string;
  readonly protocolType: string;
  /** The assignor chosen (for consumer groups). */
  readonly protocol: string;
  readonly members: readonly GroupMemberDescription[];
}

export interface GroupResult {
  readonly groupId: string;
  readonly error: KafkaBrokerError | null;
}

export interface CommittedOffset extends TopicPartition {
  /** The next offset the group will read; -1 when it has committed none. */
  readonly offset: number;
  readonly leaderEpoch: number;
  readonly metadata: string | null;
}

export interface OffsetToCommit extends TopicPartition {
  readonly offset: number;
  readonly metadata?: string | null;
  readonly leaderEpoch?: number;
}

/** Topics (all partitions, or some) of a group's offsets to read or delete. */
export interface TopicPartitionsFilter {
  readonly topic: string;
  /** All partitions when absent (reading) — deleting needs them listed. */
  readonly partitions?: readonly number[];
}

export const GROUPS_COUNT_MAX = 10_000;

/** OffsetFetch's answer for one topic, in the shape shared by the single-group (< v8) and batched (v8+) versions. */
interface AnsweredTopic {
  name?: string;
  partitions?: Array<{
    partitionIndex?: number;
    committedOffset?: number;
    committedLeaderEpoch?: number;
    metadata?: string | null;
    errorCode?: number;
  }>;
}

function checkGroupIds(field: string, groupIds: readonly string[]): void {
  if (groupIds.length > GROUPS_COUNT_MAX)
    throw new KafkaConfigError(field, `at most ${GROUPS_COUNT_MAX} groups per call`);
  groupIds.forEach((groupId, index) => {
    if (typeof groupId !== "string" || groupId === "")
      throw new KafkaConfigError(`${field}[${index}]`, "must be a group id");
  });
}

function toCoordinators<R>(
  cluster: KafkaCluster,
  groupIds: readonly string[],
  send: (connection: BrokerConnection, groupIds: string[]) => Promise<Map<string, ItemOutcome<R>>>,
): Promise<Map<string, ItemOutcome<R>>> {
  return sendRouted(cluster, {
    items: groupIds,
    keyOf: (groupId) => groupId,
    route: (groupId) => cluster.groupCoordinator(groupId, "admin"),
    send,
    forget: (groupId, error) => {
      if (isStaleCoordinatorError(error)) cluster.forgetCoordinator(groupId);
    },
  });
}

/** A group-level answer: retriable errors are retried, others are the group's result. */
function groupOutcome<R>(
  groupId: string,
  errorCode: number,
  doing: string,
  result: (error: KafkaBrokerError | null) => R,
): ItemOutcome<R> {
  const error = brokerErrorOrNull(errorCode, `${doing} group "${groupId}"`);
  return error !== null && error.retriable ? { error } : { result: result(error) };
}

function settled<R>(
  groupIds: readonly string[],
  outcomes: Map<string, ItemOutcome<R>>,
  failed: (groupId: string, error: KafkaBrokerError) => R,
): R[] {
  return groupIds.map((groupId) => {
    const outcome = outcomes.get(groupId)!;
    if ("result" in outcome) return outcome.result;
    if (outcome.error instanceof KafkaBrokerError) return failed(groupId, outcome.error);
    throw outcome.error;
  });
}

/** Every group on every broker, optionally only those in the given states (ListGroups v4+). */
export async function listGroups(
  cluster: KafkaCluster,
  options: { states?: readonly string[]; types?: readonly string[] } = {},
): Promise<ListedGroup[]> {
  await cluster.refreshMetadata([]);
  const nodeIds = [...cluster.metadata.brokers.keys()];
  const lists = await Promise.all(
    nodeIds.map((nodeId) =>
      cluster.retry(async () => {
        const connection = await cluster.nodeConnection(nodeId, "admin");
        const response = await connection.request(Api.ListGroups, {
          statesFilter: [...(options.states ?? [])],
          typesFilter: [...(options.types ?? [])],
        });
        checkErrorCode(response.errorCode, `listing the groups of broker ${nodeId}`);
        return response.groups;
      }),
    ),
  );
  const groups = new Map<string, ListedGroup>();
  for (const group of lists.flat()) {
    groups.set(group.groupId, {
      groupId: group.groupId,
      protocolType: group.protocolType,
      state: group.groupState || null,
      type: group.groupType || null,
    });
  }
  const states = options.states === undefined ? null : new Set(options.states.map((state) => state.toLowerCase()));
  return [...groups.values()]
    .filter((group) => states === null || group.state === null || states.has(group.state.toLowerCase()))
    .sort((left, right) => (left.groupId < right.groupId ? -1 : left.groupId > right.groupId ? 1 : 0));
}

function describeMember(protocolType: string, member: DescribedGroupMember): GroupMemberDescription {
  const consumer = protocolType === CONSUMER_PROTOCOL_TYPE;
  const subscription = consumer ? decodeConsumerSubscription(member.memberMetadata) : null;
  const assignment = consumer ? decodeConsumerAssignment(member.memberAssignment) : null;
  return {
    memberId: member.memberId,
    groupInstanceId: member.groupInstanceId ?? null,
    clientId: member.clientId,
    clientHost: member.clientHost,
    subscribedTopics: subscription?.topics ?? null,
    assignment:
      assignment?.assignedPartitions.flatMap((entry) =>
        entry.partitions.map((partition) => ({ topic: entry.topic, partition })),
      ) ?? null,
    metadata: member.memberMetadata,
    rawAssignment: member.memberAssignment,
  };
}

export async function describeGroups(cluster: KafkaCluster, groupIds: readonly string[]): Promise<GroupDescription[]> {
  checkGroupIds("groupIds", groupIds);
  const outcomes = await toCoordinators(cluster, groupIds, async (connection, ids) => {
    const response = await connection.request(Api.DescribeGroups, { groups: ids, includeAuthorizedOperations: false });
    const answers = new Map<string, ItemOutcome<GroupDescription>>();
    for (const group of response.groups) {
      answers.set(
        group.groupId,
        groupOutcome(group.groupId, group.errorCode, "describing", (error) => ({
          groupId: group.groupId,
          error,
          state: group.groupState,
          protocolType: group.protocolType,
          protocol: group.protocolData,
          members: group.members.map((member) => describeMember(group.protocolType, member)),
        })),
      );
    }
    return answers;
  });
  return settled(groupIds, outcomes, (groupId, error) => ({
    groupId,
    error,
    state: "Unknown",
    protocolType: "",
    protocol: "",
    members: [],
  }));
}

/** Deletes groups without members, with their committed offsets; a group with members fails NON_EMPTY_GROUP. */
export async function deleteGroups(cluster: KafkaCluster, groupIds: readonly string[]): Promise<GroupResult[]> {
  checkGroupIds("groupIds", groupIds);
  const outcomes = await toCoordinators(cluster, groupIds, async (connection, ids) => {
    const response = await connection.request(Api.DeleteGroups, { groupsNames: ids });
    const answers = new Map<string, ItemOutcome<GroupResult>>();
    for (const result of response.results) {
      answers.set(
        result.groupId,
        groupOutcome(result.groupId, result.errorCode, "deleting", (error) => ({ groupId: result.groupId, error })),
      );
    }
    return answers;
  });
  for (const groupId of groupIds) cluster.forgetCoordinator(groupId);
  return settled(groupIds, outcomes, (groupId, error) => ({ groupId, error }));
}

/** Runs one request against a group's coordinator, again when the coordinator moved or is loading. */
async function onCoordinator<T>(
  cluster: KafkaCluster,
  groupId: string,
  send: (connection: BrokerConnection) => Promise<T>,
): Promise<T> {
  checkGroupIds("groupId", [groupId]);
  return cluster.retry(async () => send(await cluster.groupCoordinator(groupId, "admin")), {
    beforeRetry: cluster.forgetCoordinatorOn(groupId),
  });
}

/** The group's committed offsets: for the given topics (all partitions, or some), or for every topic (null). */
export async function fetchGroupOffsets(
  cluster: KafkaCluster,
  groupId: string,
  topics: readonly TopicPartitionsFilter[] | null = null,
): Promise<CommittedOffset[]> {
  return onCoordinator(cluster, groupId, async (connection) => {
    const version = connection.versionOf(Api.OffsetFetch);
    const requested =
      topics === null
        ? null
        : await Promise.all(
            topics.map(async (filter) => ({
              name: filter.topic,
              partitionIndexes:
                filter.partitions === undefined
                  ? (await cluster.topic(filter.topic)).partitions.map((partition) => partition.partition)
                  : [...filter.partitions],
            })),
          );
    if (requested === null && version < 2) {
      throw new KafkaConfigError("topics", `${connection.address} needs the topics listed (OffsetFetch v${version})`);
    }
    const response = await connection.request(Api.OffsetFetch, {
      groupId,
      topics: requested,
      groups: [{ groupId, memberId: null, memberEpoch: -1, topics: requested }],
      requireStable: true,
    });
    const context = `reading the offsets of group "${groupId}"`;
    let answered: AnsweredTopic[];
    if (version >= 8) {
      const group = response.groups?.find((entry) => entry.groupId === groupId);
      if (group === undefined)
        throw new KafkaBrokerError(ErrorCode.UNKNOWN_SERVER_ERROR, context, "the answer leaves the group out");
      checkErrorCode(group.errorCode ?? 0, context);
      answered = group.topics ?? [];
    } else {
      checkErrorCode(response.errorCode ?? 0, context);
      answered = response.topics;
    }
    const offsets: CommittedOffset[] = [];
    for (const topic of answered) {
      for (const partition of topic.partitions ?? []) {
        const index = partition.partitionIndex ?? -1;
        checkErrorCode(partition.errorCode ?? 0, `${context} on ${topic.name ?? "?"}-${index}`);
        offsets.push({
          topic: topic.name ?? "",
          partition: index,
          offset: partition.committedOffset ?? -1,
          leaderEpoch: partition.committedLeaderEpoch ?? -1,
          metadata: partition.metadata ?? null,
        });
      }
    }
    return offsets.sort((left, right) =>
      left.topic === right.topic ? left.partition - right.partition : left.topic < right.topic ? -1 : 1,
    );
  });
}

/** Refuses an offset to commit that is not an offset of at least 0, naming its place in the list. */
export function checkOffsetsToCommit(offsets: readonly OffsetToCommit[]): void {
  offsets.forEach((entry, index) => {
    if (!Number.isSafeInteger(entry.offset) || entry.offset < 0) {
      throw new KafkaConfigError(`offsets[${index}].offset`, "must be an offset of at least 0");
    }
  });
}

/** The topics of an OffsetCommit request: the offsets grouped by topic, each with its epoch and metadata. */
export function offsetCommitTopics(offsets: readonly OffsetToCommit[]) {
  return [...byTopic(offsets)].map(([name, partitions]) => ({
    name,
    partitions: partitions.map((entry) => ({
      partitionIndex: entry.partition,
      committedOffset: entry.offset,
      committedLeaderEpoch: entry.leaderEpoch ?? -1,
      commitTimestamp: -1,
      committedMetadata: entry.metadata ?? null,
    })),
  }));
}

/**
 * Sets a group's committed offsets from outside the group (generation -1), as reset tools do. The broker refuses
 * while the group has members; throws the first partition's error.
 */
export async function commitGroupOffsets(
  cluster: KafkaCluster,
  groupId: string,
  offsets: readonly OffsetToCommit[],
): Promise<void> {
  checkOffsetsToCommit(offsets);
  return onCoordinator(cluster, groupId, async (connection) => {
    const response = await connection.request(Api.OffsetCommit, {
      groupId,
      generationIdOrMemberEpoch: -1,
      memberId: "",
      groupInstanceId: null,
      retentionTimeMs: -1,
      topics: offsetCommitTopics(offsets),
    });
    for (const topic of response.topics) {
      for (const partition of topic.partitions) {
        checkErrorCode(
          partition.errorCode,
          `committing group "${groupId}" offsets on ${topic.name}-${partition.partitionIndex}`,
        );
      }
    }
  });
}

/** Deletes a group's committed offsets of some partitions; refused for topics a live group consumes. */
export async function deleteGroupOffsets(
  cluster: KafkaCluster,
  groupId: string,
  partitions: readonly TopicPartition[],
): Promise<void> {
  return onCoordinator(cluster, groupId, async (connection) => {
    const response = await connection.request(Api.OffsetDelete, {
      groupId,
      topics: [...byTopic(partitions)].map(([name, items]) => ({
        name,
        partitions: items.map((item) => ({ partitionIndex: item.partition })),
      })),
    });
    const context = `deleting the offsets of group "${groupId}"`;
    checkErrorCode(response.errorCode, context);
    for (const topic of response.topics) {
      for (const partition of topic.partitions) {
        checkErrorCode(partition.errorCode, `${context} on ${topic.name}-${partition.partitionIndex}`);
      }
    }
  });
}
