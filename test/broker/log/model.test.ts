// A seeded random sequence of log operations checked step by step against a plain in-memory model of what the log
// must hold. On failure the seed and step are printed so the run can be replayed.

import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { pino } from "pino";
import { CompressionCodec } from "../../../src/kafka/protocol/compression/index.js";
import { ErrorCode } from "../../../src/kafka/protocol/error-codes.js";
import { iterateBatches } from "../../../src/kafka/protocol/record-batch.js";
import { PartitionLog } from "../../../src/broker/log/partition-log.js";
import { baseConfig, produce, temporaryDir } from "./log-test-helpers.js";

const silent = pino({ level: "silent" });
const SEEDS = [1, 2, 3];
const STEPS = 400;

function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface ModelBatch {
  base: number;
  last: number;
  bytes: Buffer;
  timestamps: number[];
}

class Model {
  batches: ModelBatch[] = [];
  startOffset = 0;
  get endOffset(): number {
    return this.batches.length === 0 ? this.startOffset : this.batches[this.batches.length - 1]!.last + 1;
  }
}

for (const mode of ["file", "memory"] as const) {
  for (const seed of SEEDS) {
    test(`${mode}: random operations agree with a simple model (seed ${seed})`, async () => {
      const random = mulberry32(seed);
      const pick = (n: number): number => Math.floor(random() * n);
      const temporary = mode === "file" ? temporaryDir() : null;
      const dir = temporary === null ? null : join(temporary.dir, "p");
      const config = baseConfig({ segmentBytesMax: 1200, indexIntervalBytes: 1 + pick(400) });
      let log = PartitionLog.open({ dir, config, logger: silent });
      const model = new Model();
      const codecs = [
        CompressionCodec.None,
        CompressionCodec.None,
        CompressionCodec.Gzip,
        CompressionCodec.Lz4,
        CompressionCodec.Snappy,
      ];
      let step = 0;
      const counts = { segmentsMax: 0 };
      try {
        for (step = 0; step < STEPS; step++) {
          const operation = pick(100);
          if (operation < 55) {
            const timestamps = Array.from({ length: 1 + pick(6) }, () => 10_000 + step * 10 + pick(200) - 100);
            const { baseOffset, batch } = produce(log, {
              timestamps,
              valueBytes: pick(120),
              compression: codecs[pick(codecs.length)]!,
              label: `s${step}-`,
            });
            assert.equal(baseOffset, model.endOffset);
            model.batches.push({
              base: baseOffset,
              last: baseOffset + timestamps.length - 1,
              bytes: Buffer.from(batch),
              timestamps,
            });
          } else if (operation < 80) {
            const offset = model.startOffset + pick(model.endOffset - model.startOffset + 1);
            const maxBytes = pick(2000);
            const minOneBatch = random() < 0.7;
            const { errorCode, records } = log.read(offset, maxBytes, minOneBatch);
            assert.equal(errorCode, 0);
            const firstIndex = model.batches.findIndex((batch) => batch.last >= offset);
            const views = [...iterateBatches(records)];
            assert.equal(
              views.reduce((sum, view) => sum + view.bytes.length, 0),
              records.length,
            );
            if (offset === model.endOffset) assert.equal(records.length, 0);
            else if (minOneBatch) assert.ok(views.length >= 1);
            if (views.length > 1 || !minOneBatch) assert.ok(records.length <= maxBytes);
            views.forEach((view, i) => assert.deepEqual(view.bytes, model.batches[firstIndex + i]!.bytes));
            if (views.length > 0 && records.length < maxBytes && firstIndex + views.length < model.batches.length) {
              // A read stops early only at the end of a segment or when the next batch would not fit.
              const next = model.batches[firstIndex + views.length]!;
              const nextFits = records.length + next.bytes.length <= maxBytes;
              if (nextFits) assert.ok(log.segmentBaseOffsets().includes(next.base), `read stopped before ${next.base}`);
            }
          } else if (operation < 88) {
            const timestampMs = 9_800 + pick(step * 10 + 400);
            const expected =
              model.batches
                .flatMap((batch) => batch.timestamps.map((timestamp, i) => ({ offset: batch.base + i, timestamp })))
                .find((record) => record.offset >= model.startOffset && record.timestamp >= timestampMs) ?? null;
            assert.deepEqual(log.offsetForTimestamp(timestampMs), expected);
          } else if (operation < 92) {
            const offset = model.startOffset + pick(model.endOffset - model.startOffset + 1);
            log.deleteRecordsBefore(offset);
            model.startOffset = Math.max(model.startOffset, offset);
            model.batches = model.batches.filter((batch) => batch.last >= model.startOffset);
          } else if (operation < 96) {
            await log.sync();
            assert.equal(log.lastSyncedOffset, model.endOffset);
          } else if (dir !== null) {
            await log.close();
            log = PartitionLog.open({ dir, config, logger: silent });
          }
          assert.equal(log.logEndOffset, model.endOffset);
          assert.equal(log.logStartOffset, model.startOffset);
          assert.equal(log.read(model.startOffset - 1, 10).errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);
          assert.equal(log.read(model.endOffset + 1, 10).errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);
          counts.segmentsMax = Math.max(counts.segmentsMax, log.segmentCount);
        }
        // The run must have exercised rolls and deletions for its agreement to mean anything.
        assert.ok(counts.segmentsMax >= 3, `only ${counts.segmentsMax} segments`);
        assert.ok(model.startOffset > 0, "no records were deleted");
      } catch (error) {
        throw new Error(`seed ${seed}, step ${step}: ${(error as Error).message}`, { cause: error });
      } finally {
        await log.close();
        temporary?.cleanup();
      }
    });
  }
}
