// ListOffsets (key 2), versions 0–6: earliest (-2), latest (-1) and by timestamp (the first record whose timestamp
// is at least the one asked for). v0 answers in the old "offsets array" shape. With isolation_level=read_committed
// (v2+) latest is the last stable offset: the first offset of the oldest open transaction.
// Leaves out: max timestamp (-3, v7) and earliest local (-4, v8), which Sluice does not advertise.

import { ErrorCode } from "../../kafka/protocol/error-codes.js";
import {
  ListOffsetsRequestSchema,
  ListOffsetsResponseSchema,
  type ListOffsetsRequest,
  type ListOffsetsResponse,
} from "../../kafka/protocol/messages/index.js";
import type { ListOffsetsPartitionResponse } from "../../kafka/protocol/messages/list-offsets-response.js";
import type { ListOffsetsPartition } from "../../kafka/protocol/messages/list-offsets-request.js";
import type { Broker } from "../broker.js";
import { authorized } from "../acl/authorize.js";
import { AclOperation, AclResourceType } from "../acl/acls.js";
import { defineHandler } from "./handler.js";

const LATEST = -1;
const EARLIEST = -2;

function failed(partitionIndex: number, errorCode: number): ListOffsetsPartitionResponse {
  return { partitionIndex, errorCode, oldStyleOffsets: [], timestamp: -1, offset: -1, leaderEpoch: -1 };
}

function lookUp(
  broker: Broker,
  topicName: string,
  request: ListOffsetsPartition,
  version: number,
  readCommitted: boolean,
): ListOffsetsPartitionResponse {
  const partition = broker.topics.partition(topicName, request.partitionIndex);
  if (partition === undefined) return failed(request.partitionIndex, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  if (request.currentLeaderEpoch > 0) return failed(request.partitionIndex, ErrorCode.UNKNOWN_LEADER_EPOCH);
  const { log } = partition;
  let offset: number;
  let timestamp = -1;
  if (request.timestamp === LATEST) {
    offset = readCommitted ? partition.txns.lastStableOffset(log.logEndOffset) : log.logEndOffset;
  } else if (request.timestamp === EARLIEST) offset = log.logStartOffset;
  else if (request.timestamp < 0) return failed(request.partitionIndex, ErrorCode.UNSUPPORTED_VERSION);
  else {
    const found = log.offsetForTimestamp(request.timestamp);
    offset = found === null ? -1 : found.offset;
    timestamp = found === null ? -1 : found.timestamp;
  }
  if (version === 0) {
    const offsets = offset >= 0 && request.maxNumOffsets > 0 ? [offset] : [];
    return { partitionIndex: request.partitionIndex, errorCode: ErrorCode.NONE, oldStyleOffsets: offsets };
  }
  return {
    partitionIndex: request.partitionIndex,
    errorCode: ErrorCode.NONE,
    oldStyleOffsets: [],
    timestamp,
    offset,
    leaderEpoch: offset >= 0 ? 0 : -1,
  };
}

export default defineHandler<ListOffsetsRequest, ListOffsetsResponse>({
  apiKey: 2,
  name: "ListOffsets",
  versions: [0, 6],
  requestSchema: ListOffsetsRequestSchema,
  responseSchema: ListOffsetsResponseSchema,
  handle(ctx, request) {
    return {
      throttleTimeMs: 0,
      topics: request.topics.map((topic) => ({
        name: topic.name,
        partitions: topic.partitions.map((partition) =>
          authorized(ctx, AclOperation.DESCRIBE, AclResourceType.TOPIC, topic.name)
            ? lookUp(ctx.broker, topic.name, partition, ctx.apiVersion, request.isolationLevel === 1)
            : failed(partition.partitionIndex, ErrorCode.TOPIC_AUTHORIZATION_FAILED),
        ),
      })),
    };
  },
  errorResponse(request, errorCode) {
    return {
      topics: request.topics.map((topic) => ({
        name: topic.name,
        partitions: topic.partitions.map((partition) => failed(partition.partitionIndex, errorCode)),
      })),
    };
  },
});
