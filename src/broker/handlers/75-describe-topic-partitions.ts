// DescribeTopicPartitions (key 75), version 0. Describes topics (all of them, by name, for an empty list) with their
// ids and partitions, this broker leading each one, at most responsePartitionLimit partitions per answer: the
// answer then carries the cursor to ask from next. Topics come in name order. Topics the principal may not DESCRIBE
// are TOPIC_AUTHORIZATION_FAILED when named and left out otherwise.

import { ErrorCode } from "../../kafka/protocol/error-codes.js";
import {
  DescribeTopicPartitionsRequestSchema,
  DescribeTopicPartitionsResponseSchema,
  type DescribeTopicPartitionsRequest,
  type DescribeTopicPartitionsResponse,
} from "../../kafka/protocol/messages/index.js";
import type { DescribeTopicPartitionsResponseTopic } from "../../kafka/protocol/messages/describe-topic-partitions-response.js";
import { AclOperation, AclResourceType } from "../acl/acls.js";
import { authorized } from "../acl/authorize.js";
import { defineHandler } from "./handler.js";

/** Kafka's cap on partitions per answer, whatever the client asks for. */
export const DESCRIBE_TOPIC_PARTITIONS_LIMIT_MAX = 2000;
const ZERO_UUID = Buffer.alloc(16);
const AUTHORIZED_OPERATIONS_OMITTED = -2147483648;

function failed(name: string, errorCode: number): DescribeTopicPartitionsResponseTopic {
  return {
    errorCode,
    name,
    topicId: ZERO_UUID,
    isInternal: false,
    partitions: [],
    topicAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
  };
}

export default defineHandler<DescribeTopicPartitionsRequest, DescribeTopicPartitionsResponse>({
  apiKey: 75,
  name: "DescribeTopicPartitions",
  versions: [0, 0],
  requestSchema: DescribeTopicPartitionsRequestSchema,
  responseSchema: DescribeTopicPartitionsResponseSchema,
  handle(ctx, request) {
    const { broker } = ctx;
    const { nodeId } = broker.advertisedAddress();
    const may = (name: string) => authorized(ctx, AclOperation.DESCRIBE, AclResourceType.TOPIC, name);
    const named = request.topics.length > 0;
    const names = (
      named ? [...new Set(request.topics.map((topic) => topic.name))] : broker.topics.all().map((t) => t.name)
    )
      .filter((name) => named || may(name))
      .sort();
    const cursor = request.cursor;
    let budget = Math.min(
      request.responsePartitionLimit > 0 ? request.responsePartitionLimit : DESCRIBE_TOPIC_PARTITIONS_LIMIT_MAX,
      DESCRIBE_TOPIC_PARTITIONS_LIMIT_MAX,
    );
    const topics: DescribeTopicPartitionsResponseTopic[] = [];
    let nextCursor: DescribeTopicPartitionsResponse["nextCursor"] = null;
    for (const name of names) {
      if (cursor !== null && name < cursor.topicName) continue;
      if (!may(name)) {
        topics.push(failed(name, ErrorCode.TOPIC_AUTHORIZATION_FAILED));
        continue;
      }
      const topic = broker.topics.get(name);
      if (topic === undefined) {
        topics.push(failed(name, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION));
        continue;
      }
      if (budget === 0) {
        nextCursor = { topicName: name, partitionIndex: 0 };
        break;
      }
      const first = cursor !== null && name === cursor.topicName ? Math.max(cursor.partitionIndex, 0) : 0;
      const partitions = topic.partitions.slice(first, first + budget);
      budget -= partitions.length;
      topics.push({
        errorCode: ErrorCode.NONE,
        name,
        topicId: topic.id,
        isInternal: false,
        partitions: partitions.map((partition) => ({
          errorCode: ErrorCode.NONE,
          partitionIndex: partition.index,
          leaderId: nodeId,
          leaderEpoch: 0,
          replicaNodes: [nodeId],
          isrNodes: [nodeId],
          eligibleLeaderReplicas: [],
          lastKnownElr: [],
          offlineReplicas: [],
        })),
        topicAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
      });
      const next = first + partitions.length;
      if (next < topic.partitions.length) {
        nextCursor = { topicName: name, partitionIndex: next };
        break;
      }
    }
    return { throttleTimeMs: 0, topics, nextCursor };
  },
  errorResponse(request, errorCode) {
    return {
      throttleTimeMs: 0,
      topics: request.topics.map((topic) => failed(topic.name, errorCode)),
      nextCursor: null,
    };
  },
});
