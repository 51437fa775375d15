// Committed offsets in memory, by group, topic and partition. Persistence is the coordinator's business (it writes
// a record to the group log for every change made here); this is only the index it answers OffsetFetch from.

import type { CommittedOffset } from "./types.js";

type PartitionOffsets = Map<number, CommittedOffset>;
type TopicOffsets = Map<string, PartitionOffsets>;

export class CommittedOffsets {
  private readonly byGroup = new Map<string, TopicOffsets>();

  get(groupId: string, topic: string, partition: number): CommittedOffset | undefined {
    return this.byGroup.get(groupId)?.get(topic)?.get(partition);
  }

  set(groupId: string, topic: string, partition: number, committed: CommittedOffset): void {
    let topics = this.byGroup.get(groupId);
    if (topics === undefined) {
      topics = new Map();
      this.byGroup.set(groupId, topics);
    }
    let partitions = topics.get(topic);
    if (partitions === undefined) {
      partitions = new Map();
      topics.set(topic, partitions);
    }
    partitions.set(partition, committed);
  }

  /** Returns whether there was an offset to delete. */
  delete(groupId: string, topic: string, partition: number): boolean {
    const topics = this.byGroup.get(groupId);
    const partitions = topics?.get(topic);
    if (topics === undefined || partitions === undefined || !partitions.delete(partition)) return false;
    if (partitions.size === 0) topics.delete(topic);
    if (topics.size === 0) this.byGroup.delete(groupId);
    return true;
  }

  deleteGroup(groupId: string): void {
    this.byGroup.delete(groupId);
  }

  hasGroup(groupId: string): boolean {
    return this.byGroup.has(groupId);
  }

  /** The group's committed offsets, topics and partitions in ascending order. */
  forGroup(groupId: string): Array<{ topic: string; partitions: Array<[number, CommittedOffset]> }> {
    const topics = this.byGroup.get(groupId);
    if (topics === undefined) return [];
    return [...topics.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([topic, partitions]) => ({ topic, partitions: [...partitions.entries()].sort(([a], [b]) => a - b) }));
  }

  /** Every (group, partition) with an offset for `topic`. */
  partitionsOfTopic(topic: string): Array<{ groupId: string; partition: number }> {
    const found: Array<{ groupId: string; partition: number }> = [];
    for (const [groupId, topics] of this.byGroup) {
      const partitions = topics.get(topic);
      if (partitions === undefined) continue;
      for (const partition of partitions.keys()) found.push({ groupId, partition });
    }
    return found;
  }

  *entries(): IterableIterator<{ groupId: string; topic: string; partition: number; committed: CommittedOffset }> {
    for (const [groupId, topics] of this.byGroup) {
      for (const [topic, partitions] of topics) {
        for (const [partition, committed] of partitions) yield { groupId, topic, partition, committed };
      }
    }
  }
}
