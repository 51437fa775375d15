// DeleteRecords (key 21), versions 0–2. Moves a partition's log start offset forward so that records before the
// given offset are gone; -1 means the high watermark (delete everything). An offset past the high watermark is
// OFFSET_OUT_OF_RANGE; one at or below the current log start changes nothing. Each partition answers its new low
// watermark, or -1 with an error. Waiting fetches are woken, so one parked below the new start learns of it at once.
// Leaves out: timeoutMs (the change is synchronous, there are no followers to wait for) and throttling.

import { ErrorCode } from "../../kafka/protocol/error-codes.js";
import {
  DeleteRecordsRequestSchema,
  DeleteRecordsResponseSchema,
  type DeleteRecordsRequest,
  type DeleteRecordsResponse,
} from "../../kafka/protocol/messages/index.js";
import type { DeleteRecordsPartitionResult } from "../../kafka/protocol/messages/delete-records-response.js";
import type { Broker } from "../broker.js";
import { authorized } from "../acl/authorize.js";
import { AclOperation, AclResourceType } from "../acl/acls.js";
import { defineHandler } from "./handler.js";

/** Partitions one DeleteRecords request may name in all; the rest are answered with INVALID_REQUEST. */
export const DELETE_RECORDS_PARTITIONS_MAX = 10_000;
/** The offset that stands for the high watermark. */
export const HIGH_WATERMARK_OFFSET = -1;

function deleteBefore(
  broker: Broker,
  topic: string,
  partitionIndex: number,
  offset: number,
): DeleteRecordsPartitionResult {
  const partition = broker.topics.partition(topic, partitionIndex);
  if (partition === undefined) {
    return { partitionIndex, lowWatermark: -1, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
  }
  const { log } = partition;
  const highWatermark = log.logEndOffset;
  const target = offset === HIGH_WATERMARK_OFFSET ? highWatermark : offset;
  if (target < 0 || target > highWatermark) {
    return { partitionIndex, lowWatermark: -1, errorCode: ErrorCode.OFFSET_OUT_OF_RANGE };
  }
  if (target > log.logStartOffset) {
    log.deleteRecordsBefore(target);
    partition.wakeWaiters();
  }
  return { partitionIndex, lowWatermark: log.logStartOffset, errorCode: ErrorCode.NONE };
}

export default defineHandler<DeleteRecordsRequest, DeleteRecordsResponse>({
  apiKey: 21,
  name: "DeleteRecords",
  versions: [0, 2],
  requestSchema: DeleteRecordsRequestSchema,
  responseSchema: DeleteRecordsResponseSchema,
  handle(ctx, request) {
    let partitionsLeft = DELETE_RECORDS_PARTITIONS_MAX;
    const topics = request.topics.map((topic) => ({
      name: topic.name,
      partitions: topic.partitions.map(({ partitionIndex, offset }) => {
        if (partitionsLeft <= 0) return { partitionIndex, lowWatermark: -1, errorCode: ErrorCode.INVALID_REQUEST };
        partitionsLeft--;
        if (!authorized(ctx, AclOperation.DELETE, AclResourceType.TOPIC, topic.name)) {
          return { partitionIndex, lowWatermark: -1, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED };
        }
        return deleteBefore(ctx.broker, topic.name, partitionIndex, offset);
      }),
    }));
    return { throttleTimeMs: 0, topics };
  },
  errorResponse(request, errorCode) {
    return {
      throttleTimeMs: 0,
      topics: request.topics.map((topic) => ({
        name: topic.name,
        partitions: topic.partitions.map(({ partitionIndex }) => ({ partitionIndex, lowWatermark: -1, errorCode })),
      })),
    };
  },
});
