// Committed offsets and group existence on disk: real files in a temp dir, closed and reloaded by a new
// coordinator, with torn and corrupt tails, rewrites of a grown file, and group commit of concurrent syncs.

import assert from "node:assert/strict";
import { appendFileSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test, type TestContext } from "node:test";
import { ErrorCode } from "../../../src/kafka/protocol/error-codes.js";
import { GROUP_LOG_DIRECTORY, GROUP_LOG_FILE } from "../../../src/broker/group/coordinator.js";
import { crc32c } from "../../../src/kafka/protocol/crc32c.js";
import { decodeGroupLog, encodeGroupLogRecord } from "../../../src/broker/group/log-records.js";
import type { GroupCoordinator } from "../../../src/broker/group/coordinator.js";
import { harness, joinInput, temporaryDir, type HarnessOptions } from "./harness.js";

async function open(t: TestContext, dataDir: string, options: HarnessOptions = {}): Promise<GroupCoordinator> {
  const { coordinator } = harness(t, { dataDir, ...options });
  await coordinator.load();
  return coordinator;
}

function commit(coordinator: GroupCoordinator, groupId: string, partition: number, offset: number): number {
  const [result] = coordinator.commitOffsets({
    groupId,
    generationId: -1,
    memberId: "",
    groupInstanceId: null,
    offsets: [{ topic: "orders", partition, offset, leaderEpoch: 2, metadata: `at ${offset}` }],
  });
  return result!.errorCode;
}

function committed(coordinator: GroupCoordinator, groupId: string): Array<[number, number]> {
  const topic = coordinator.fetchOffsets(groupId, null).topics.find((each) => each.topic === "orders");
  return (topic?.partitions ?? []).map((partition) => [partition.partition, partition.offset]);
}

function logPath(dataDir: string): string {
  return join(dataDir, GROUP_LOG_DIRECTORY, GROUP_LOG_FILE);
}

test("committed offsets and groups survive close and load", async (t) => {
  const dataDir = temporaryDir(t);
  const first = await open(t, dataDir);
  assert.equal(commit(first, "billing", 0, 10), ErrorCode.NONE);
  assert.equal(commit(first, "billing", 1, 20), ErrorCode.NONE);
  assert.equal(commit(first, "billing", 0, 11), ErrorCode.NONE);
  assert.equal(commit(first, "audit", 2, 7), ErrorCode.NONE);
  const joined = await first.joinGroup(joinInput("live"));
  assert.equal(joined.generationId, 1);
  assert.deepEqual(first.deleteGroups(["audit"]), [{ groupId: "audit", errorCode: ErrorCode.NONE }]);
  await first.sync();
  await first.close();

  const second = await open(t, dataDir);
  assert.deepEqual(committed(second, "billing"), [
    [0, 11],
    [1, 20],
  ]);
  const fetched = second.fetchOffsets("billing", [{ topic: "orders", partitions: [1] }]);
  assert.deepEqual(fetched.topics[0]!.partitions[0], {
    partition: 1,
    offset: 20,
    leaderEpoch: 2,
    metadata: "at 20",
    errorCode: ErrorCode.NONE,
  });
  assert.deepEqual(committed(second, "audit"), []);
  assert.equal(second.groupState("audit"), "Dead");
  // The group that had members comes back empty, keeping its generation so the next one is newer.
  const live = second.describeGroup("live");
  assert.equal(live.state, "Empty");
  assert.equal(live.protocolType, "consumer");
  const rejoined = await second.joinGroup(joinInput("live"));
  assert.equal(rejoined.generationId, 2);
});

