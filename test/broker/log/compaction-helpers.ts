// Shared pieces of the compaction tests: producing keyed records straight into a partition log, reading the whole
// log back record by record, and the model of what compaction must keep.

import assert from "node:assert/strict";
import {
  buildRecordBatch,
  decodeRecordBatch,
  validateProducedBatch,
} from "../../../src/kafka/protocol/record-batch.js";
import { iterateBatches } from "../../../src/kafka/protocol/record-batch.js";
import type { PartitionLog } from "../../../src/broker/log/partition-log.js";
import { MESSAGE_BYTES_MAX } from "./log-test-helpers.js";

export interface KeyedRecord {
  key: string;
  value: string | null;
  timestamp?: number;
}

export interface StoredRecord {
  offset: number;
  key: string | null;
  value: string | null;
  timestamp: number;
}

/** Appends one batch of keyed records the way the Produce handler does; returns its base offset. */
export function appendKeyed(log: PartitionLog, records: readonly KeyedRecord[], timestamp = Date.now()): number {
  const batch = buildRecordBatch({
    records: records.map((record) => ({
      key: record.key,
      value: record.value,
      timestamp: record.timestamp ?? timestamp,
    })),
    timestamp,
  });
  const validation = validateProducedBatch(batch, MESSAGE_BYTES_MAX);
  assert.ok("header" in validation, "test batch should be valid");
  return log.append(batch, validation.header).baseOffset;
}

/** Every record from the log start to the end, as a consumer fetching from the start would see them. */
export function readAll(log: PartitionLog): StoredRecord[] {
  const records: StoredRecord[] = [];
  let offset = log.logStartOffset;
  while (offset < log.logEndOffset) {
    const read = log.read(offset, 1024 * 1024);
    assert.equal(read.errorCode, 0);
    if (read.records.length === 0) break;
    let next = offset;
    for (const { bytes } of iterateBatches(read.records)) {
      const batch = decodeRecordBatch(bytes);
      next = batch.header.baseOffset + batch.header.lastOffsetDelta + 1;
      for (const record of batch.records) {
        if (record.offset < offset) continue;
        records.push({
          offset: record.offset,
          key: record.key?.toString("utf8") ?? null,
          value: record.value?.toString("utf8") ?? null,
          timestamp: record.timestamp,
        });
      }
    }
    assert.ok(next > offset, `reading from ${offset} made no progress`);
    offset = next;
  }
  return records;
}

/** The latest record of every key, by offset: what compaction must keep (tombstones included until removed). */
export function latestByKey(records: readonly StoredRecord[]): Map<string, StoredRecord> {
  const latest = new Map<string, StoredRecord>();
  for (const record of records) if (record.key !== null) latest.set(record.key, record);
  return latest;
}
