// The committed offsets, as Kafka's group metadata manager stores them: OffsetCommit, OffsetFetch and OffsetDelete
// once the coordinator has checked the group and its member, a deleted topic's offsets, and expiry past the
// retention (KIP-211). Every change goes to the group log; the caller awaits its sync before answering.

import type { Logger } from "pino";
import { ErrorCode } from "../../kafka/protocol/error-codes.js";
import type { ConsumerGroup } from "./group.js";
import type { GroupLimits } from "./limits.js";
import type { CommittedOffsets } from "./offsets.js";
import type { GroupPersistence } from "./persistence.js";
import type {
  CommitOffsetsInput,
  CommittedOffset,
  DeleteOffsetsResult,
  FetchOffsetsResult,
  PartitionError,
  TopicPartitions,
} from "./types.js";

export interface OffsetStoreOptions {
  offsets: CommittedOffsets;
  persistence: GroupPersistence;
  limits: GroupLimits;
  logger: Logger;
  partitionCount(topic: string): number | undefined;
}

export class OffsetStore {
  constructor(private readonly options: OffsetStoreOptions) {}

  /** Records the offsets of a commit the coordinator has accepted, each partition checked on its own. */
  commit(input: CommitOffsetsInput, nowMs: number): PartitionError[] {
    const { offsets, persistence, limits } = this.options;
    return input.offsets.map((entry) => {
      const { topic, partition } = entry;
      if (!this.isPartition(topic, partition)) {
        return { topic, partition, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
      }
      if (entry.metadata !== null && Buffer.byteLength(entry.metadata, "utf8") > limits.offsetMetadataBytesMax) {
        return { topic, partition, errorCode: ErrorCode.OFFSET_METADATA_TOO_LARGE };
      }
      const commitTimestampMs =
        entry.commitTimestampMs !== undefined && entry.commitTimestampMs >= 0 ? entry.commitTimestampMs : nowMs;
      const committed: CommittedOffset = {
        offset: entry.offset,
        leaderEpoch: entry.leaderEpoch,
        metadata: entry.metadata,
        commitTimestampMs,
      };
      offsets.set(input.groupId, topic, partition, committed);
      persistence.append({ kind: "offset", groupId: input.groupId, topic, partition, ...committed });
      return { topic, partition, errorCode: ErrorCode.NONE };
    });
  }

  /** The committed offsets for these partitions (-1 where none), or for every committed partition when null. */
  fetch(groupId: string, topics: TopicPartitions[] | null): FetchOffsetsResult["topics"] {
    const { offsets } = this.options;
    if (topics === null) {
      return offsets.forGroup(groupId).map(({ topic, partitions }) => ({
        topic,
        partitions: partitions.map(([partition, committed]) => ({
          partition,
          offset: committed.offset,
          leaderEpoch: committed.leaderEpoch,
          metadata: committed.metadata,
          errorCode: ErrorCode.NONE,
        })),
      }));
    }
    return topics.map(({ topic, partitions }) => ({
      topic,
      partitions: partitions.map((partition) => {
        const committed = offsets.get(groupId, topic, partition);
        return {
          partition,
          offset: committed?.offset ?? -1,
          leaderEpoch: committed?.leaderEpoch ?? -1,
          metadata: committed === undefined ? "" : committed.metadata,
          errorCode: ErrorCode.NONE,
        };
      }),
    }));
  }

  /** OffsetDelete for a group the coordinator found; topics the group consumes right now are refused. */
  delete(
    groupId: string,
    topics: TopicPartitions[],
    isConsumed: (topic: string) => boolean,
  ): DeleteOffsetsResult["topics"] {
    return topics.map(({ topic, partitions }) => ({
      topic,
      partitions: partitions.map((partition) => {
        if (!this.isPartition(topic, partition)) return { partition, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
        if (isConsumed(topic)) return { partition, errorCode: ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC };
        this.forget(groupId, topic, partition);
        return { partition, errorCode: ErrorCode.NONE };
      }),
    }));
  }

  /** Forgets every group's offsets for a deleted topic. */
  deleteTopic(topic: string): void {
    for (const { groupId, partition } of this.options.offsets.partitionsOfTopic(topic)) {
      this.forget(groupId, topic, partition);
    }
  }

  /** A group's committed offsets, for the console (lag) and tools. */
  committed(groupId: string): Array<{ topic: string; partition: number; committed: CommittedOffset }> {
    return this.options.offsets
      .forGroup(groupId)
      .flatMap(({ topic, partitions }) =>
        partitions.map(([partition, committed]) => ({ topic, partition, committed })),
      );
  }

  hasGroup(groupId: string): boolean {
    return this.options.offsets.hasGroup(groupId);
  }

  /** Drops a deleted group's offsets; the group's own deletion record in the log covers them. */
  deleteGroup(groupId: string): void {
    this.options.offsets.deleteGroup(groupId);
  }

  /**
   * Deletes one group's offsets past retentionMs (KIP-211): an empty group's a retention after it became empty (or
   * after their commit, if later); an active consumer group's offsets of topics it no longer subscribes to a
   * retention after their commit. Returns how many went.
   */
  expire(group: ConsumerGroup, nowMs: number, retentionMs: number): number {
    const empty = group.state === "Empty";
    const stale = this.options.offsets.forGroup(group.groupId).flatMap(({ topic, partitions }) =>
      partitions
        .filter(([, committed]) => {
          if (!empty && group.isSubscribedTo(topic)) return false;
          const sinceMs = empty
            ? Math.max(committed.commitTimestampMs, group.emptySinceMs)
            : committed.commitTimestampMs;
          return nowMs - sinceMs >= retentionMs;
        })
        .map(([partition]) => ({ topic, partition })),
    );
    for (const { topic, partition } of stale) this.forget(group.groupId, topic, partition);
    if (stale.length > 0) {
      this.options.logger.info(
        { groupId: group.groupId, offsets: stale.length, retentionMs },
        "committed offsets expired",
      );
    }
    return stale.length;
  }

  private isPartition(topic: string, partition: number): boolean {
    const partitionCount = this.options.partitionCount(topic);
    return partitionCount !== undefined && Number.isInteger(partition) && partition >= 0 && partition < partitionCount;
  }

  private forget(groupId: string, topic: string, partition: number): void {
    if (this.options.offsets.delete(groupId, topic, partition)) {
      this.options.persistence.append({ kind: "offset-deleted", groupId, topic, partition });
    }
  }
}
