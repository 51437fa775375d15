// The log cleaner's I/O limit (log.cleaner.io.max.bytes.per.second), in its worker thread (a log on disk) and on
// the broker's thread (a log in memory): a cleaning that moves B bytes at a limit of L bytes a second takes at least
// B / L seconds. That is a lower bound on the duration, which a loaded machine only makes easier to meet. A limit of
// 0 holds a cleaning, and raising it at run time lets the cleaning in progress finish.

import assert from "node:assert/strict";
import { performance } from "node:perf_hooks";
import { test } from "node:test";
import { PartitionLog } from "../../../src/broker/log/partition-log.js";
import { LogCleaner } from "../../../src/broker/log/log-cleaner.js";
import { LOG_CLEANER_IO_BYTES_PER_SECOND_MAX } from "../../../src/broker/config.js";
import { baseConfig, capturingLogger, temporaryDir } from "./log-test-helpers.js";
import { appendKeyed, latestByKey, readAll } from "./compaction-helpers.js";

const LIMIT_BYTES_PER_SECOND = 2 * 1024 * 1024;

function dirtyLog(dir: string | null, clock: { ms: number }): PartitionLog {
  const log = PartitionLog.open({
    dir,
    config: baseConfig({ segmentBytesMax: 64 * 1024, compact: true, minCleanableDirtyRatio: 0.01 }),
    logger: capturingLogger().logger,
    now: () => clock.ms,
  });
  for (let round = 0; round < 200; round++) {
    const records = Array.from({ length: 100 }, (_, key) => ({ key: `key-${key}`, value: `value-${key}-${round}` }));
    for (let i = 0; i < records.length; i += 20) appendKeyed(log, records.slice(i, i + 20), clock.ms);
  }
  return log;
}

function cleanerFor(log: PartitionLog, clock: { ms: number }, ioBytesPerSecondMax: number): LogCleaner {
  return new LogCleaner({
    logs: () => [{ log, topic: "t", partition: 0 }],
    logger: capturingLogger().logger,
    now: () => clock.ms,
    ioBytesPerSecondMax,
  });
}

/** Stops the cleaner, then closes the log, then removes its directory, in that order. */
async function closeAll(cleaner: LogCleaner, log: PartitionLog, cleanup: () => void): Promise<void> {
  await cleaner.stop();
  await log.close();
  cleanup();
}

for (const where of ["worker thread (disk)", "broker's thread (memory)"] as const) {
  test(`the ${where} cleaner moves no more than its I/O limit a second`, async (t) => {
    const { dir, cleanup } = temporaryDir();
    const clock = { ms: 1_700_000_000_000 };
    const log = dirtyLog(where === "worker thread (disk)" ? dir : null, clock);
    const latest = latestByKey(readAll(log));
    const cleaner = cleanerFor(log, clock, LIMIT_BYTES_PER_SECOND);
    t.after(() => closeAll(cleaner, log, cleanup));

    const startedMs = performance.now();
    assert.equal(await cleaner.cleanNow(), 1);
    const elapsedMs = performance.now() - startedMs;
    const movedBytes = cleaner.stats.bytesRead + cleaner.stats.bytesWritten;
    // Enough bytes that an unthrottled cleaning (tens of milliseconds) would be well under the bound.
    assert.ok(movedBytes >= LIMIT_BYTES_PER_SECOND / 4, `moved ${movedBytes} bytes`);
    const floorMs = (movedBytes / LIMIT_BYTES_PER_SECOND) * 1000;
    assert.ok(elapsedMs >= floorMs, `${movedBytes} bytes took ${elapsedMs.toFixed(0)} ms, under ${floorMs.toFixed(0)}`);
    // The throttled cleaning is still a full cleaning.
    const offsets = new Set(readAll(log).map((record) => record.offset));
    for (const record of latest.values()) assert.ok(offsets.has(record.offset), `latest record of ${record.key}`);
  });
}

test("a limit of 0 holds the worker's cleaning; raising it at run time lets that cleaning finish", async (t) => {
  const { dir, cleanup } = temporaryDir();
  const clock = { ms: 1_700_000_000_000 };
  const log = dirtyLog(dir, clock);
  const cleaner = cleanerFor(log, clock, 0);
  t.after(() => closeAll(cleaner, log, cleanup));

  const cleaning = cleaner.cleanNow();
  while (!log.cleaning) await new Promise((resolve) => setImmediate(resolve));
  // However long this wait, a cleaning held at 0 bytes a second cannot have finished.
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.equal(cleaner.stats.runs, 0, "the cleaning is held");
  cleaner.setIoBytesPerSecondMax(LOG_CLEANER_IO_BYTES_PER_SECOND_MAX);
  assert.equal(await cleaning, 1);
  assert.equal(cleaner.stats.runs, 1);
});
