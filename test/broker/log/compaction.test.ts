// The log cleaner on real partition logs (on disk and in memory): the latest record of every key survives at its
// own offset, superseded records and whole batches go, tombstones stay for delete.retention.ms and then go,
// min.compaction.lag.ms and the active segment are left alone, and a cleaned log reopens the same.

import assert from "node:assert/strict";
import { test } from "node:test";
import { PartitionLog } from "../../../src/broker/log/partition-log.js";
import { LogCleaner } from "../../../src/broker/log/log-cleaner.js";
import { FileSegmentStorage } from "../../../src/broker/log/file-storage.js";
import { baseConfig, capturingLogger, temporaryDir } from "./log-test-helpers.js";
import { appendKeyed, latestByKey, readAll } from "./compaction-helpers.js";
import type { LogConfig } from "../../../src/broker/log/log-config.js";

const DAY_MS = 86_400_000;

function compactedLog(dir: string | null, clock: { ms: number }, overrides: Partial<LogConfig> = {}): PartitionLog {
  return PartitionLog.open({
    dir,
    config: baseConfig({ segmentBytesMax: 2048, compact: true, minCleanableDirtyRatio: 0.01, ...overrides }),
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

/** Writes `rounds` updates of `keys` keys in batches of `batchSize`, then one more record to seal the last segment. */
function writeUpdates(log: PartitionLog, clock: { ms: number }, rounds: number, keys: number, batchSize = 5): void {
  const records = [];
  for (let round = 0; round < rounds; round++) {
    for (let key = 0; key < keys; key++) records.push({ key: `key-${key}`, value: `value-${key}-${round}` });
  }
  for (let i = 0; i < records.length; i += batchSize) appendKeyed(log, records.slice(i, i + batchSize), clock.ms);
}

for (const storage of ["disk", "memory"] as const) {
  test(`${storage}: cleaning keeps the latest record of every key at its offset`, async (t) => {
    const { dir, cleanup } = temporaryDir();
    t.after(cleanup);
    const clock = { ms: 1_700_000_000_000 };
    const log = compactedLog(storage === "disk" ? dir : null, clock);
    writeUpdates(log, clock, 20, 10);
    const before = readAll(log);
    assert.ok(log.segmentCount > 3, `only ${log.segmentCount} segments`);
    const activeBase = log.segmentBaseOffsets().at(-1)!;

    const cleaner = cleanerFor(log, clock);
    assert.equal(await cleaner.cleanNow(), 1);
    const after = readAll(log);
    assert.ok(after.length < before.length / 2, `${after.length} of ${before.length} records left`);
    // Every key's latest record is there, at the offset it was written at.
    for (const [key, record] of latestByKey(before)) {
      assert.deepEqual(
        after.find((each) => each.offset === record.offset),
        record,
        `latest record of ${key} at offset ${record.offset}`,
      );
    }
    // Nothing is invented or reordered, and the active segment is untouched.
    // Below the active segment (all of it cleaned) no key has two records.
    const original = new Map(before.map((record) => [record.offset, record]));
    const latestCleaned = latestByKey(before.filter((record) => record.offset < activeBase));
    let previous = -1;
    for (const record of after) {
      assert.deepEqual(record, original.get(record.offset));
      assert.ok(record.offset > previous);
      previous = record.offset;
      if (record.offset < activeBase) {
        assert.equal(latestCleaned.get(record.key!)!.offset, record.offset, "a superseded record survived");
      }
    }
    assert.deepEqual(
      after.filter((record) => record.offset >= activeBase),
      before.filter((record) => record.offset >= activeBase),
    );
    assert.equal(log.logStartOffset, 0, "the log start stays where it was");
    assert.equal(log.logEndOffset, before.length);
    // A read from an offset compacted away answers with the next record kept.
    const firstGap = after.findIndex((record, i) => record.offset !== i);
    const gapOffset = firstGap === -1 ? 0 : firstGap;
    const fromGap = log.read(gapOffset, 1024 * 1024);
    assert.equal(fromGap.errorCode, 0);
    assert.ok(fromGap.records.length > 0);

    if (storage === "disk") {
      await log.close();
      const reopened = compactedLog(dir, clock);
      assert.deepEqual(readAll(reopened), after);
      assert.equal(reopened.logStartOffset, 0);
      assert.equal(reopened.logEndOffset, before.length);
      // Cleaning again with nothing new to clean changes nothing.
      assert.equal(await cleanerFor(reopened, clock).cleanNow(), 0);
      await reopened.close();
    } else {
      await log.close();
    }
  });
}

test("tombstones stay for delete.retention.ms after the cleaner reaches them, then go", async (t) => {
  const { dir, cleanup } = temporaryDir();
  t.after(cleanup);
  const clock = { ms: 1_700_000_000_000 };
  const log = compactedLog(dir, clock, { deleteRetentionMs: DAY_MS });
  writeUpdates(log, clock, 5, 10);
  appendKeyed(log, [{ key: "key-7", value: null }], clock.ms);
  writeUpdates(log, clock, 5, 4);
  const cleaner = cleanerFor(log, clock);
  await cleaner.cleanNow();
  let after = readAll(log);
  const tombstones = after.filter((record) => record.key === "key-7");
  assert.deepEqual(
    tombstones.map((record) => record.value),
    [null],
    "only the tombstone of key-7 remains",
  );

  clock.ms += DAY_MS - 1;
  writeUpdates(log, clock, 5, 4);
  await cleaner.cleanNow();
  after = readAll(log);
  assert.equal(after.filter((record) => record.key === "key-7").length, 1, "the tombstone stays within the day");

  clock.ms += 2;
  await cleaner.cleanNow();
  after = readAll(log);
  assert.equal(after.filter((record) => record.key === "key-7").length, 0, "the tombstone is gone after a day");
  for (const key of ["key-0", "key-5", "key-9"]) assert.ok(after.some((record) => record.key === key));
  await log.close();
});

test("records younger than min.compaction.lag.ms are not compacted", async (t) => {
  const clock = { ms: 1_700_000_000_000 };
  const log = compactedLog(null, clock, { minCompactionLagMs: 60_000 });
  t.after(() => log.close());
  writeUpdates(log, clock, 40, 5);
  const before = readAll(log);
  const cleaner = cleanerFor(log, clock);
  assert.equal(await cleaner.cleanNow(), 0, "nothing is old enough");
  assert.deepEqual(readAll(log), before);

  clock.ms += 60_001;
  assert.equal(await cleaner.cleanNow(), 1);
  assert.ok(readAll(log).length < before.length);
});

test("a log below min.cleanable.dirty.ratio waits; compact off never cleans", async (t) => {
  const clock = { ms: 1_700_000_000_000 };
  const log = compactedLog(null, clock, { minCleanableDirtyRatio: 0.9 });
  t.after(() => log.close());
  writeUpdates(log, clock, 40, 5);
  const cleaner = cleanerFor(log, clock);
  assert.equal(await cleaner.cleanNow(), 1, "a never-cleaned log is all dirty");
  writeUpdates(log, clock, 1, 5);
  assert.equal(await cleaner.cleanNow(), 0, "a little new data is below the ratio");

  const plain = compactedLog(null, clock, { compact: false });
  t.after(() => plain.close());
  writeUpdates(plain, clock, 40, 5);
  assert.equal(await cleanerFor(plain, clock).cleanNow(), 0);
});

test("a small dedupe buffer cleans the log in several passes", async (t) => {
  const clock = { ms: 1_700_000_000_000 };
  const log = compactedLog(null, clock);
  t.after(() => log.close());
  writeUpdates(log, clock, 6, 200);
  const before = readAll(log);
  // Room for about 135 keys: two segments' worth of the dirty part per cleaning.
  const cleaner = new LogCleaner({
    logs: () => [{ log, topic: "t", partition: 0 }],
    logger: capturingLogger().logger,
    now: () => clock.ms,
    dedupeBufferBytes: 24 * 150,
  });
  let passes = 0;
  while ((await cleaner.cleanNow()) > 0) passes++;
  assert.ok(passes > 1, `${passes} passes`);
  const after = readAll(log);
  const activeBase = log.segmentBaseOffsets().at(-1)!;
  const latest = latestByKey(before);
  const latestCleaned = latestByKey(before.filter((record) => record.offset < activeBase));
  for (const record of after) {
    if (record.offset < activeBase) assert.equal(latestCleaned.get(record.key!)!.offset, record.offset);
  }
  for (const record of latest.values()) assert.ok(after.some((each) => each.offset === record.offset));
});

/** Disk storage that fails every file operation from the `failAt`-th rename or removal on, like a crash there. */
class CrashingStorage extends FileSegmentStorage {
  operations = 0;
  failAt = Number.POSITIVE_INFINITY;

  private step(): void {
    if (++this.operations >= this.failAt) throw new Error("crash");
  }

  override rename(from: string, to: string): void {
    this.step();
    super.rename(from, to);
  }

  override remove(name: string): void {
    this.step();
    super.remove(name);
  }

  override removeInBackground(name: string): void {
    this.step();
    super.removeInBackground(name);
  }
}

test("a crash at any step of a swap leaves a log that reopens with every key's latest record", async (t) => {
  const clock = { ms: 1_700_000_000_000 };
  const config = baseConfig({ segmentBytesMax: 2048, compact: true, minCleanableDirtyRatio: 0.01 });
  let expectedAfter: ReturnType<typeof readAll> | null = null;
  for (let failAt = 1; ; failAt++) {
    const { dir, cleanup } = temporaryDir();
    t.after(cleanup);
    const storage = new CrashingStorage(dir);
    const log = PartitionLog.open({ dir, storage, config, logger: capturingLogger().logger, now: () => clock.ms });
    writeUpdates(log, clock, 20, 10);
    const before = readAll(log);
    storage.operations = 0;
    storage.failAt = failAt;
    const cleaner = cleanerFor(log, clock);
    const cleaned = await cleaner.cleanNow();
    // The "crashed" log is abandoned as it is; its files are opened afresh, as after a restart.
    const reopened = compactedLog(dir, clock);
    const after = readAll(reopened);
    const latest = latestByKey(before);
    for (const record of latest.values()) assert.ok(after.some((each) => each.offset === record.offset));
    const original = new Map(before.map((record) => [record.offset, record]));
    for (const record of after) assert.deepEqual(record, original.get(record.offset));
    assert.equal(reopened.logEndOffset, before.length);
    assert.equal(reopened.logStartOffset, 0);
    // Cleaning the reopened log reaches the same end state whatever step the crash hit.
    await cleanerFor(reopened, clock).cleanNow();
    const final = readAll(reopened);
    expectedAfter ??= final;
    assert.deepEqual(final, expectedAfter, `crash at file operation ${failAt}`);
    await reopened.close();
    if (cleaned === 1 && storage.operations < failAt) break;
    assert.ok(failAt < 500, "the cleaning never completed");
  }
});

test("DeleteRecords during a cleaning stops it; the log stays whole and a later cleaning finishes", async (t) => {
  const { dir, cleanup } = temporaryDir();
  t.after(cleanup);
  const clock = { ms: 1_700_000_000_000 };
  const log = compactedLog(dir, clock, { segmentBytesMax: 16 * 1024 });
  writeUpdates(log, clock, 200, 50, 20);
  const before = readAll(log);
  const cleaner = cleanerFor(log, clock);
  const cleaning = cleaner.cleanNow();
  // Let the cleaner take its first slices, then move the log start past the first segment.
  await new Promise((resolve) => setImmediate(resolve));
  const cut = log.segmentBaseOffsets()[1]!;
  assert.equal(log.deleteRecordsBefore(cut).errorCode, 0);
  await cleaning;
  assert.equal(cleaner.stats.runs, 0, "the cleaning stopped at the removal instead of finishing");
  const after = readAll(log);
  const original = new Map(before.map((record) => [record.offset, record]));
  for (const record of after) assert.deepEqual(record, original.get(record.offset));
  const kept = new Set(after.map((record) => record.offset));
  for (const record of latestByKey(before).values()) {
    if (record.offset >= cut) assert.ok(kept.has(record.offset), `latest record of ${record.key}`);
  }
  assert.equal(log.logStartOffset, cut);
  // The next cleaning completes the work.
  await cleaner.cleanNow();
  const activeBase = log.segmentBaseOffsets().at(-1)!;
  const cleaned = readAll(log).filter((record) => record.offset < activeBase);
  assert.equal(new Set(cleaned.map((record) => record.key)).size, cleaned.length);
  await log.close();
});
