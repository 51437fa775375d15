// Metadata (key 3), versions 0–9. One broker leads every partition with leader epoch 0. Topics asked for by name are
// created on the fly when the broker allows it and the request does too (allow_auto_topic_creation, v4+; earlier
// versions always allow). A null topic list (v1+), or an empty one in v0, means every topic.
// Leaves out: topic ids (v10+; Fetch stays ≤ 12 to match), authorized operations (always "not provided").

import { ErrorCode } from "../../kafka/protocol/error-codes.js";
import {
  MetadataRequestSchema,
  MetadataResponseSchema,
  type MetadataRequest,
  type MetadataResponse,
} from "../../kafka/protocol/messages/index.js";
import type { MetadataResponseTopic } from "../../kafka/protocol/messages/metadata-response.js";
import type { Broker } from "../broker.js";
import { TopicError, type Topic } from "../topics.js";
import { authorized } from "../acl/authorize.js";
import { AclOperation, AclResourceType } from "../acl/acls.js";
import { defineHandler } from "./handler.js";

/** Kafka's marker for "authorized operations were not asked for". */
const OPERATIONS_NOT_PROVIDED = -2147483648;
/** Topics one Metadata request may name; a larger request is answered for the first ones only. */
export const METADATA_TOPICS_MAX = 10_000;

function describeTopic(broker: Broker, topic: Topic): MetadataResponseTopic {
  const { nodeId } = broker.advertisedAddress();
  return {
    errorCode: ErrorCode.NONE,
    name: topic.name,
    isInternal: false,
    partitions: topic.partitions.map((partition) => ({
      errorCode: ErrorCode.NONE,
      partitionIndex: partition.index,
      leaderId: nodeId,
      leaderEpoch: 0,
      replicaNodes: [nodeId],
      isrNodes: [nodeId],
      offlineReplicas: [],
    })),
    topicAuthorizedOperations: OPERATIONS_NOT_PROVIDED,
  };
}

function topicError(name: string, errorCode: number): MetadataResponseTopic {
  return { errorCode, name, isInternal: false, partitions: [], topicAuthorizedOperations: OPERATIONS_NOT_PROVIDED };
}

function lookUp(broker: Broker, name: string, allowCreate: boolean): MetadataResponseTopic {
  const existing = broker.topics.get(name);
  if (existing !== undefined) return describeTopic(broker, existing);
  if (!allowCreate || !broker.config.autoCreateTopics) return topicError(name, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  try {
    return describeTopic(broker, broker.topics.create(name, broker.config.defaultPartitions, new Map()));
  } catch (error) {
    if (error instanceof TopicError) return topicError(name, error.errorCode);
    throw error;
  }
}

export default defineHandler<MetadataRequest, MetadataResponse>({
  apiKey: 3,
  name: "Metadata",
  versions: [0, 9],
  requestSchema: MetadataRequestSchema,
  responseSchema: MetadataResponseSchema,
  handle(ctx, request) {
    const { broker } = ctx;
    const address = broker.advertisedAddress();
    const allTopics = request.topics === null || (ctx.apiVersion === 0 && request.topics.length === 0);
    const allowCreate = ctx.apiVersion < 4 || request.allowAutoTopicCreation;
    const may = (operation: number, name: string) => authorized(ctx, operation, AclResourceType.TOPIC, name);
    const mayCreate = (name: string) =>
      may(AclOperation.CREATE, name) || authorized(ctx, AclOperation.CREATE, AclResourceType.CLUSTER, "kafka-cluster");
    const topics = allTopics
      ? broker.topics
          .all()
          .filter((topic) => may(AclOperation.DESCRIBE, topic.name))
          .map((topic) => describeTopic(broker, topic))
      : request.topics!.slice(0, METADATA_TOPICS_MAX).map((topic) => {
          if (topic.name === null) return topicError("", ErrorCode.INVALID_TOPIC_EXCEPTION);
          if (!may(AclOperation.DESCRIBE, topic.name))
            return topicError(topic.name, ErrorCode.TOPIC_AUTHORIZATION_FAILED);
          const creating = allowCreate && broker.topics.get(topic.name) === undefined && broker.config.autoCreateTopics;
          if (creating && !mayCreate(topic.name)) return topicError(topic.name, ErrorCode.TOPIC_AUTHORIZATION_FAILED);
          return lookUp(broker, topic.name, allowCreate);
        });
    return {
      throttleTimeMs: 0,
      brokers: [{ nodeId: address.nodeId, host: address.host, port: address.port, rack: null }],
      clusterId: broker.config.clusterId,
      controllerId: address.nodeId,
      topics,
      clusterAuthorizedOperations: OPERATIONS_NOT_PROVIDED,
    };
  },
  errorResponse(request, errorCode) {
    return {
      brokers: [],
      topics: (request.topics ?? []).map((topic) => topicError(topic.name ?? "", errorCode)),
    };
  },
});
