// The filter's byte scanner against the client's full decoder: over plain and gzip batches, records before the
// start offset inside a batch, null keys and values, headers, JSON fields with and without characters JSON escapes,
// log-append time, a budget that cuts a batch, and corrupt bytes, it finds exactly what decoding every record and
// testing it would find.

import assert from "node:assert/strict";
import { test } from "node:test";

import { compileFilter, scanBatches, type SearchFilter } from "../../src/console/scan.js";
import { decodePartitionRecords } from "../../src/kafka/client/fetch/records.js";
import type { FetchedRecord } from "../../src/kafka/client/index.js";
import { CompressionCodec } from "../../src/kafka/protocol/compression/index.js";
import { buildRecordBatch, type RecordInput } from "../../src/kafka/protocol/record-batch.js";

const BASE_TIME = Date.UTC(2026, 0, 1);

function recordAt(index: number): RecordInput {
  return {
    key: index % 11 === 0 ? null : `user-${index % 13}`,
    value:
      index % 17 === 0
        ? null
        : JSON.stringify({ order: { id: `o-${index}`, note: index % 5 === 0 ? 'says "hi"' : "plain" }, n: index }),
    headers: index % 4 === 0 ? [{ key: "flag", value: index % 8 === 0 ? "red" : "blue" }] : [],
    timestamp: BASE_TIME + index * 10,
  };
}

/** Batches of 25 records from offset 0; every third is gzip, the fourth is stamped with log-append time. */
function partitionBytes(count: number): Buffer {
  const batches: Buffer[] = [];
  for (let base = 0; base < count; base += 25) {
    const records = Array.from({ length: Math.min(25, count - base) }, (_, index) => recordAt(base + index));
    batches.push(
      buildRecordBatch({
        records,
        baseOffset: base,
        compression: (base / 25) % 3 === 2 ? CompressionCodec.Gzip : CompressionCodec.None,
        ...(base === 75 ? { logAppendTime: BASE_TIME + 999_999 } : {}),
      }),
    );
  }
  return Buffer.concat(batches);
}

function naive(filter: SearchFilter, record: FetchedRecord): boolean {
  if (filter.key !== undefined && !(record.key?.includes(filter.key) ?? false)) return false;
  if (filter.value !== undefined && !(record.value?.includes(filter.value) ?? false)) return false;
  if (filter.header !== undefined) {
    const [name, wanted] = filter.header.split("=") as [string, string | undefined];
    const found = record.headers.some(
      (header) => header.key === name && (wanted === undefined || header.value?.toString() === wanted),
    );
    if (!found) return false;
  }
  if (filter.jsonPath !== undefined) {
    if (record.value === null) return false;
    let current: unknown = JSON.parse(record.value.toString());
    for (const name of filter.jsonPath.split(".")) current = (current as Record<string, unknown> | null)?.[name];
    if (current === undefined) return false;
    const text = typeof current === "string" ? current : JSON.stringify(current);
    if (filter.jsonEquals !== undefined && text !== filter.jsonEquals) return false;
  }
  return true;
}

const FILTERS: SearchFilter[] = [
  {},
  { value: "o-1" },
  { key: "user-3" },
  { key: "user-3", value: '"n":3' },
  { header: "flag" },
  { header: "flag=red", key: "user" },
  { jsonPath: "order.id", jsonEquals: "o-42" },
  { jsonPath: "order.note", jsonEquals: 'says "hi"' },
  { jsonPath: "n", jsonEquals: "77" },
  { jsonPath: "order.missing" },
  { value: "nowhere" },
];

test("the byte scanner finds what decoding every record finds", () => {
  const bytes = partitionBytes(200);
  const all = decodePartitionRecords("t", 0, 0, bytes, { readCommitted: false, abortedTransactions: null }).records;
  assert.equal(all.length, 200);
  for (const filter of FILTERS) {
    for (const [from, end] of [
      [0, 200],
      [13, 200],
      [30, 140],
      [199, 200],
    ] as const) {
      const found: FetchedRecord[] = [];
      const scan = scanBatches("t", 0, bytes, { from, end, budget: 1_000 }, compileFilter(filter), (record) => {
        found.push(record);
        return true;
      });
      const expected = all.filter((record) => record.offset >= from && record.offset < end && naive(filter, record));
      assert.deepEqual(found, expected, `filter ${JSON.stringify(filter)} over [${from}, ${end})`);
      assert.equal(scan.scanned, end - from);
      assert.equal(scan.next, end);
      assert.equal(scan.cut, false);
    }
  }
});

test("the byte scanner stops at its budget and at the caller's word, and says where to go on", () => {
  const bytes = partitionBytes(100);
  const none = compileFilter({ value: "nowhere" });
  const budgeted = scanBatches("t", 0, bytes, { from: 10, end: 100, budget: 30 }, none, () => true);
  assert.deepEqual(budgeted, { scanned: 30, next: 40, cut: true });

  const found: number[] = [];
  const stopped = scanBatches(
    "t",
    0,
    bytes,
    { from: 0, end: 100, budget: 1_000 },
    compileFilter({ key: "user-2" }),
    (r) => {
      found.push(r.offset);
      return found.length < 3;
    },
  );
  assert.deepEqual(found, [2, 15, 28]);
  assert.deepEqual(stopped, { scanned: 29, next: 29, cut: true });

  // A batch cut off at the fetch's byte limit is left for the next fetch.
  const cut = scanBatches(
    "t",
    0,
    bytes.subarray(0, bytes.length - 10),
    { from: 0, end: 100, budget: 1_000 },
    none,
    () => true,
  );
  assert.deepEqual(cut, { scanned: 75, next: 75, cut: false });
});

test("the byte scanner refuses corrupt batches with the client's error", () => {
  const bytes = partitionBytes(50);
  const corrupt = Buffer.from(bytes);
  corrupt[100] = corrupt[100]! ^ 0xff;
  assert.throws(
    () => scanBatches("t", 3, corrupt, { from: 0, end: 50, budget: 1_000 }, compileFilter({}), () => true),
    (error: Error & { code?: string }) =>
      error.code === "SLUICE_KAFKA_RECORDS_INVALID" && /t-3 .*fails its CRC/.test(error.message),
  );
});
