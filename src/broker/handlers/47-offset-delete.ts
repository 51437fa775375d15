// OffsetDelete (key 47), version 0. Deletes a group's committed offsets for some partitions. While the group has
// members, offsets of topics they subscribe to (read from their "consumer" protocol metadata) are refused with
// GROUP_SUBSCRIBED_TO_TOPIC; a group with members of another protocol type is NON_EMPTY_GROUP as a whole. The
// answer waits until the deletion is on disk.
// Leaves out: nothing.

import { ErrorCode } from "../../kafka/protocol/error-codes.js";
import {
  OffsetDeleteRequestSchema,
  OffsetDeleteResponseSchema,
  type OffsetDeleteRequest,
  type OffsetDeleteResponse,
} from "../../kafka/protocol/messages/index.js";
import { defineHandler } from "./handler.js";

export default defineHandler<OffsetDeleteRequest, OffsetDeleteResponse>({
  apiKey: 47,
  name: "OffsetDelete",
  versions: [0, 0],
  requestSchema: OffsetDeleteRequestSchema,
  responseSchema: OffsetDeleteResponseSchema,
  async handle(ctx, request) {
    const { groups, logger } = ctx.broker;
    const result = groups.deleteOffsets(
      request.groupId,
      request.topics.map((topic) => ({
        topic: topic.name,
        partitions: topic.partitions.map((partition) => partition.partitionIndex),
      })),
    );
    const topics = result.topics.map(({ topic, partitions }) => ({
      name: topic,
      partitions: partitions.map(({ partition, errorCode }) => ({ partitionIndex: partition, errorCode })),
    }));
    const deleted = topics.some((topic) =>
      topic.partitions.some((partition) => partition.errorCode === ErrorCode.NONE),
    );
    if (deleted) {
      try {
        await groups.sync();
      } catch (error) {
        logger.error({ err: error, groupId: request.groupId }, "offset deletions could not be written to disk");
        for (const topic of topics) {
          for (const partition of topic.partitions) {
            if (partition.errorCode === ErrorCode.NONE) partition.errorCode = ErrorCode.KAFKA_STORAGE_ERROR;
          }
        }
      }
    }
    return { errorCode: result.errorCode, throttleTimeMs: 0, topics };
  },
  errorResponse(_request, errorCode) {
    return { errorCode, throttleTimeMs: 0, topics: [] };
  },
});
