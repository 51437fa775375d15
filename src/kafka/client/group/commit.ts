// Committing a member's offsets (OffsetCommit under its generation and member id) and reading the group's committed
// offsets of its assigned partitions (OffsetFetch). A commit whose coordinator moved or is loading is sent again to the
// coordinator found afresh; a commit the group refuses because it moved on (a rebalance, the member removed) is not
// retried, since only a rejoin can make it valid, and the records are delivered again to whoever holds them next.

import { ErrorCode } from "../../protocol/error-codes.js";
import { checkOffsetsToCommit, fetchGroupOffsets, offsetCommitTopics, type OffsetToCommit } from "../admin/groups.js";
import { byTopic, type TopicPartition } from "../admin/offsets.js";
import { Api } from "../apis/definitions.js";
import { isStaleCoordinatorError, type KafkaCluster, type Lane } from "../cluster/cluster.js";
import { partitionKey } from "../cluster/routing.js";
import { KafkaBrokerError } from "../errors.js";
import type { MemberIdentity } from "./membership.js";

/** Error codes that mean the member's generation is over: committing again cannot succeed before a rejoin. */
export const GENERATION_ENDED_CODES: ReadonlySet<number> = new Set([
  ErrorCode.REBALANCE_IN_PROGRESS,
  ErrorCode.ILLEGAL_GENERATION,
  ErrorCode.UNKNOWN_MEMBER_ID,
  ErrorCode.FENCED_INSTANCE_ID,
]);

export function isGenerationEnded(error: unknown): boolean {
  return error instanceof KafkaBrokerError && GENERATION_ENDED_CODES.has(error.errorCode);
}

/** Commits offsets (each the next offset to read) as a member of the given generation; throws the first error. */
export async function commitMemberOffsets(
  cluster: KafkaCluster,
  member: MemberIdentity,
  lane: Lane,
  offsets: readonly OffsetToCommit[],
): Promise<void> {
  checkOffsetsToCommit(offsets);
  if (offsets.length === 0) return;
  for (let attempt = 0; ; attempt++) {
    try {
      const connection = await cluster.groupCoordinator(member.groupId, lane);
      const response = await connection.request(Api.OffsetCommit, {
        groupId: member.groupId,
        generationIdOrMemberEpoch: member.generationId,
        memberId: member.memberId,
        groupInstanceId: null,
        retentionTimeMs: -1,
        topics: offsetCommitTopics(offsets),
      });
      for (const topic of response.topics) {
        for (const partition of topic.partitions) {
          if (partition.errorCode === 0) continue;
          throw new KafkaBrokerError(
            partition.errorCode,
            `committing offsets of group "${member.groupId}" on ${topic.name}-${partition.partitionIndex}`,
          );
        }
      }
      return;
    } catch (error) {
      // A commit is idempotent (the same offsets again), so it may be resent after a lost connection.
      if (isGenerationEnded(error) || !cluster.mayRetry(error, attempt, true)) throw error;
      if (isStaleCoordinatorError(error)) cluster.forgetCoordinator(member.groupId);
      await cluster.sleep(cluster.backoffMs(attempt));
    }
  }
}

/** The group's committed offset of each partition (-1 where it has none). */
export async function committedOffsets(
  cluster: KafkaCluster,
  groupId: string,
  partitions: readonly TopicPartition[],
): Promise<Map<string, number>> {
  const committed = new Map<string, number>();
  if (partitions.length === 0) return committed;
  const topics = [...byTopic(partitions)].map(([topic, entries]) => ({
    topic,
    partitions: entries.map((entry) => entry.partition),
  }));
  for (const entry of await fetchGroupOffsets(cluster, groupId, topics)) {
    committed.set(partitionKey(entry.topic, entry.partition), entry.offset);
  }
  return committed;
}
