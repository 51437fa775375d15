// The log cleaner's worker thread on a log on disk: stopping the cleaner (as the broker does when it shuts down)
// while the worker is cleaning leaves the log whole, with no cleaned file left behind, and a log reopened afterwards
// holds every record it held, and a later cleaning finishes the work. The worker runs at a lower priority than the
// broker's thread.

import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { test } from "node:test";
import { PartitionLog } from "../../../src/broker/log/partition-log.js";
import { LogCleaner } from "../../../src/broker/log/log-cleaner.js";
import { LOG_CLEANER_THREAD_NICE } from "../../../src/broker/config.js";
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

/** The nice values of this process's threads, from /proc (Linux). */
function threadNiceValues(): number[] {
  return readdirSync("/proc/self/task").map((task) => {
    // The fields after the command name: state is the first, nice the 17th.
    const fields = readFileSync(`/proc/self/task/${task}/stat`, "utf8").split(") ")[1]!.split(" ");
    return Number(fields[16]);
  });
}

test("the cleaner's worker thread runs at a lower priority than the broker", async (t) => {
  if (process.platform !== "linux") {
    t.skip("thread priorities are read from /proc, which only Linux has");
    return;
  }
  const { dir, cleanup } = temporaryDir();
  t.after(cleanup);
  const clock = { ms: 1_700_000_000_000 };
  const log = compactedLog(dir, clock);
  for (let round = 0; round < 200; round++) {
    appendKeyed(
      log,
      Array.from({ length: 100 }, (_, key) => ({ key: `key-${key}`, value: `value-${round}` })),
      clock.ms,
    );
  }
  const before = threadNiceValues();
  assert.ok(!before.includes(LOG_CLEANER_THREAD_NICE), `no thread at nice ${LOG_CLEANER_THREAD_NICE} yet`);
  const cleaner = cleanerFor(log, clock);
  assert.equal(await cleaner.cleanNow(), 1);
  // The worker stays up, idle, between cleanings.
  const during = threadNiceValues();
  assert.equal(during.filter((nice) => nice === LOG_CLEANER_THREAD_NICE).length, 1, `thread nice values ${during}`);
  await cleaner.stop();
  await log.close();
});
