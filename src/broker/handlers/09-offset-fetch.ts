// OffsetFetch (key 9), versions 0–8. Answers each requested partition's committed offset, leader epoch (v5+) and
// metadata, or offset -1 when nothing is committed; a null topic list (v2+) means every partition the group has
// committed. v8 asks for several groups at once (the `groups` array). Group-level errors go in the top-level error
// code from v2, and on every partition for v0–1, which have no top-level code.
// With require_stable (v7+), a partition whose offset an open transaction is about to commit (TxnOffsetCommit before
// EndTxn) is answered UNSTABLE_OFFSET_COMMIT, which clients retry, as Kafka does; without it, the last committed
// offset. Leaves out: v9 (KIP-848).

import { ErrorCode } from "../../kafka/protocol/error-codes.js";
import {
  OffsetFetchRequestSchema,
  OffsetFetchResponseSchema,
  type OffsetFetchRequest,
  type OffsetFetchResponse,
} from "../../kafka/protocol/messages/index.js";
import type { OffsetFetchResponseTopic } from "../../kafka/protocol/messages/offset-fetch-response.js";
import type { Broker } from "../broker.js";
import type { FetchOffsetsResult, TopicPartitions } from "../group/types.js";
import { authorized } from "../acl/authorize.js";
import { AclOperation, AclResourceType } from "../acl/acls.js";
import { defineHandler } from "./handler.js";

type RequestedTopics = Array<{ name: string; partitionIndexes: number[] }> | null;

function toTopicPartitions(topics: RequestedTopics): TopicPartitions[] | null {
  return topics === null ? null : topics.map((topic) => ({ topic: topic.name, partitions: topic.partitionIndexes }));
}

function toResponseTopics(result: FetchOffsetsResult): OffsetFetchResponseTopic[] {
  return result.topics.map(({ topic, partitions }) => ({
    name: topic,
    partitions: partitions.map((partition) => ({
      partitionIndex: partition.partition,
      committedOffset: partition.offset,
      committedLeaderEpoch: partition.leaderEpoch,
      metadata: partition.metadata ?? "",
      errorCode: partition.errorCode,
    })),
  }));
}

/** Every requested partition with the same error: how v0–1 report a group-level failure. */
function failedTopics(topics: RequestedTopics, errorCode: number): OffsetFetchResponseTopic[] {
  return (topics ?? []).map((topic) => ({
    name: topic.name,
    partitions: topic.partitionIndexes.map((partitionIndex) => ({
      partitionIndex,
      committedOffset: -1,
      committedLeaderEpoch: -1,
      metadata: "",
      errorCode,
    })),
  }));
}

function fetchGroup(broker: Broker, groupId: string, topics: RequestedTopics, requireStable: boolean) {
  const result = broker.groups.fetchOffsets(groupId, toTopicPartitions(topics));
  if (!requireStable || result.errorCode !== ErrorCode.NONE) return result;
  const unstable = broker.txns.unstableOffsets(groupId);
  if (unstable.size === 0) return result;
  return {
    ...result,
    topics: result.topics.map(({ topic, partitions }) => ({
      topic,
      partitions: partitions.map((partition) =>
        unstable.has(`${topic}:${partition.partition}`)
          ? { ...partition, offset: -1, leaderEpoch: -1, metadata: "", errorCode: ErrorCode.UNSTABLE_OFFSET_COMMIT }
          : partition,
      ),
    })),
  };
}

export default defineHandler<OffsetFetchRequest, OffsetFetchResponse>({
  apiKey: 9,
  name: "OffsetFetch",
  versions: [0, 8],
  requestSchema: OffsetFetchRequestSchema,
  responseSchema: OffsetFetchResponseSchema,
  handle(ctx, request) {
    const { broker } = ctx;
    const refusal = (groupId: string): FetchOffsetsResult | null =>
      authorized(ctx, AclOperation.DESCRIBE, AclResourceType.GROUP, groupId)
        ? null
        : { errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, topics: [] };
    const fetchOne = (groupId: string, topics: RequestedTopics): FetchOffsetsResult =>
      refusal(groupId) ?? fetchGroup(broker, groupId, topics, request.requireStable);
    if (ctx.apiVersion >= 8) {
      return {
        throttleTimeMs: 0,
        topics: [],
        groups: request.groups.map((group) => {
          const result = fetchOne(group.groupId, group.topics);
          return { groupId: group.groupId, errorCode: result.errorCode, topics: toResponseTopics(result) };
        }),
      };
    }
    const result = fetchOne(request.groupId, request.topics);
    if (result.errorCode !== ErrorCode.NONE && ctx.apiVersion < 2) {
      return { throttleTimeMs: 0, errorCode: result.errorCode, topics: failedTopics(request.topics, result.errorCode) };
    }
    return { throttleTimeMs: 0, errorCode: result.errorCode, topics: toResponseTopics(result) };
  },
  errorResponse(request, errorCode) {
    return {
      throttleTimeMs: 0,
      errorCode,
      topics: failedTopics(request.topics, errorCode),
      groups: request.groups.map((group) => ({
        groupId: group.groupId,
        errorCode,
        topics: (group.topics ?? []).map((topic) => ({
          name: topic.name,
          partitions: topic.partitionIndexes.map((partitionIndex) => ({
            partitionIndex,
            committedOffset: -1,
            committedLeaderEpoch: -1,
            metadata: "",
            errorCode,
          })),
        })),
      })),
    };
  },
});
