// OffsetForLeaderEpoch (key 23), versions 0–4. Every partition has had one leader epoch, 0, since it was created,
// so epoch 0 ends at the log end offset, and a later epoch is unknown (-1, -1) as Kafka answers.
// Leaves out: follower requests (replica id ≥ 0), which a single node never receives.

import { ErrorCode } from "../../kafka/protocol/error-codes.js";
import {
  OffsetForLeaderEpochRequestSchema,
  OffsetForLeaderEpochResponseSchema,
  type OffsetForLeaderEpochRequest,
  type OffsetForLeaderEpochResponse,
} from "../../kafka/protocol/messages/index.js";
import { defineHandler } from "./handler.js";

export default defineHandler<OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse>({
  apiKey: 23,
  name: "OffsetForLeaderEpoch",
  versions: [0, 4],
  requestSchema: OffsetForLeaderEpochRequestSchema,
  responseSchema: OffsetForLeaderEpochResponseSchema,
  handle(ctx, request) {
    return {
      throttleTimeMs: 0,
      topics: request.topics.map((topic) => ({
        topic: topic.topic,
        partitions: topic.partitions.map((asked) => {
          const partition = ctx.broker.topics.partition(topic.topic, asked.partition);
          if (partition === undefined) {
            return {
              errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
              partition: asked.partition,
              leaderEpoch: -1,
              endOffset: -1,
            };
          }
          if (asked.currentLeaderEpoch > 0) {
            return {
              errorCode: ErrorCode.UNKNOWN_LEADER_EPOCH,
              partition: asked.partition,
              leaderEpoch: -1,
              endOffset: -1,
            };
          }
          if (asked.leaderEpoch > 0 || asked.leaderEpoch < 0) {
            return { errorCode: ErrorCode.NONE, partition: asked.partition, leaderEpoch: -1, endOffset: -1 };
          }
          return {
            errorCode: ErrorCode.NONE,
            partition: asked.partition,
            leaderEpoch: 0,
            endOffset: partition.log.logEndOffset,
          };
        }),
      })),
    };
  },
  errorResponse(request, errorCode) {
    return {
      topics: request.topics.map((topic) => ({
        topic: topic.topic,
        partitions: topic.partitions.map((p) => ({
          errorCode,
          partition: p.partition,
          leaderEpoch: -1,
          endOffset: -1,
        })),
      })),
    };
  },
});
