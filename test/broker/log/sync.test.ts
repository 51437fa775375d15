import assert from "node:assert/strict";
import { test } from "node:test";
import { pino } from "pino";
import { PartitionLog } from "../../../src/broker/log/partition-log.js";
import { baseConfig, produce, temporaryDir } from "./log-test-helpers.js";

const silent = pino({ level: "silent" });

test("concurrent sync() callers share fdatasyncs: one running, one queued for everyone who arrives meanwhile", async () => {
  const { dir, cleanup } = temporaryDir();
  const log = PartitionLog.open({ dir, config: baseConfig(), logger: silent });
  produce(log, { count: 3 });
  assert.equal(log.unsyncedBytes > 0, true);
  assert.equal(log.lastSyncedOffset, 0);

  const order: string[] = [];
  const first = log.sync().then(() => {
    order.push("first");
    // The first fdatasync covers only what was appended before it started.
    assert.equal(log.lastSyncedOffset, 3);
  });
  produce(log, { count: 2 });
  const waiting = Array.from({ length: 20 }, (_, i) =>
    log.sync().then(() => {
      order.push(`waiter${i}`);
      assert.equal(log.lastSyncedOffset, 5);
    }),
  );
  await Promise.all([first, ...waiting]);
  assert.equal(order[0], "first");
  assert.equal(log.syncCount, 2, "21 callers, two fdatasyncs");
  assert.equal(log.unsyncedBytes, 0);

  await log.sync();
  assert.equal(log.syncCount, 2, "nothing new appended, so nothing to sync");
  await log.close();
  cleanup();
});

test("a sync after a roll covers the sealed segment and the new one", async () => {
  const { dir, cleanup } = temporaryDir();
  const log = PartitionLog.open({ dir, config: baseConfig({ segmentBytesMax: 300 }), logger: silent });
  produce(log, { valueBytes: 200 });
  produce(log, { valueBytes: 200 });
  assert.equal(log.segmentCount, 2);
  await log.sync();
  assert.equal(log.syncCount, 2);
  assert.equal(log.lastSyncedOffset, 2);
  await log.close();
  cleanup();
});

test("a memory log has nothing to sync", async () => {
  const log = PartitionLog.open({ dir: null, config: baseConfig(), logger: silent });
  produce(log, { count: 4 });
  assert.equal(log.unsyncedBytes, 0);
  await log.sync();
  assert.equal(log.syncCount, 0);
  assert.equal(log.lastSyncedOffset, 4);
  await log.close();
  assert.throws(() => produce(log), /closed/);
});

test("close waits for pending data to be synced and delete removes the directory", async () => {
  const { dir, cleanup } = temporaryDir();
  const log = PartitionLog.open({ dir, config: baseConfig(), logger: silent });
  produce(log);
  await log.close();
  assert.equal(log.syncCount, 1);
  const reopened = PartitionLog.open({ dir, config: baseConfig(), logger: silent });
  assert.equal(reopened.logEndOffset, 1);
  await reopened.delete();
  const { existsSync } = await import("node:fs");
  assert.equal(existsSync(dir), false);
  cleanup();
});
