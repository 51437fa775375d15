import assert from "node:assert/strict";
import { appendFileSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { pino } from "pino";
import { readBatchHeader } from "../../../src/kafka/protocol/record-batch.js";
import { PartitionLog } from "../../../src/broker/log/partition-log.js";
import { baseConfig, capturingLogger, produce, temporaryDir } from "./log-test-helpers.js";

const silent = pino({ level: "silent" });
const CONFIG = baseConfig({ segmentBytesMax: 4000, indexIntervalBytes: 300 });

interface Written {
  dir: string;
  cleanup: () => void;
  batches: { base: number; last: number; bytes: Buffer }[];
  activeFile: string;
  /** Where each batch of the active segment starts in its file. */
  activePositions: number[];
  activeBase: number;
}

/** Writes a log with a few sealed segments and a populated active segment, then closes it. */
async function writeLog(batchCount: number): Promise<Written> {
  const { dir, cleanup } = temporaryDir();
  const log = PartitionLog.open({ dir, config: CONFIG, logger: silent });
  const batches: Written["batches"] = [];
  for (let i = 0; i < batchCount; i++) {
    const count = 1 + (i % 4);
    const { baseOffset, batch } = produce(log, { count, valueBytes: 20 + (i % 7) * 15 });
    batches.push({ base: baseOffset, last: baseOffset + count - 1, bytes: Buffer.from(batch) });
  }
  const activeBase = log.segmentBaseOffsets().at(-1)!;
  await log.close();
  const activeBatches = batches.filter((batch) => batch.base >= activeBase);
  const activePositions: number[] = [];
  let position = 0;
  for (const batch of activeBatches) {
    activePositions.push(position);
    position += batch.bytes.length;
  }
  const activeFile = join(dir, `${String(activeBase).padStart(20, "0")}.log`);
  assert.equal(statSync(activeFile).size, position);
  return { dir, cleanup, batches, activeFile, activePositions, activeBase };
}

/** Asserts the log holds exactly the first `keep` batches written, byte for byte. */
function assertHoldsPrefix(log: PartitionLog, written: Written, keep: number): void {
  const expected = written.batches.slice(0, keep);
  const end = keep === 0 ? 0 : expected[keep - 1]!.last + 1;
  assert.equal(log.logEndOffset, end);
  for (const batch of expected) {
    for (let offset = batch.base; offset <= batch.last; offset++) {
      assert.deepEqual(log.read(offset, 1).records, batch.bytes, `offset ${offset}`);
    }
  }
  assert.equal(log.read(end, 1000).records.length, 0);
}

test("recovery truncates a torn tail at every cut point and keeps every whole batch before it", async () => {
  const written = await writeLog(60);
  const activeBatchCount = written.activePositions.length;
  assert.ok(written.activeBase > 0 && activeBatchCount >= 3, "the log needs sealed segments and a busy active one");
  const firstActiveIndex = written.batches.length - activeBatchCount;
  const original = readFileSync(written.activeFile);
  const lastStart = written.activePositions.at(-1)!;
  // Cuts inside the last batch's header, inside its records, one byte short, and inside an earlier batch.
  const cuts = [lastStart + 5, lastStart + 40, lastStart + 61, original.length - 1, written.activePositions[1]! + 70];
  for (const [i, cut] of cuts.entries()) {
    writeFileSync(written.activeFile, original);
    truncateSync(written.activeFile, cut);
    const captured = capturingLogger();
    const log = PartitionLog.open({ dir: written.dir, config: CONFIG, logger: captured.logger });
    const survivingInActive = written.activePositions.filter(
      (start, i) => start + written.batches[firstActiveIndex + i]!.bytes.length <= cut,
    ).length;
    assertHoldsPrefix(log, written, firstActiveIndex + survivingInActive);
    const keptBytes = written.activePositions[survivingInActive] ?? original.length;
    const warning = captured.entries.find((entry) => entry.msg === "truncating damaged log segment tail");
    assert.ok(warning !== undefined, "recovery should log what it dropped");
    assert.equal(warning.file, `${String(written.activeBase).padStart(20, "0")}.log`);
    assert.equal(warning.position, keptBytes);
    assert.equal(warning.droppedBytes, cut - keptBytes);
    assert.equal(warning.level, 40);
    assert.equal(statSync(written.activeFile).size, keptBytes);
    if (i === cuts.length - 1) {
      // The log carries on from the truncation point (only once: appending may roll a new segment file).
      const end = log.logEndOffset;
      assert.equal(produce(log).baseOffset, end);
    }
    await log.close();
  }
  written.cleanup();
});

test("recovery drops garbage appended after the last batch", async () => {
  const written = await writeLog(40);
  const sizeBefore = statSync(written.activeFile).size;
  let seed = 99;
  const garbage = Buffer.alloc(500);
  for (let i = 0; i < garbage.length; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    garbage[i] = seed >>> 24;
  }
  appendFileSync(written.activeFile, garbage);
  const captured = capturingLogger();
  const log = PartitionLog.open({ dir: written.dir, config: CONFIG, logger: captured.logger });
  assertHoldsPrefix(log, written, written.batches.length);
  assert.equal(statSync(written.activeFile).size, sizeBefore);
  const warning = captured.entries.find((entry) => entry.msg === "truncating damaged log segment tail");
  assert.equal(warning?.droppedBytes, 500);
  await log.close();
  written.cleanup();
});

test("recovery stops at a batch whose CRC fails and drops everything after it", async () => {
  const written = await writeLog(50);
  const bytes = readFileSync(written.activeFile);
  const damaged = 2;
  bytes[written.activePositions[damaged]! + 70] ^= 0x01;
  writeFileSync(written.activeFile, bytes);
  const captured = capturingLogger();
  const log = PartitionLog.open({ dir: written.dir, config: CONFIG, logger: captured.logger });
  const firstActiveIndex = written.batches.length - written.activePositions.length;
  assertHoldsPrefix(log, written, firstActiveIndex + damaged);
  const warning = captured.entries.find((entry) => entry.msg === "truncating damaged log segment tail");
  assert.match(String(warning?.reason), /CRC/);
  assert.equal(warning?.position, written.activePositions[damaged]);
  await log.close();
  written.cleanup();
});

test("recovery reports each idempotent producer's last five batches from the active segment", async () => {
  const { dir, cleanup } = temporaryDir();
  const log = PartitionLog.open({ dir, config: baseConfig(), logger: silent });
  produce(log, { count: 2 });
  const sequences = new Map<number, number>();
  const expected: { producerId: number; baseOffset: number; baseSequence: number }[] = [];
  for (let i = 0; i < 12; i++) {
    const producerId = i % 3 === 2 ? 2_000_000_000_000 : 7;
    const baseSequence = sequences.get(producerId) ?? 0;
    const { baseOffset } = produce(log, { count: 2, producerId, producerEpoch: 1, baseSequence });
    sequences.set(producerId, baseSequence + 2);
    expected.push({ producerId, baseOffset, baseSequence });
  }
  await log.close();
  const reopened = PartitionLog.open({ dir, config: baseConfig(), logger: silent });
  const lastFive = (producerId: number): typeof expected =>
    expected.filter((e) => e.producerId === producerId).slice(-5);
  const recovered = reopened.recoveredBatchHeaders();
  assert.deepEqual(
    recovered.map(({ producerId, baseOffset, baseSequence }) => ({ producerId, baseOffset, baseSequence })),
    [...lastFive(7), ...lastFive(2_000_000_000_000)].sort((a, b) => a.baseOffset - b.baseOffset),
  );
  for (const batch of recovered) {
    assert.equal(batch.lastOffsetDelta, 1);
    assert.equal(batch.producerEpoch, 1);
    assert.equal(readBatchHeader(reopened.read(batch.baseOffset, 1).records).baseSequence, batch.baseSequence);
  }
  await reopened.close();
  cleanup();
});

test("a producer whose last batches are in sealed segments is still known after a restart", async () => {
  const { dir, cleanup } = temporaryDir();
  const config = baseConfig({ segmentBytesMax: 2000 });
  const log = PartitionLog.open({ dir, config, logger: silent });
  const idle: { baseOffset: number; baseSequence: number }[] = [];
  for (let sequence = 0; sequence < 12; sequence += 2) {
    const { baseOffset } = produce(log, { count: 2, producerId: 41, producerEpoch: 3, baseSequence: sequence });
    idle.push({ baseOffset, baseSequence: sequence });
  }
  // Another producer writes on until producer 41's batches lie two segment rolls back.
  let busySequence = 0;
  while (log.segmentBaseOffsets().length < 4) {
    produce(log, { count: 1, producerId: 42, producerEpoch: 0, baseSequence: busySequence, valueBytes: 200 });
    busySequence += 1;
  }
  await log.close();
  const snapshots = readdirSync(dir).filter((name) => name.endsWith(".producers"));
  assert.deepEqual(snapshots, [`${String(log.segmentBaseOffsets().at(-1)).padStart(20, "0")}.producers`]);

  const reopened = PartitionLog.open({ dir, config, logger: silent });
  const recovered = reopened.recoveredBatchHeaders();
  assert.deepEqual(
    recovered
      .filter((batch) => batch.producerId === 41)
      .map(({ baseOffset, baseSequence }) => ({ baseOffset, baseSequence })),
    idle.slice(-5),
  );
  const busy = recovered.filter((batch) => batch.producerId === 42);
  assert.equal(busy.length, 5);
  assert.equal(busy.at(-1)!.baseSequence, busySequence - 1);
  await reopened.close();

  // Producers whose batches were all deleted are left out of the next snapshot.
  const trimmed = PartitionLog.open({ dir, config, logger: silent });
  assert.equal(trimmed.deleteRecordsBefore(idle.at(-1)!.baseOffset + 2).errorCode, 0);
  while (trimmed.segmentBaseOffsets().length < 2 || readdirSync(dir).includes(snapshots[0]!)) {
    produce(trimmed, { count: 1, producerId: 42, producerEpoch: 0, baseSequence: busySequence, valueBytes: 200 });
    busySequence += 1;
  }
  await trimmed.close();
  const afterTrim = PartitionLog.open({ dir, config, logger: silent });
  assert.deepEqual(
    afterTrim.recoveredBatchHeaders().filter((batch) => batch.producerId === 41),
    [],
    "producer 41's batches are gone, and so is its state",
  );
  assert.equal(afterTrim.recoveredBatchHeaders().filter((batch) => batch.producerId === 42).length, 5);
  await afterTrim.close();

  // An unreadable snapshot is ignored with a warning; the active segment's producers are still recovered.
  const [currentSnapshot] = readdirSync(dir).filter((name) => name.endsWith(".producers"));
  writeFileSync(join(dir, currentSnapshot!), "{not json");
  const captured = capturingLogger();
  const damaged = PartitionLog.open({ dir, config, logger: captured.logger });
  assert.ok(captured.entries.some((entry) => /unreadable producer snapshot/.test(String(entry.msg))));
  assert.equal(damaged.recoveredBatchHeaders().filter((batch) => batch.producerId === 41).length, 0);
  await damaged.close();
  cleanup();
});

test("a sealed segment whose index points at the wrong place is rebuilt, not trusted", async () => {
  const written = await writeLog(60);
  const sealedIndex = join(written.dir, `${"0".padStart(20, "0")}.index`);
  const index = readFileSync(sealedIndex);
  assert.ok(index.length >= 8, "the first segment should have index entries");
  index.writeInt32BE(index.readInt32BE(index.length - 4) + 1, index.length - 4);
  writeFileSync(sealedIndex, index);
  const captured = capturingLogger();
  const log = PartitionLog.open({ dir: written.dir, config: CONFIG, logger: captured.logger });
  assert.ok(captured.entries.some((entry) => entry.msg === "rebuilding segment indexes"));
  assertHoldsPrefix(log, written, written.batches.length);
  await log.close();
  written.cleanup();
});
