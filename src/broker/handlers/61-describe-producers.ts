// DescribeProducers (key 61), version 0: the producers a partition knows (idempotent and transactional) with their
// epoch, the last sequence they wrote and, for one with a transaction open there, the offset it started at — what
// `kafka-transactions.sh find-hanging` reads. Needs READ on the topic.
// Leaves out: last timestamps (not kept per producer; answered -1).

import { ErrorCode } from "../../kafka/protocol/error-codes.js";
import {
  DescribeProducersRequestSchema,
  DescribeProducersResponseSchema,
  type DescribeProducersRequest,
  type DescribeProducersResponse,
} from "../../kafka/protocol/messages/index.js";
import type { PartitionResponse } from "../../kafka/protocol/messages/describe-producers-response.js";
import { AclOperation, AclResourceType } from "../acl/acls.js";
import { authorized } from "../acl/authorize.js";
import type { Partition } from "../topics.js";
import { COORDINATOR_EPOCH } from "../txn/markers.js";
import { defineHandler } from "./handler.js";

function failed(partitionIndex: number, errorCode: number, errorMessage: string | null = null): PartitionResponse {
  return { partitionIndex, errorCode, errorMessage, activeProducers: [] };
}

function describe(partition: Partition): PartitionResponse {
  const activeProducers = [...partition.producers.entries()].map(({ producerId, epoch, lastSequence }) => ({
    producerId,
    producerEpoch: epoch,
    lastSequence,
    lastTimestamp: -1,
    coordinatorEpoch: partition.txns.openAt(producerId) === undefined ? -1 : COORDINATOR_EPOCH,
    currentTxnStartOffset: partition.txns.openAt(producerId) ?? -1,
  }));
  return { partitionIndex: partition.index, errorCode: ErrorCode.NONE, errorMessage: null, activeProducers };
}

export default defineHandler<DescribeProducersRequest, DescribeProducersResponse>({
  apiKey: 61,
  name: "DescribeProducers",
  versions: [0, 0],
  requestSchema: DescribeProducersRequestSchema,
  responseSchema: DescribeProducersResponseSchema,
  handle(ctx, request) {
    return {
      throttleTimeMs: 0,
      topics: request.topics.map((topic) => {
        const readable = authorized(ctx, AclOperation.READ, AclResourceType.TOPIC, topic.name);
        return {
          name: topic.name,
          partitions: topic.partitionIndexes.map((index) => {
            if (!readable) return failed(index, ErrorCode.TOPIC_AUTHORIZATION_FAILED);
            const partition = ctx.broker.topics.partition(topic.name, index);
            return partition === undefined ? failed(index, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) : describe(partition);
          }),
        };
      }),
    };
  },
  errorResponse(request, errorCode) {
    return {
      throttleTimeMs: 0,
      topics: request.topics.map((topic) => ({
        name: topic.name,
        partitions: topic.partitionIndexes.map((index) => failed(index, errorCode)),
      })),
    };
  },
});
