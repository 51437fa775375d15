import assert from "node:assert/strict";
import { existsSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { pino } from "pino";
import { CompressionCodec } from "../../../src/kafka/protocol/compression/index.js";
import { ErrorCode } from "../../../src/kafka/protocol/error-codes.js";
import { crc32c } from "../../../src/kafka/protocol/crc32c.js";
import {
  buildRecordBatch,
  decodeRecordBatch,
  hasLogAppendTime,
  iterateBatches,
  readBatchHeader,
  validateProducedBatch,
} from "../../../src/kafka/protocol/record-batch.js";
import { PartitionLog, type LogConfig } from "../../../src/broker/log/partition-log.js";
import { baseConfig, capturingLogger, produce, temporaryDir, MESSAGE_BYTES_MAX } from "./log-test-helpers.js";

const silent = pino({ level: "silent" });

interface Harness {
  log: PartitionLog;
  dir: string | null;
  reopen(config?: LogConfig): PartitionLog;
  cleanup(): Promise<void>;
}

function openLog(mode: "file" | "memory", config: LogConfig, now?: () => number): Harness {
  const temporary = mode === "file" ? temporaryDir() : null;
  const dir = temporary === null ? null : join(temporary.dir, "p0");
  const harness: Harness = {
    log: PartitionLog.open({ dir, config, logger: silent, now }),
    dir,
    reopen(newConfig = config) {
      assert.ok(dir !== null, "only file logs can be reopened");
      harness.log = PartitionLog.open({ dir, config: newConfig, logger: silent, now });
      return harness.log;
    },
    async cleanup() {
      await harness.log.close();
      temporary?.cleanup();
    },
  };
  return harness;
}

/** Every stored batch, oldest first, read back one at a time. */
function allBatches(log: PartitionLog): Buffer[] {
  const batches: Buffer[] = [];
  let offset = log.logStartOffset;
  while (offset < log.logEndOffset) {
    const { records } = log.read(offset, 1);
    const header = readBatchHeader(records);
    assert.ok(header.baseOffset <= offset && offset <= header.baseOffset + header.lastOffsetDelta, `read(${offset})`);
    batches.push(records);
    offset = header.baseOffset + header.lastOffsetDelta + 1;
  }
  return batches;
}

for (const mode of ["file", "memory"] as const) {
  test(`${mode}: appends assign offsets and every offset reads back from the batch that holds it, across rolls`, async () => {
    const harness = openLog(mode, baseConfig({ segmentBytesMax: 3000, indexIntervalBytes: 200 }));
    const { log } = harness;
    const stored: { base: number; last: number; bytes: Buffer }[] = [];
    for (let i = 0; i < 120; i++) {
      const count = 1 + (i % 5);
      const { baseOffset, logAppendTime, batch } = produce(log, { count, valueBytes: 10 + ((i * 37) % 90) });
      assert.equal(logAppendTime, -1);
      assert.equal(baseOffset, stored.length === 0 ? 0 : stored[stored.length - 1]!.last + 1);
      stored.push({ base: baseOffset, last: baseOffset + count - 1, bytes: Buffer.from(batch) });
    }
    assert.equal(log.logStartOffset, 0);
    assert.equal(log.logEndOffset, stored[stored.length - 1]!.last + 1);
    assert.ok(log.segmentCount >= 5, `expected several segments, got ${log.segmentCount}`);
    if (harness.dir !== null) {
      const logs = readdirSync(harness.dir).filter((name) => name.endsWith(".log"));
      assert.deepEqual(
        logs,
        log.segmentBaseOffsets().map((base) => `${String(base).padStart(20, "0")}.log`),
      );
    }
    for (const batch of stored) {
      for (let offset = batch.base; offset <= batch.last; offset++) {
        const one = log.read(offset, 1);
        assert.equal(one.errorCode, 0);
        assert.deepEqual(one.records, batch.bytes, `offset ${offset}`);
        const many = log.read(offset, 1000).records;
        assert.ok(many.length <= 1000);
        const views = [...iterateBatches(many)];
        assert.equal(
          views.reduce((total, view) => total + view.bytes.length, 0),
          many.length,
        );
        const firstIndex = stored.indexOf(batch);
        views.forEach((view, i) => assert.deepEqual(view.bytes, stored[firstIndex + i]!.bytes));
      }
    }
    await harness.cleanup();
  });

  test(`${mode}: a read returns whole batches and at least the first one (KIP-74)`, async () => {
    const harness = openLog(mode, baseConfig());
    const { log } = harness;
    const first = produce(log, { count: 3, valueBytes: 500 }).batch;
    const second = produce(log, { count: 1, valueBytes: 10 }).batch;
    assert.deepEqual(log.read(0, 10).records, first);
    assert.equal(log.read(0, 10, false).records.length, 0);
    assert.deepEqual(log.read(0, first.length + second.length - 1).records, first);
    assert.deepEqual(log.read(0, first.length + second.length).records, Buffer.concat([first, second]));
    assert.deepEqual(log.read(2, 0).records, first);
    assert.deepEqual(log.read(3, 1_000_000).records, second);
    await harness.cleanup();
  });

  test(`${mode}: reads at the log end are empty and outside the log are out of range`, async () => {
    const harness = openLog(mode, baseConfig());
    const { log } = harness;
    assert.deepEqual(log.read(0, 100), { errorCode: 0, records: Buffer.alloc(0) });
    produce(log, { count: 2 });
    assert.equal(log.read(2, 100).records.length, 0);
    assert.equal(log.read(3, 100).errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);
    assert.equal(log.read(-1, 100).errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);
    await harness.cleanup();
  });

  test(`${mode}: LogAppendTime stamps the batch and keeps its CRC valid; CreateTime leaves it alone`, async () => {
    let nowMs = 50_000;
    const harness = openLog(mode, baseConfig({ messageTimestampType: "LogAppendTime" }), () => nowMs);
    const { log } = harness;
    const appended = produce(log, { timestamps: [10, 20] });
    assert.equal(appended.logAppendTime, 50_000);
    const stored = log.read(0, 1000).records;
    const header = readBatchHeader(stored);
    assert.ok(hasLogAppendTime(header));
    assert.equal(header.maxTimestamp, 50_000);
    assert.ok("header" in validateProducedBatch(stored, MESSAGE_BYTES_MAX));
    assert.deepEqual(
      decodeRecordBatch(stored).records.map((record) => record.timestamp),
      [50_000, 50_000],
    );
    nowMs = 60_000;
    log.updateConfig(baseConfig({ messageTimestampType: "CreateTime" }));
    const createTime = produce(log, { timestamps: [30, 40] });
    assert.equal(createTime.logAppendTime, -1);
    assert.equal(readBatchHeader(log.read(2, 1).records).maxTimestamp, 40);
    await harness.cleanup();
  });

  test(`${mode}: offsetForTimestamp finds the first record at or after a time, exactly per record`, async () => {
    const harness = openLog(mode, baseConfig({ segmentBytesMax: 1500, indexIntervalBytes: 100 }));
    const { log } = harness;
    const codecs = [CompressionCodec.None, CompressionCodec.Gzip, CompressionCodec.Snappy, CompressionCodec.Lz4];
    const records: { offset: number; timestamp: number }[] = [];
    let seed = 17;
    const random = (): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    for (let i = 0; i < 60; i++) {
      // Timestamps mostly rise but jump back now and then, as CreateTime from several clients does.
      const timestamps = Array.from({ length: 1 + (i % 4) }, () => 1000 + i * 50 + Math.floor(random() * 300) - 100);
      const { baseOffset } = produce(log, { timestamps, compression: codecs[i % codecs.length]! });
      timestamps.forEach((timestamp, j) => records.push({ offset: baseOffset + j, timestamp }));
    }
    assert.ok(log.segmentCount > 2);
    const expected = (timestampMs: number): { offset: number; timestamp: number } | null =>
      records.find((record) => record.offset >= log.logStartOffset && record.timestamp >= timestampMs) ?? null;
    for (let timestampMs = 800; timestampMs <= 4400; timestampMs += 7) {
      assert.deepEqual(log.offsetForTimestamp(timestampMs), expected(timestampMs), `timestamp ${timestampMs}`);
    }
    log.deleteRecordsBefore(records[40]!.offset);
    for (let timestampMs = 800; timestampMs <= 4400; timestampMs += 31) {
      assert.deepEqual(log.offsetForTimestamp(timestampMs), expected(timestampMs), `after delete, ${timestampMs}`);
    }
    await harness.cleanup();
  });

  test(`${mode}: deleteRecordsBefore moves the log start and removes whole segments below it`, async () => {
    const harness = openLog(mode, baseConfig({ segmentBytesMax: 1000 }));
    const { log } = harness;
    for (let i = 0; i < 40; i++) produce(log, { count: 2, valueBytes: 50 });
    const segmentsBefore = log.segmentBaseOffsets();
    assert.ok(segmentsBefore.length > 4);
    const cut = segmentsBefore[2]! + 1;
    assert.deepEqual(log.deleteRecordsBefore(cut), { errorCode: 0, logStartOffset: cut });
    assert.equal(log.logStartOffset, cut);
    assert.deepEqual(log.segmentBaseOffsets(), segmentsBefore.slice(2));
    assert.equal(log.read(cut - 1, 100).errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);
    const atCut = readBatchHeader(log.read(cut, 1).records);
    assert.ok(atCut.baseOffset <= cut && cut <= atCut.baseOffset + atCut.lastOffsetDelta);
    assert.deepEqual(log.deleteRecordsBefore(cut - 5), { errorCode: 0, logStartOffset: cut });
    const beyond = log.deleteRecordsBefore(log.logEndOffset + 1);
    assert.equal(beyond.errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);

    if (harness.dir !== null) {
      await log.close();
      assert.equal(harness.reopen().logStartOffset, cut);
    }
    const end = harness.log.logEndOffset;
    harness.log.deleteRecordsBefore(end);
    assert.equal(harness.log.logStartOffset, end);
    assert.equal(harness.log.segmentCount, 1);
    assert.equal(harness.log.read(end, 100).records.length, 0);
    assert.equal(produce(harness.log).baseOffset, end);
    await harness.cleanup();
  });

  test(`${mode}: retention by time deletes segments whose newest record expired, rolling an expired active one`, async () => {
    const harness = openLog(mode, baseConfig({ segmentBytesMax: 800, retentionMs: 10_000 }));
    const { log } = harness;
    for (let i = 0; i < 30; i++) produce(log, { timestamps: [100_000 + i * 1000, 100_000 + i * 1000 + 10] });
    const segments = log.segmentBaseOffsets();
    assert.ok(segments.length >= 4);
    const bytesBelow = (offset: number): number =>
      allBatches(log)
        .filter((batch) => readBatchHeader(batch).baseOffset < offset)
        .reduce((total, batch) => total + batch.length, 0);
    const newestOfSecond = readBatchHeader(log.read(segments[2]! - 1, 1).records).maxTimestamp;
    const firstSegmentBytes = bytesBelow(segments[1]!);
    const secondSegmentBytes = bytesBelow(segments[2]!) - firstSegmentBytes;
    assert.deepEqual(log.enforceRetention(newestOfSecond + 10_000), {
      segmentsDeleted: 1,
      bytesDeleted: firstSegmentBytes,
    });
    assert.deepEqual(log.enforceRetention(newestOfSecond + 10_001), {
      segmentsDeleted: 1,
      bytesDeleted: secondSegmentBytes,
    });
    assert.deepEqual(log.segmentBaseOffsets(), segments.slice(2));
    assert.equal(log.logStartOffset, segments[2]);
    const remaining = log.sizeBytes;
    assert.deepEqual(log.enforceRetention(10_000_000), {
      segmentsDeleted: segments.length - 2,
      bytesDeleted: remaining,
    });
    assert.equal(log.segmentCount, 1);
    assert.equal(log.logStartOffset, 60);
    assert.equal(log.logEndOffset, 60);
    assert.equal(produce(log).baseOffset, 60);
    await harness.cleanup();
  });

  test(`${mode}: retention by bytes keeps the newest segments that fit and never the active one`, async () => {
    const harness = openLog(mode, baseConfig({ segmentBytesMax: 1000, retentionBytes: 2500 }));
    const { log } = harness;
    for (let i = 0; i < 40; i++) produce(log, { count: 2, valueBytes: 40 });
    const before = log.segmentBaseOffsets();
    const sizeBefore = log.sizeBytes;
    const result = log.enforceRetention(Date.now());
    assert.ok(result.segmentsDeleted > 0);
    assert.equal(log.sizeBytes, sizeBefore - result.bytesDeleted);
    assert.deepEqual(log.segmentBaseOffsets(), before.slice(result.segmentsDeleted));
    // Kafka's rule: delete while what remains would still be at least retention.bytes.
    assert.ok(log.sizeBytes >= 2500 || log.segmentCount === 1);
    const oldestKeptBytes = log.read(log.logStartOffset, 10_000).records.length;
    assert.ok(log.sizeBytes - oldestKeptBytes < 2500);
    assert.equal(log.logStartOffset, log.segmentBaseOffsets()[0]);
    assert.deepEqual(log.enforceRetention(Date.now()), { segmentsDeleted: 0, bytesDeleted: 0 });
    await harness.cleanup();
  });

  test(`${mode}: the active segment rolls once it is older than segmentMs`, async () => {
    let nowMs = 1_000;
    const harness = openLog(mode, baseConfig({ segmentMs: 500 }), () => nowMs);
    const { log } = harness;
    produce(log);
    nowMs = 1_400;
    produce(log);
    assert.equal(log.segmentCount, 1);
    nowMs = 1_500;
    produce(log);
    assert.deepEqual(log.segmentBaseOffsets(), [0, 2]);
    await harness.cleanup();
  });
}

test("file: a closed and reopened log reads the same bytes, trusting sealed indexes or rebuilding them", async () => {
  const harness = openLog("file", baseConfig({ segmentBytesMax: 2000, indexIntervalBytes: 150 }));
  for (let i = 0; i < 80; i++) produce(harness.log, { count: 1 + (i % 3), valueBytes: 30 });
  const before = allBatches(harness.log);
  const segments = harness.log.segmentBaseOffsets();
  const end = harness.log.logEndOffset;
  const timestampAnswer = harness.log.offsetForTimestamp(1001);
  await harness.log.close();
  const dir = harness.dir!;
  const sealed = segments.slice(0, -1).map((base) => String(base).padStart(20, "0"));
  for (const name of sealed) {
    assert.ok(existsSync(join(dir, `${name}.index`)), `${name}.index`);
    assert.ok(existsSync(join(dir, `${name}.timeindex`)), `${name}.timeindex`);
  }

  const reopened = harness.reopen();
  assert.equal(reopened.logEndOffset, end);
  assert.deepEqual(reopened.segmentBaseOffsets(), segments);
  assert.deepEqual(allBatches(reopened), before);
  assert.deepEqual(reopened.offsetForTimestamp(1001), timestampAnswer);
  await reopened.close();

  rmSync(join(dir, `${sealed[0]}.index`));
  writeFileSync(join(dir, `${sealed[1]}.index`), Buffer.from([0, 0, 0, 9, 0, 0, 0, 1, 0, 0, 0]));
  writeFileSync(join(dir, `${sealed[2]}.timeindex`), Buffer.alloc(0));
  const captured = capturingLogger();
  const rebuilt = PartitionLog.open({
    dir,
    config: baseConfig({ segmentBytesMax: 2000, indexIntervalBytes: 150 }),
    logger: captured.logger,
  });
  harness.log = rebuilt;
  const rebuilds = captured.entries.filter((entry) => entry.msg === "rebuilding segment indexes");
  assert.deepEqual(
    rebuilds.map((entry) => entry.segment),
    sealed.slice(0, 3).map((name) => `${name}.log`),
  );
  assert.deepEqual(allBatches(rebuilt), before);
  assert.equal(rebuilt.logEndOffset, end);
  assert.equal(produce(rebuilt).baseOffset, end);
  await harness.cleanup();
});

test("log config is checked when the log opens", () => {
  assert.throws(
    () => PartitionLog.open({ dir: null, config: baseConfig({ segmentBytesMax: 0 }), logger: silent }),
    /segmentBytesMax/,
  );
  assert.throws(
    () => PartitionLog.open({ dir: null, config: baseConfig({ retentionMs: -2 }), logger: silent }),
    /retentionMs/,
  );
});

test("offsetForTimestamp falls back to a batch's first offset when its records cannot be decompressed", async () => {
  const log = PartitionLog.open({ dir: null, config: baseConfig(), logger: silent });
  produce(log, { timestamps: [100, 200] });
  for (const codec of [CompressionCodec.Gzip, CompressionCodec.Zstd]) {
    // A correct header and CRC around compressed bytes that are not valid for the codec, as a client could send.
    const batch = buildRecordBatch({ records: [{ value: "x" }, { value: "y" }], timestamp: 500 + codec });
    const unreadable = Buffer.concat([batch.subarray(0, 61), Buffer.from("not compressed data at all")]);
    unreadable.writeInt32BE(unreadable.length - 12, 8);
    unreadable.writeInt16BE(codec, 21);
    unreadable.writeUInt32BE(crc32c(unreadable, 21), 17);
    const validation = validateProducedBatch(unreadable, MESSAGE_BYTES_MAX);
    assert.ok("header" in validation);
    const { baseOffset } = log.append(unreadable, validation.header);
    assert.deepEqual(log.offsetForTimestamp(499 + codec), { offset: baseOffset, timestamp: 500 + codec });
  }
  assert.deepEqual(log.offsetForTimestamp(150), { offset: 1, timestamp: 200 });
  await log.close();
});
