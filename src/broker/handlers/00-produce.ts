// Produce (key 0), versions 3–9: one magic-2 record batch per partition, stored exactly as received with its base
// offset assigned. acks=-1 is answered after the batch is fsynced (group commit) when the broker flushes "always";
// acks=1 after the write; acks=0 gets no response. A transactional produce with acks=-1 also waits for the transaction
// log's fsync, which makes the AddPartitionsToTxn before it durable. Idempotent producers are checked per partition: an exact
// duplicate of one of the last five batches is answered with its original offset and not appended again. A
// transactional batch must come from the current epoch of a producer whose open transaction holds the partition
// (INVALID_PRODUCER_EPOCH for a fenced one, INVALID_TXN_STATE otherwise); its first offset holds back the partition's
// last stable offset until the transaction's marker is written.
// Leaves out: per-record errors (a batch is accepted or refused whole), magic 0/1 message sets (Produce < 3).

import { ErrorCode } from "../../kafka/protocol/error-codes.js";
import {
  ProduceRequestSchema,
  ProduceResponseSchema,
  type ProduceRequest,
  type ProduceResponse,
} from "../../kafka/protocol/messages/index.js";
import type { PartitionProduceResponse } from "../../kafka/protocol/messages/produce-response.js";
import {
  isControlBatch,
  isTransactional,
  validateProducedBatch,
  type RecordBatchHeader,
} from "../../kafka/protocol/record-batch.js";
import { readRawRecords } from "../../kafka/protocol/record-batch-rewrite.js";
import { ProtocolDecodeError } from "../../kafka/protocol/primitives.js";
import { UnsupportedCompressionError } from "../../kafka/protocol/compression/index.js";
import type { Broker } from "../broker.js";
import { LogStorageError } from "../log/partition-log.js";
import type { Partition } from "../topics.js";
import { topicConfigValue } from "../topic-config.js";
import { authorized } from "../acl/authorize.js";
import { AclOperation, AclResourceType } from "../acl/acls.js";
import { defineHandler, NO_RESPONSE } from "./handler.js";

/** Byte offset of partitionLeaderEpoch in a batch; not covered by the CRC, so the broker may set it. */
const PARTITION_LEADER_EPOCH_AT = 12;

function failed(index: number, errorCode: number, errorMessage: string | null = null): PartitionProduceResponse {
  return { index, errorCode, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1, recordErrors: [], errorMessage };
}

/** The topic's min.insync.replicas; above 1, acks=all cannot be met on one broker and Kafka refuses the produce. */
function insyncReplicasRequired(broker: Broker, partition: Partition): number {
  return Number(topicConfigValue(partition.topic.configs, "min.insync.replicas", broker.settings));
}

/**
 * Like Kafka, a compacted topic refuses a batch holding a record without a key: compaction could not tell which
 * record it replaces. The answer names each such record by its index in the batch.
 */
function keylessRecords(
  records: Buffer,
  header: RecordBatchHeader,
  partition: Partition,
  index: number,
): PartitionProduceResponse | null {
  if (isControlBatch(header)) return null;
  let decoded;
  try {
    decoded = readRawRecords(records, header);
  } catch (error) {
    if (!(error instanceof ProtocolDecodeError || error instanceof UnsupportedCompressionError)) throw error;
    return failed(index, ErrorCode.CORRUPT_MESSAGE, `the batch's records cannot be read: ${error.message}`);
  }
  const keyless = decoded.flatMap((record, batchIndex) => (record.key === null ? [batchIndex] : []));
  if (keyless.length === 0) return null;
  return {
    ...failed(
      index,
      ErrorCode.INVALID_RECORD,
      `Compacted topic cannot accept message without key in topic partition ${partition.topic.name}-${index}.`,
    ),
    recordErrors: keyless.map((batchIndex) => ({ batchIndex, batchIndexErrorMessage: null })),
  };
}

