// OffsetCommit (key 8), versions 0–8. Commits for a group's members are checked against the member id and
// generation (and the instance id from v7); a group without members accepts commits with generation -1 and an empty
// member id (simple consumers; v0 always commits that way). v1's per-partition commit timestamp is kept when given;
// v6+ leader epochs are stored and returned by OffsetFetch. A null metadata is stored as "", as Kafka does. The answer waits until the commit is fsynced.
// Leaves out: v2–4 retention times (offsets are kept until deleted) and v9 (the KIP-848 consumer protocol).

import { ErrorCode } from "../../kafka/protocol/error-codes.js";
import {
  OffsetCommitRequestSchema,
  OffsetCommitResponseSchema,
  type OffsetCommitRequest,
  type OffsetCommitResponse,
} from "../../kafka/protocol/messages/index.js";
import type { CommitOffsetInput } from "../group/types.js";
import { defineHandler } from "./handler.js";

export default defineHandler<OffsetCommitRequest, OffsetCommitResponse>({
  apiKey: 8,
  name: "OffsetCommit",
  versions: [0, 8],
  requestSchema: OffsetCommitRequestSchema,
  responseSchema: OffsetCommitResponseSchema,
  async handle(ctx, request) {
    const { groups, logger } = ctx.broker;
    const offsets: CommitOffsetInput[] = request.topics.flatMap((topic) =>
      topic.partitions.map((partition) => ({
        topic: topic.name,
        partition: partition.partitionIndex,
        offset: partition.committedOffset,
        leaderEpoch: partition.committedLeaderEpoch,
        // Kafka stores a commit without metadata as the empty string and returns it so.
        metadata: partition.committedMetadata ?? "",
        commitTimestampMs: ctx.apiVersion === 1 ? partition.commitTimestamp : undefined,
      })),
    );
    const errorCodes = groups
      .commitOffsets({
        groupId: request.groupId,
        generationId: request.generationIdOrMemberEpoch,
        memberId: request.memberId,
        groupInstanceId: request.groupInstanceId,
        offsets,
      })
      .map((result) => result.errorCode);
    if (errorCodes.includes(ErrorCode.NONE)) {
      try {
        await groups.sync();
      } catch (error) {
        logger.error({ err: error, groupId: request.groupId }, "committed offsets could not be written to disk");
        errorCodes.forEach((code, i) => {
          if (code === ErrorCode.NONE) errorCodes[i] = ErrorCode.KAFKA_STORAGE_ERROR;
        });
      }
    }
    let next = 0;
    return {
      throttleTimeMs: 0,
      topics: request.topics.map((topic) => ({
        name: topic.name,
        partitions: topic.partitions.map((partition) => ({
          partitionIndex: partition.partitionIndex,
          errorCode: errorCodes[next++]!,
        })),
      })),
    };
  },
  errorResponse(request, errorCode) {
    return {
      throttleTimeMs: 0,
      topics: request.topics.map((topic) => ({
        name: topic.name,
        partitions: topic.partitions.map((partition) => ({ partitionIndex: partition.partitionIndex, errorCode })),
      })),
    };
  },
});