test("a coordinator with a data dir answers COORDINATOR_LOAD_IN_PROGRESS until loaded", async (t) => {
  const dataDir = temporaryDir(t);
  const { coordinator } = harness(t, { dataDir });
  assert.equal(commit(coordinator, "g", 0, 1), ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
  assert.equal((await coordinator.joinGroup(joinInput("g"))).errorCode, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
  await coordinator.load();
  assert.equal(commit(coordinator, "g", 0, 1), ErrorCode.NONE);
});

test("a torn tail is cut off on load and later records land after the cut", async (t) => {
  const dataDir = temporaryDir(t);
  const first = await open(t, dataDir);
  commit(first, "g", 0, 1);
  commit(first, "g", 1, 2);
  await first.sync();
  await first.close();
  const intactBytes = statSync(logPath(dataDir)).size;

  // A crash in the middle of writing the next record leaves only its first bytes behind.
  const next = encodeGroupLogRecord({
    kind: "offset",
    groupId: "g",
    topic: "orders",
    partition: 2,
    offset: 3,
    leaderEpoch: -1,
    metadata: null,
    commitTimestampMs: 0,
  });
  appendFileSync(logPath(dataDir), next.subarray(0, next.length - 3));

  const second = await open(t, dataDir);
  assert.deepEqual(committed(second, "g"), [
    [0, 1],
    [1, 2],
  ]);
  assert.equal(statSync(logPath(dataDir)).size, intactBytes, "the torn record is truncated away");
  commit(second, "g", 2, 30);
  await second.sync();
  await second.close();

  const third = await open(t, dataDir);
  assert.deepEqual(committed(third, "g"), [
    [0, 1],
    [1, 2],
    [2, 30],
  ]);
});

test("a record whose checksum does not match ends the log there", async (t) => {
  const dataDir = temporaryDir(t);
  const first = await open(t, dataDir);
  commit(first, "g", 0, 1);
  await first.sync();
  const afterFirst = statSync(logPath(dataDir)).size;
  commit(first, "g", 0, 2);
  await first.sync();
  await first.close();

  const bytes = readFileSync(logPath(dataDir));
  bytes[bytes.length - 1] ^= 0xff;
  writeFileSync(logPath(dataDir), bytes);
  const second = await open(t, dataDir);
  assert.deepEqual(committed(second, "g"), [[0, 1]]);
  assert.equal(statSync(logPath(dataDir)).size, afterFirst);
});

test("a record with a good checksum but an unknown format is refused with a clear error, not truncated", async (t) => {
  const dataDir = temporaryDir(t);
  const first = await open(t, dataDir);
  commit(first, "g", 0, 1);
  await first.close();
  const payload = Buffer.from([9, 1, 2, 3]);
  const frame = Buffer.alloc(8 + payload.length);
  frame.writeUInt32BE(payload.length, 0);
  frame.writeUInt32BE(crc32c(payload), 4);
  payload.copy(frame, 8);
  appendFileSync(logPath(dataDir), frame);
  const sizeBefore = statSync(logPath(dataDir)).size;

  const { coordinator } = harness(t, { dataDir });
  await assert.rejects(coordinator.load(), /format version 9/);
  assert.equal(statSync(logPath(dataDir)).size, sizeBefore);
});

test("a grown log is rewritten with only live records, on load and while running", async (t) => {
  const dataDir = temporaryDir(t);
  const compactBytesMin = 2048;
  const first = await open(t, dataDir, { limits: { offsetLogCompactBytesMin: 1024 * 1024 } });
  for (let offset = 0; offset < 300; offset++) commit(first, "g", offset % 2, offset);
  await first.close();
  const grownBytes = statSync(logPath(dataDir)).size;
  assert.ok(grownBytes > 10_000, `300 records take ${grownBytes} bytes`);

  const second = await open(t, dataDir, { limits: { offsetLogCompactBytesMin: compactBytesMin } });
  const compactedBytes = statSync(logPath(dataDir)).size;
  assert.ok(compactedBytes < 300, `rewritten to ${compactedBytes} bytes`);
  assert.deepEqual(committed(second, "g"), [
    [0, 298],
    [1, 299],
  ]);
  const { records } = decodeGroupLog(readFileSync(logPath(dataDir)));
  assert.deepEqual(records.map((record) => record.kind).sort(), ["group", "offset", "offset"]);

  // While running, the file never grows far past the threshold however many commits arrive.
  let largestBytes = 0;
  for (let offset = 300; offset < 600; offset++) {
    commit(second, "g", offset % 2, offset);
    await second.sync();
    largestBytes = Math.max(largestBytes, statSync(logPath(dataDir)).size);
  }
  assert.ok(largestBytes < 2 * compactBytesMin, `largest file was ${largestBytes} bytes`);
  await second.close();
  const third = await open(t, dataDir);
  assert.deepEqual(committed(third, "g"), [
    [0, 598],
    [1, 599],
  ]);
});

test("concurrent syncs resolve only once every commit before them is in the file", async (t) => {
  const dataDir = temporaryDir(t);
  const coordinator = await open(t, dataDir);
  const syncs: Array<Promise<void>> = [];
  for (let i = 0; i < 100; i++) {
    commit(coordinator, `group-${i % 7}`, i % 3, i);
    syncs.push(coordinator.sync());
  }
  await Promise.all(syncs);
  // Read the file while the coordinator is still open: what sync() acknowledged must already be there.
  const { records, validBytes } = decodeGroupLog(readFileSync(logPath(dataDir)));
  assert.equal(validBytes, statSync(logPath(dataDir)).size);
  const offsets = records.filter((record) => record.kind === "offset");
  assert.equal(offsets.length, 100);
  assert.deepEqual(
    offsets.map((record) => (record.kind === "offset" ? record.offset : -1)),
    Array.from({ length: 100 }, (_, i) => i),
  );
});

test("every cut of a log decodes to the records wholly before the cut", () => {
  const frames = [0, 1, 2, 3].map((i) =>
    encodeGroupLogRecord(
      i % 2 === 0
        ? { kind: "group", groupId: `g${i}`, protocolType: i === 0 ? null : "consumer", generationId: i }
        : { kind: "offset-deleted", groupId: `g${i}`, topic: "orders", partition: i },
    ),
  );
  const whole = Buffer.concat(frames);
  const boundaries = frames.reduce<number[]>((ends, frame) => [...ends, (ends.at(-1) ?? 0) + frame.length], []);
  for (let cut = 0; cut <= whole.length; cut++) {
    const { records, validBytes } = decodeGroupLog(whole.subarray(0, cut));
    const complete = boundaries.filter((end) => end <= cut);
    assert.equal(records.length, complete.length, `cut at ${cut}`);
    assert.equal(validBytes, complete.at(-1) ?? 0);
  }
  const { records } = decodeGroupLog(whole);
  assert.deepEqual(records[0], { kind: "group", groupId: "g0", protocolType: null, generationId: 0 });
  assert.deepEqual(records[3], { kind: "offset-deleted", groupId: "g3", topic: "orders", partition: 3 });
});