function appendOne(
  broker: Broker,
  partition: Partition,
  index: number,
  records: Buffer | null,
): PartitionProduceResponse {
  if (records === null || records.length === 0)
    return failed(index, ErrorCode.INVALID_RECORD, "no record batch in the request");
  const messageBytesMax = Number(topicConfigValue(partition.topic.configs, "max.message.bytes", broker.settings));
  const validation = validateProducedBatch(records, messageBytesMax);
  if ("errorCode" in validation) return failed(index, validation.errorCode, validation.message);
  const { header } = validation;
  const transactional = isTransactional(header);
  if (transactional) {
    const refused = broker.txns.checkBatch(header.producerId, header.producerEpoch, partition);
    if (refused !== null) return failed(index, refused.errorCode, refused.message ?? null);
  }
  if (partition.log.compacted) {
    const refused = keylessRecords(records, header, partition, index);
    if (refused !== null) return refused;
  }
  const check = partition.producers.check(
    header.producerId,
    header.producerEpoch,
    header.baseSequence,
    header.lastOffsetDelta,
  );
  const { log } = partition;
  if (check.kind === "error") return failed(index, check.errorCode, check.message);
  if (check.kind === "duplicate") {
    return {
      index,
      errorCode: ErrorCode.NONE,
      baseOffset: check.baseOffset,
      logAppendTimeMs: -1,
      logStartOffset: log.logStartOffset,
      recordErrors: [],
      errorMessage: null,
    };
  }
  records.writeInt32BE(0, PARTITION_LEADER_EPOCH_AT);
  let appended: { baseOffset: number; logAppendTime: number };
  try {
    appended = log.append(records, header);
  } catch (error) {
    if (!(error instanceof LogStorageError)) throw error;
    broker.logger.error({ err: error, topic: partition.topic.name, partition: index }, "append failed");
    return failed(index, ErrorCode.KAFKA_STORAGE_ERROR, `the broker could not write to its log: ${error.message}`);
  }
  partition.producers.record(
    header.producerId,
    header.producerEpoch,
    header.baseSequence,
    header.lastOffsetDelta,
    appended.baseOffset,
  );
  if (transactional) partition.txns.begin(header.producerId, appended.baseOffset);
  partition.wakeWaiters();
  return {
    index,
    errorCode: ErrorCode.NONE,
    baseOffset: appended.baseOffset,
    logAppendTimeMs: appended.logAppendTime,
    logStartOffset: log.logStartOffset,
    recordErrors: [],
    errorMessage: null,
  };
}

export default defineHandler<ProduceRequest, ProduceResponse>({
  apiKey: 0,
  name: "Produce",
  versions: [3, 9],
  requestSchema: ProduceRequestSchema,
  responseSchema: ProduceResponseSchema,
  handle(ctx, request) {
    const { broker } = ctx;
    const touched: Partition[] = [];
    let transactional = false;
    const refuseAll = (errorCode: number, message: string): ProduceResponse => ({
      throttleTimeMs: 0,
      responses: request.topicData.map((topic) => ({
        name: topic.name,
        partitionResponses: topic.partitionData.map((p) => failed(p.index, errorCode, message)),
      })),
    });
    if (request.acks !== -1 && request.acks !== 0 && request.acks !== 1) {
      return refuseAll(ErrorCode.INVALID_REQUIRED_ACKS, `acks must be -1, 0 or 1, got ${request.acks}`);
    }
    const transactionWritable =
      request.transactionalId === null ||
      authorized(ctx, AclOperation.WRITE, AclResourceType.TRANSACTIONAL_ID, request.transactionalId);
    const response: ProduceResponse = !transactionWritable
      ? refuseAll(
          ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
          `the principal may not write transactional id ${request.transactionalId}`,
        )
      : {
          throttleTimeMs: 0,
          responses: request.topicData.map((topicData) => {
            const topic = broker.topics.get(topicData.name);
            const allowed = authorized(ctx, AclOperation.WRITE, AclResourceType.TOPIC, topicData.name);
            return {
              name: topicData.name,
              partitionResponses: topicData.partitionData.map((data) => {
                if (!allowed) return failed(data.index, ErrorCode.TOPIC_AUTHORIZATION_FAILED);
                const partition = topic?.partitions[data.index];
                if (partition === undefined) return failed(data.index, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
                if (request.acks === -1 && insyncReplicasRequired(broker, partition) > 1) {
                  return failed(
                    data.index,
                    ErrorCode.NOT_ENOUGH_REPLICAS,
                    `min.insync.replicas is ${insyncReplicasRequired(broker, partition)} and the partition has ` +
                      "one replica; acks=all cannot be met",
                  );
                }
                const result = appendOne(broker, partition, data.index, data.records);
                if (result.errorCode === ErrorCode.NONE) touched.push(partition);
                if (result.errorCode === ErrorCode.NONE && request.transactionalId !== null) transactional = true;
                return result;
              }),
            };
          }),
        };
    if (request.acks === 0) return NO_RESPONSE;
    if (request.acks === -1 && broker.config.flush.kind === "always" && touched.length > 0) {
      // A transaction's steps reach the transaction log's file unsynced (see txn/coordinator.ts): its acks=all
      // produce makes them durable, alongside (not after) the partitions, with the same group commit.
      const syncs = touched.map((partition) => partition.log.sync());
      if (transactional) syncs.push(broker.txns.sync());
      return Promise.all(syncs).then(() => response);
    }
    return response;
  },
  errorResponse(request, errorCode) {
    return {
      responses: request.topicData.map((topic) => ({
        name: topic.name,
        partitionResponses: topic.partitionData.map((p) => failed(p.index, errorCode)),
      })),
    };
  },
});
