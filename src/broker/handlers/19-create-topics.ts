// CreateTopics (key 19), versions 0–7. This single broker holds every replica, so the replication factor is 1 (or -1
// for the default), and a manual assignment is accepted only when it places every partition on this broker alone.
// numPartitions -1 takes the broker's default (KIP-464); like Kafka the broker accepts it in every version, which
// matters because kafkajs sends -1 at v0–3 when no count is given. validateOnly runs every check and creates
// nothing. v5+ answers the partition count, replication factor and effective configs; v7 the new topic id.
// A name given twice in one request is answered once, with INVALID_REQUEST, and not created.
// Leaves out: timeoutMs (creation is synchronous, so there is nothing to wait for) and throttling (KIP-599).

import { ErrorCode } from "../../kafka/protocol/error-codes.js";
import {
  CreateTopicsRequestSchema,
  CreateTopicsResponseSchema,
  type CreateTopicsRequest,
  type CreateTopicsResponse,
} from "../../kafka/protocol/messages/index.js";
import type { CreatableTopic } from "../../kafka/protocol/messages/create-topics-request.js";
import type { CreatableTopicResult } from "../../kafka/protocol/messages/create-topics-response.js";
import type { Broker } from "../broker.js";
import { effectiveTopicConfigs } from "../topic-config.js";
import { TopicError, topicNameProblem } from "../topics.js";
import { defineHandler } from "./handler.js";

/** Topics one CreateTopics request may name; the rest are answered with INVALID_REQUEST. */
export const CREATE_TOPICS_TOPICS_MAX = 1000;
/** Partitions one request may create (or validate) in all; a topic that would go past it gets POLICY_VIOLATION. */
export const CREATE_TOPICS_PARTITIONS_MAX = 10_000;

/** What a creation request resolves to once defaults are applied and the single-broker rules are checked. */
interface TopicPlan {
  partitions: number;
  configs: Map<string, string | null>;
}

function collectConfigs(topic: CreatableTopic): Map<string, string | null> {
  const configs = new Map<string, string | null>();
  for (const { name, value } of topic.configs) {
    if (configs.has(name)) throw new TopicError(ErrorCode.INVALID_REQUEST, `config ${name} is given more than once`);
    configs.set(name, value);
  }
  return configs;
}

function checkManualAssignment(broker: Broker, topic: CreatableTopic): void {
  if (topic.numPartitions !== -1 || topic.replicationFactor !== -1) {
    throw new TopicError(
      ErrorCode.INVALID_REQUEST,
      "a manual assignment was given, so numPartitions and replicationFactor must both be -1",
    );
  }
  const { nodeId } = broker.config;
  const count = topic.assignments.length;
  const seen = new Set<number>();
  for (const { partitionIndex, brokerIds } of topic.assignments) {
    if (partitionIndex < 0 || partitionIndex >= count || seen.has(partitionIndex)) {
      throw new TopicError(
        ErrorCode.INVALID_REPLICA_ASSIGNMENT,
        `the assignment must name partitions 0 to ${count - 1} once each; partition ${partitionIndex} is out of place`,
      );
    }
    seen.add(partitionIndex);
    if (brokerIds.length !== 1 || brokerIds[0] !== nodeId) {
      throw new TopicError(
        ErrorCode.INVALID_REPLICA_ASSIGNMENT,
        `partition ${partitionIndex} is assigned to brokers [${brokerIds.join(", ")}]; this cluster has one broker, ` +
          `so every partition's replicas must be [${nodeId}]`,
      );
    }
  }
}

