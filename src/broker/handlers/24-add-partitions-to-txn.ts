// AddPartitionsToTxn (key 24), versions 0–3 (those clients send): adds partitions to the producer's transaction,
// starting one if none is open, and answers once that is durable. A partition that does not exist fails with
// UNKNOWN_TOPIC_OR_PARTITION (or TOPIC_AUTHORIZATION_FAILED) and the others of the request with
// OPERATION_NOT_ATTEMPTED, as Kafka does; otherwise every partition carries the transaction's answer.
// Leaves out: v4+ (the batched, verify-only form brokers send each other, KIP-890).

import { ErrorCode } from "../../kafka/protocol/error-codes.js";
import {
  AddPartitionsToTxnRequestSchema,
  AddPartitionsToTxnResponseSchema,
  type AddPartitionsToTxnRequest,
  type AddPartitionsToTxnResponse,
} from "../../kafka/protocol/messages/index.js";
import { AclOperation, AclResourceType } from "../acl/acls.js";
import { authorized } from "../acl/authorize.js";
import { fencedErrorCode } from "../txn/errors.js";
import { defineHandler } from "./handler.js";

function answerAll(request: AddPartitionsToTxnRequest, codeFor: (topic: string, partition: number) => number) {
  return request.v3AndBelowTopics.map((topic) => ({
    name: topic.name,
    resultsByPartition: topic.partitions.map((partitionIndex) => ({
      partitionIndex,
      partitionErrorCode: codeFor(topic.name, partitionIndex),
    })),
  }));
}

export default defineHandler<AddPartitionsToTxnRequest, AddPartitionsToTxnResponse>({
  apiKey: 24,
  name: "AddPartitionsToTxn",
  versions: [0, 3],
  requestSchema: AddPartitionsToTxnRequestSchema,
  responseSchema: AddPartitionsToTxnResponseSchema,
  async handle(ctx, request) {
    const { broker } = ctx;
    const problems = new Map<string, number>();
    for (const topic of request.v3AndBelowTopics) {
      const writable = authorized(ctx, AclOperation.WRITE, AclResourceType.TOPIC, topic.name);
      for (const index of topic.partitions) {
        if (!writable) problems.set(`${topic.name}:${index}`, ErrorCode.TOPIC_AUTHORIZATION_FAILED);
        else if (broker.topics.partition(topic.name, index) === undefined) {
          problems.set(`${topic.name}:${index}`, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
        }
      }
    }
    if (problems.size > 0) {
      return {
        throttleTimeMs: 0,
        resultsByTopicV3AndBelow: answerAll(
          request,
          (topic, partition) => problems.get(`${topic}:${partition}`) ?? ErrorCode.OPERATION_NOT_ATTEMPTED,
        ),
      };
    }
    const result = await broker.txns.addPartitions(
      {
        transactionalId: request.v3AndBelowTransactionalId,
        producerId: request.v3AndBelowProducerId,
        producerEpoch: request.v3AndBelowProducerEpoch,
        fencedErrorCode: fencedErrorCode(ctx.apiVersion, 2),
      },
      request.v3AndBelowTopics.flatMap((topic) =>
        topic.partitions.map((partition) => ({ topic: topic.name, partition })),
      ),
    );
    return { throttleTimeMs: 0, resultsByTopicV3AndBelow: answerAll(request, () => result.errorCode) };
  },
  errorResponse(request, errorCode) {
    return { throttleTimeMs: 0, resultsByTopicV3AndBelow: answerAll(request, () => errorCode) };
  },
});
