// The second half of ending a transaction, once its Prepare state is durable: the commit or abort marker written to
// every partition it touched, its offsets committed (or dropped) in their groups, and the wait for both to reach the
// disk, after which the transaction log may record it as complete. Kafka answers EndTxn once Prepare is durable and
// writes the markers afterwards; so does Sluice: the markers are written at once, on the serial path, and only the
// wait for their fsync runs behind the answer.

import type { Logger } from "pino";
import type { GroupCoordinator } from "../group/coordinator.js";
import { LogStorageError } from "../log/partition-log.js";
import type { TopicRegistry } from "../topics.js";
import type { AbortedTxnRecord, PendingOffsetRecord } from "./log-records.js";
import { buildTxnMarker } from "./markers.js";
import type { TxnMetadata } from "./metadata.js";

export interface MarkerWriterDeps {
  topics: TopicRegistry;
  groups: GroupCoordinator;
  logger: Logger;
}

/**
 * Writes the commit or abort marker to every partition of a transaction in a Prepare state, applies or drops its
 * offsets and moves it to Complete in memory. Returns the aborted ranges the transaction log must remember.
 * Synchronous: one step on the serial path.
 */
export function writeTxnMarkers(txn: TxnMetadata, deps: MarkerWriterDeps, nowMs: number): AbortedTxnRecord[] {
  const committed = txn.state === "PrepareCommit";
  const abortedRanges: AbortedTxnRecord[] = [];
  for (const { topic, partition: index } of txn.partitions.values()) {
    const partition = deps.topics.partition(topic, index);
    if (partition === undefined) continue;
    const { batch, header } = buildTxnMarker(txn.producerId, txn.producerEpoch, committed, nowMs);
    let markerOffset: number;
    try {
      markerOffset = partition.log.append(batch, header).baseOffset;
    } catch (error) {
      if (!(error instanceof LogStorageError)) throw error;
      // The partition cannot be written; its open transaction stays open there (holding back its last stable
      // offset) rather than exposing aborted records.
      deps.logger.error({ err: error, topic, partition: index }, "transaction marker could not be written");
      continue;
    }
    const aborted = partition.txns.end(txn.producerId, committed, markerOffset);
    if (aborted !== null) {
      abortedRanges.push({
        kind: "aborted",
        topicId: partition.topic.id.toString("hex"),
        partition: index,
        ...aborted,
      });
    }
    partition.wakeWaiters();
  }
  if (committed) {
    const byGroup = new Map<string, PendingOffsetRecord[]>();
    for (const offset of txn.pendingOffsets.values()) {
      byGroup.set(offset.groupId, [...(byGroup.get(offset.groupId) ?? []), offset]);
    }
    for (const [groupId, offsets] of byGroup) {
      deps.groups.commitTransactionalOffsets(
        groupId,
        offsets.map(({ topic, partition, offset, leaderEpoch, metadata }) => ({
          topic,
          partition,
          offset,
          leaderEpoch,
          metadata,
        })),
      );
    }
  }
  // Complete reaches the transaction log only once the markers and offsets are on disk (see markersDurable), so
  // that a recovery that finds it never needs them written again.
  txn.state = committed ? "CompleteCommit" : "CompleteAbort";
  txn.updateTimeMs = nowMs;
  return abortedRanges;
}

/** Resolves once the markers and committed offsets of these transactions are on disk. */
export async function markersDurable(txns: readonly TxnMetadata[], deps: MarkerWriterDeps): Promise<void> {
  const syncs: Array<Promise<void>> = [deps.groups.sync()];
  for (const txn of txns) {
    for (const { topic, partition } of txn.partitions.values()) {
      const log = deps.topics.partition(topic, partition)?.log;
      if (log !== undefined) syncs.push(log.sync());
    }
  }
  await Promise.all(syncs);
}