/** Applies defaults and the single-broker rules; throws TopicError naming the first problem. */
function plan(broker: Broker, topic: CreatableTopic): TopicPlan {
  const nameProblem = topicNameProblem(topic.name);
  if (nameProblem !== null) throw new TopicError(ErrorCode.INVALID_TOPIC_EXCEPTION, nameProblem);
  if (broker.topics.get(topic.name) !== undefined) {
    throw new TopicError(ErrorCode.TOPIC_ALREADY_EXISTS, `topic ${topic.name} already exists`);
  }
  let partitions: number;
  if (topic.assignments.length > 0) {
    checkManualAssignment(broker, topic);
    partitions = topic.assignments.length;
  } else {
    if (topic.replicationFactor !== -1 && topic.replicationFactor !== 1) {
      throw new TopicError(
        ErrorCode.INVALID_REPLICATION_FACTOR,
        `replication factor ${topic.replicationFactor} is not possible: this cluster has one broker; use 1 or -1`,
      );
    }
    partitions = topic.numPartitions === -1 ? broker.config.defaultPartitions : topic.numPartitions;
  }
  const configs = collectConfigs(topic);
  broker.topics.validateCreate(topic.name, partitions, configs);
  return { partitions, configs };
}

function failure(name: string, errorCode: number, errorMessage: string): CreatableTopicResult {
  return { name, errorCode, errorMessage, numPartitions: -1, replicationFactor: -1, configs: null };
}

function createOne(
  broker: Broker,
  topic: CreatableTopic,
  validateOnly: boolean,
  partitionsLeft: number,
): { result: CreatableTopicResult; partitions: number } {
  const { partitions, configs } = plan(broker, topic);
  if (partitions > partitionsLeft) {
    throw new TopicError(
      ErrorCode.POLICY_VIOLATION,
      `one CreateTopics request may create at most ${CREATE_TOPICS_PARTITIONS_MAX} partitions in all; ` +
        `create topic ${topic.name} in another request`,
    );
  }
  const overrides = new Map<string, string>();
  for (const [key, value] of configs) if (value !== null) overrides.set(key, value);
  const created = validateOnly ? null : broker.topics.create(topic.name, partitions, configs);
  const result: CreatableTopicResult = {
    name: topic.name,
    errorCode: ErrorCode.NONE,
    errorMessage: null,
    numPartitions: partitions,
    replicationFactor: 1,
    configs: effectiveTopicConfigs(overrides, broker.settings).map((entry) => ({
      name: entry.name,
      value: entry.value,
      readOnly: false,
      configSource: entry.source,
      isSensitive: false,
    })),
  };
  if (created !== null) result.topicId = created.id;
  return { result, partitions };
}

export default defineHandler<CreateTopicsRequest, CreateTopicsResponse>({
  apiKey: 19,
  name: "CreateTopics",
  versions: [0, 7],
  requestSchema: CreateTopicsRequestSchema,
  responseSchema: CreateTopicsResponseSchema,
  handle(ctx, request) {
    const { broker } = ctx;
    const validateOnly = ctx.apiVersion >= 1 && request.validateOnly;
    const occurrences = new Map<string, number>();
    for (const topic of request.topics) occurrences.set(topic.name, (occurrences.get(topic.name) ?? 0) + 1);
    const answered = new Set<string>();
    const results: CreatableTopicResult[] = [];
    let partitionsLeft = CREATE_TOPICS_PARTITIONS_MAX;
    request.topics.forEach((topic, position) => {
      if (answered.has(topic.name)) return;
      answered.add(topic.name);
      if (position >= CREATE_TOPICS_TOPICS_MAX) {
        results.push(
          failure(
            topic.name,
            ErrorCode.INVALID_REQUEST,
            `at most ${CREATE_TOPICS_TOPICS_MAX} topics per CreateTopics request; create the rest in another`,
          ),
        );
        return;
      }
      if (occurrences.get(topic.name)! > 1) {
        results.push(
          failure(topic.name, ErrorCode.INVALID_REQUEST, `topic ${topic.name} appears more than once in the request`),
        );
        return;
      }
      try {
        const { result, partitions } = createOne(broker, topic, validateOnly, partitionsLeft);
        partitionsLeft -= partitions;
        results.push(result);
      } catch (error) {
        if (!(error instanceof TopicError)) throw error;
        results.push(failure(topic.name, error.errorCode, error.message));
      }
    });
    return { throttleTimeMs: 0, topics: results };
  },
  errorResponse(request, errorCode) {
    const names = new Set(request.topics.map((topic) => topic.name));
    return { throttleTimeMs: 0, topics: [...names].map((name) => ({ name, errorCode, errorMessage: null })) };
  },
});
