// CreatePartitions (key 37), versions 0–3. Grows a topic to the requested partition count; validateOnly checks
// without growing. Assignments for the new partitions are optional (null or empty means automatic); when given
// there must be one per new partition and each must be this broker alone. A topic named twice in one request is
// answered with INVALID_REQUEST for every mention and not changed, as Kafka does.
// Leaves out: timeoutMs (growth is synchronous) and throttling (KIP-599).

import { ErrorCode } from "../../kafka/protocol/error-codes.js";
import {
  CreatePartitionsRequestSchema,
  CreatePartitionsResponseSchema,
  type CreatePartitionsRequest,
  type CreatePartitionsResponse,
} from "../../kafka/protocol/messages/index.js";
import type { CreatePartitionsTopic } from "../../kafka/protocol/messages/create-partitions-request.js";
import type { CreatePartitionsTopicResult } from "../../kafka/protocol/messages/create-partitions-response.js";
import type { Broker } from "../broker.js";
import { TopicError } from "../topics.js";
import { authorized } from "../acl/authorize.js";
import { AclOperation, AclResourceType } from "../acl/acls.js";
import { defineHandler } from "./handler.js";

/** Topics one CreatePartitions request may name; the rest are answered with INVALID_REQUEST. */
export const CREATE_PARTITIONS_TOPICS_MAX = 1000;
/** Partitions one request may add (or validate) in all; a topic that would go past it gets POLICY_VIOLATION. */
export const CREATE_PARTITIONS_PARTITIONS_MAX = 10_000;

function checkAssignments(broker: Broker, request: CreatePartitionsTopic, added: number): void {
  const assignments = request.assignments ?? [];
  if (assignments.length === 0) return;
  if (assignments.length !== added) {
    throw new TopicError(
      ErrorCode.INVALID_REPLICA_ASSIGNMENT,
      `${assignments.length} assignments were given for ${added} new partitions; give one per new partition or none`,
    );
  }
  const { nodeId } = broker.config;
  for (const { brokerIds } of assignments) {
    if (brokerIds.length !== 1 || brokerIds[0] !== nodeId) {
      throw new TopicError(
        ErrorCode.INVALID_REPLICA_ASSIGNMENT,
        `a new partition is assigned to brokers [${brokerIds.join(", ")}]; this cluster has one broker, ` +
          `so every partition's replicas must be [${nodeId}]`,
      );
    }
  }
}

/** Grows (or checks growing) one topic; returns how many partitions that adds, or throws TopicError. */
function grow(broker: Broker, request: CreatePartitionsTopic, validateOnly: boolean, partitionsLeft: number): number {
  const topic = broker.topics.get(request.name);
  if (topic === undefined) {
    throw new TopicError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic ${request.name} does not exist`);
  }
  const current = topic.partitions.length;
  // The registry checks the count itself; asking it first gives its message for a count that does not grow.
  broker.topics.addPartitions(request.name, request.count, true);
  const added = request.count - current;
  checkAssignments(broker, request, added);
  if (added > partitionsLeft) {
    throw new TopicError(
      ErrorCode.POLICY_VIOLATION,
      `one CreatePartitions request may add at most ${CREATE_PARTITIONS_PARTITIONS_MAX} partitions in all; ` +
        `grow topic ${request.name} in another request`,
    );
  }
  if (!validateOnly) broker.topics.addPartitions(request.name, request.count, false);
  return added;
}

function result(name: string, errorCode: number, errorMessage: string | null): CreatePartitionsTopicResult {
  return { name, errorCode, errorMessage };
}

export default defineHandler<CreatePartitionsRequest, CreatePartitionsResponse>({
  apiKey: 37,
  name: "CreatePartitions",
  versions: [0, 3],
  requestSchema: CreatePartitionsRequestSchema,
  responseSchema: CreatePartitionsResponseSchema,
  handle(ctx, request) {
    const mentions = new Map<string, number>();
    for (const topic of request.topics) mentions.set(topic.name, (mentions.get(topic.name) ?? 0) + 1);
    let partitionsLeft = CREATE_PARTITIONS_PARTITIONS_MAX;
    const results = request.topics.map((topic, position) => {
      if (position >= CREATE_PARTITIONS_TOPICS_MAX) {
        return result(
          topic.name,
          ErrorCode.INVALID_REQUEST,
          `at most ${CREATE_PARTITIONS_TOPICS_MAX} topics per CreatePartitions request; grow the rest in another`,
        );
      }
      if (mentions.get(topic.name)! > 1) {
        return result(
          topic.name,
          ErrorCode.INVALID_REQUEST,
          `topic ${topic.name} appears more than once in the request`,
        );
      }
      if (!authorized(ctx, AclOperation.ALTER, AclResourceType.TOPIC, topic.name)) {
        return result(
          topic.name,
          ErrorCode.TOPIC_AUTHORIZATION_FAILED,
          `adding partitions needs ALTER on ${topic.name}`,
        );
      }
      try {
        partitionsLeft -= grow(ctx.broker, topic, request.validateOnly, partitionsLeft);
        return result(topic.name, ErrorCode.NONE, null);
      } catch (error) {
        if (!(error instanceof TopicError)) throw error;
        return result(topic.name, error.errorCode, error.message);
      }
    });
    return { throttleTimeMs: 0, results };
  },
  errorResponse(request, errorCode) {
    return { throttleTimeMs: 0, results: request.topics.map((topic) => result(topic.name, errorCode, null)) };
  },
});
