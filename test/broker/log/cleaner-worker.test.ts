// The log cleaner's worker thread on a log on disk: stopping the cleaner (as the broker does when it shuts down)
// while the worker is cleaning leaves the log whole, with no cleaned file left behind, and a log reopened afterwards
// holds every record it held, and a later cleaning finishes the work.

import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { test } from "node:test";
import { PartitionLog } from "../../../src/broker/log/partition-log.js";
import { LogCleaner } from "../../../src/broker/log/log-cleaner.js";
import { baseConfig, capturingLogger, temporaryDir } from "./log-test-helpers.js";
import { appendKeyed, latestByKey, readAll } from "./compaction-helpers.js";

function compactedLog(dir: string, clock: { ms: number }): PartitionLog {
  return PartitionLog.open({
    dir,
    config: baseConfig({ segmentBytesMax: 64 * 1024, compact: true, minCleanableDirtyRatio: 0.01 }),
    logger: capturingLogger().logger,
    now: () => clock.ms,
  });
}

function cleanerFor(log: PartitionLog, clock: { ms: number }): LogCleaner {
  return new LogCleaner({
    logs: () => [{ log, topic: "t", partition: 0 }],
    logger: capturingLogger().logger,
    now: () => clock.ms,
  });
}

test("stopping the cleaner mid-cleaning in its worker leaves the log whole; a later cleaning finishes", async (t) => {
  const { dir, cleanup } = temporaryDir();
  t.after(cleanup);
  const clock = { ms: 1_700_000_000_000 };
  let log = compactedLog(dir, clock);
  for (let round = 0; round < 200; round++) {
    const records = Array.from({ length: 100 }, (_, key) => ({ key: `key-${key}`, value: `value-${key}-${round}` }));
    for (let i = 0; i < records.length; i += 20) appendKeyed(log, records.slice(i, i + 20), clock.ms);
  }
  const before = readAll(log);
  const original = new Map(before.map((record) => [record.offset, record]));
  const latest = latestByKey(before);

  const stopping = cleanerFor(log, clock);
  const cleaning = stopping.cleanNow();
  while (!log.cleaning) await new Promise((resolve) => setImmediate(resolve));
  await stopping.stop();
  await cleaning;
  const leftovers = readdirSync(dir).filter((name) => name.endsWith(".cleaned"));
  assert.deepEqual(leftovers, [], "a stopped cleaning removes the segment it was writing");
  // Whatever the stop interrupted, every record still there is one that was written, and every key's latest is there.
  const check = (records: ReturnType<typeof readAll>) => {
    for (const record of records) assert.deepEqual(record, original.get(record.offset));
    const offsets = new Set(records.map((record) => record.offset));
    for (const record of latest.values()) assert.ok(offsets.has(record.offset), `latest record of ${record.key}`);
  };
  check(readAll(log));
  await log.close();

  log = compactedLog(dir, clock);
  check(readAll(log));
  const cleaner = cleanerFor(log, clock);
  await cleaner.cleanNow();
  await cleaner.stop();
  const activeBase = log.segmentBaseOffsets().at(-1)!;
  const cleaned = readAll(log).filter((record) => record.offset < activeBase);
  assert.equal(new Set(cleaned.map((record) => record.key)).size, cleaned.length, "one record per key is left");
  check(readAll(log));
  await log.close();
});
