// A transactional id's state as the coordinator holds it in memory, and its conversion to and from the transaction
// log's records.

import type { PendingOffsetRecord, TxnMetadataRecord, TxnPartitionRecord, TxnState } from "./log-records.js";

export interface TxnMetadata {
  readonly transactionalId: string;
  producerId: number;
  producerEpoch: number;
  timeoutMs: number;
  state: TxnState;
  /** By "topic:partition". */
  partitions: Map<string, TxnPartitionRecord>;
  groups: Set<string>;
  /** By "group:topic:partition". */
  pendingOffsets: Map<string, PendingOffsetRecord>;
  startTimeMs: number;
  updateTimeMs: number;
}

export function partitionKey(topic: string, partition: number): string {
  return `${topic}:${partition}`;
}

export function isComplete(state: TxnState): boolean {
  return state === "CompleteCommit" || state === "CompleteAbort";
}

export function isPrepared(state: TxnState): boolean {
  return state === "PrepareCommit" || state === "PrepareAbort";
}

export function toRecord(txn: TxnMetadata): TxnMetadataRecord {
  return {
    kind: "txn",
    transactionalId: txn.transactionalId,
    producerId: txn.producerId,
    producerEpoch: txn.producerEpoch,
    timeoutMs: txn.timeoutMs,
    state: txn.state,
    partitions: [...txn.partitions.values()],
    groups: [...txn.groups],
    pendingOffsets: [...txn.pendingOffsets.values()],
    startTimeMs: txn.startTimeMs,
    updateTimeMs: txn.updateTimeMs,
  };
}

export function fromRecord(record: TxnMetadataRecord): TxnMetadata {
  return {
    transactionalId: record.transactionalId,
    producerId: record.producerId,
    producerEpoch: record.producerEpoch,
    timeoutMs: record.timeoutMs,
    state: record.state,
    partitions: new Map(record.partitions.map((p) => [partitionKey(p.topic, p.partition), p])),
    groups: new Set(record.groups),
    pendingOffsets: new Map(
      record.pendingOffsets.map((o) => [`${o.groupId}:${partitionKey(o.topic, o.partition)}`, o]),
    ),
    startTimeMs: record.startTimeMs,
    updateTimeMs: record.updateTimeMs,
  };
}
