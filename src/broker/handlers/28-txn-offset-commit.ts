// TxnOffsetCommit (key 28), versions 0–3: offsets a transactional producer commits for a consumer group
// (sendOffsetsToTransaction). They are held with the transaction, durably, and become the group's committed offsets
// only when it commits; an abort drops them. From v3 a member id and generation are checked as OffsetCommit checks
// them (generation -1 skips the check). The group must have been added with AddOffsetsToTxn.
// Leaves out: v4 (KIP-890's TRANSACTION_ABORTABLE); OffsetFetch's require_stable (pending offsets are not reported
// as UNSTABLE_OFFSET_COMMIT).

import { ErrorCode } from "../../kafka/protocol/error-codes.js";
import {
  TxnOffsetCommitRequestSchema,
  TxnOffsetCommitResponseSchema,
  type TxnOffsetCommitRequest,
  type TxnOffsetCommitResponse,
} from "../../kafka/protocol/messages/index.js";
import { AclOperation, AclResourceType } from "../acl/acls.js";
import { authorized } from "../acl/authorize.js";
import { fencedErrorCode } from "../txn/errors.js";
import { defineHandler } from "./handler.js";

function answer(request: TxnOffsetCommitRequest, codeFor: (topic: string, partition: number) => number) {
  return {
    throttleTimeMs: 0,
    topics: request.topics.map((topic) => ({
      name: topic.name,
      partitions: topic.partitions.map((partition) => ({
        partitionIndex: partition.partitionIndex,
        errorCode: codeFor(topic.name, partition.partitionIndex),
      })),
    })),
  };
}

export default defineHandler<TxnOffsetCommitRequest, TxnOffsetCommitResponse>({
  apiKey: 28,
  name: "TxnOffsetCommit",
  versions: [0, 3],
  requestSchema: TxnOffsetCommitRequestSchema,
  responseSchema: TxnOffsetCommitResponseSchema,
  async handle(ctx, request) {
    const { broker } = ctx;
    if (!authorized(ctx, AclOperation.READ, AclResourceType.GROUP, request.groupId)) {
      return answer(request, () => ErrorCode.GROUP_AUTHORIZATION_FAILED);
    }
    const problems = new Map<string, number>();
    for (const topic of request.topics) {
      const readable = authorized(ctx, AclOperation.READ, AclResourceType.TOPIC, topic.name);
      for (const partition of topic.partitions) {
        const key = `${topic.name}:${partition.partitionIndex}`;
        if (!readable) problems.set(key, ErrorCode.TOPIC_AUTHORIZATION_FAILED);
        else if (broker.topics.partition(topic.name, partition.partitionIndex) === undefined) {
          problems.set(key, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
        } else if (
          partition.committedMetadata !== null &&
          Buffer.byteLength(partition.committedMetadata, "utf8") > broker.groups.limits.offsetMetadataBytesMax
        ) {
          problems.set(key, ErrorCode.OFFSET_METADATA_TOO_LARGE);
        }
      }
    }
    if (problems.size > 0) return answer(request, (topic, p) => problems.get(`${topic}:${p}`) ?? ErrorCode.NONE);
    const membership = broker.groups.checkTransactionalCommit({
      groupId: request.groupId,
      generationId: request.generationId,
      memberId: request.memberId,
      groupInstanceId: request.groupInstanceId,
    });
    if (membership !== ErrorCode.NONE) return answer(request, () => membership);
    const result = await broker.txns.commitOffsets(
      {
        transactionalId: request.transactionalId,
        producerId: request.producerId,
        producerEpoch: request.producerEpoch,
        fencedErrorCode: fencedErrorCode(ctx.apiVersion, 2),
      },
      request.groupId,
      request.topics.flatMap((topic) =>
        topic.partitions.map((partition) => ({
          topic: topic.name,
          partition: partition.partitionIndex,
          offset: partition.committedOffset,
          leaderEpoch: partition.committedLeaderEpoch,
          // Kafka stores a commit without metadata as the empty string and returns it so.
          metadata: partition.committedMetadata ?? "",
        })),
      ),
    );
    return answer(request, () => result.errorCode);
  },
  errorResponse(request, errorCode) {
    return answer(request, () => errorCode);
  },
});
