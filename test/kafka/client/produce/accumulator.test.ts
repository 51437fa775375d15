// The producer's accumulator on a clock the test moves: a lone record is taken at once, the next batch of a partition
// with two batches out waits the smoothed answer time, longer while an answer is overdue (so that a slow fsync does not
// use up the partition's slots in its first milliseconds), a full batch is never held, and without idempotence (one
// batch out) the next batch goes when the slot is free. The producer around it is tested against the real broker in producer.test.ts.

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import {
  PRODUCER_PACING_MS_MAX,
  RecordAccumulator,
  type AccumulatorLimits,
  type Batch,
} from "../../../../src/kafka/client/produce/accumulator.js";

/** Lets the accumulator's queued microtask run. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function harness(limits: AccumulatorLimits) {
  let nowMs = 0;
  const timers: Array<{ dueAtMs: number; callback: () => void }> = [];
  const sent: Batch[] = [];
  const accumulator = new RecordAccumulator(limits, (batches) => sent.push(...batches), {
    now: () => nowMs,
    setTimer: (callback, delayMs) => timers.push({ dueAtMs: nowMs + delayMs, callback }),
  });
  let value = 0;
  return {
    accumulator,
    sent,
    timers,
    /** Queues `count` records for partition 0 as one send. */
    async add(count = 1): Promise<void> {
      const records = Array.from({ length: count }, () => ({ key: null, value: Buffer.from(String(value++)) }));
      accumulator.add("t", 0, { records, bytes: count * 10, resolve: () => undefined, reject: () => undefined });
      await settle();
    },
    /** Moves the clock on and fires the timers that fall due. */
    async advanceTo(targetMs: number): Promise<void> {
      nowMs = targetMs;
      const due = timers.filter((entry) => entry.dueAtMs <= nowMs);
      timers.splice(0, timers.length, ...timers.filter((entry) => entry.dueAtMs > nowMs));
      for (const timer of due) timer.callback();
      await settle();
    },
    takenValues: (batch: Batch) => batch.records.map((record) => String(record.value)),
  };
}

describe("producer accumulator", () => {
  test("from the second batch out, the next waits the answer time, longer while one is overdue; a full batch goes at once", async () => {
    const run = harness({ batchRecordsMax: 10, batchBytesMax: 1_000_000, batchesInFlightMax: 5 });
    run.accumulator.answered(10);
    assert.equal(run.accumulator.pacingMs, 10);
    await run.add();
    assert.equal(run.sent.length, 1, "a lone record goes at once");
    await run.add();
    assert.equal(run.sent.length, 2, "and so does the next while one batch is out");
    await run.advanceTo(1);
    await run.add();
    await run.advanceTo(5);
    await run.add();
    assert.equal(run.sent.length, 2, "the third batch is held while two are out");
    await run.advanceTo(10);
    assert.equal(run.sent.length, 3);
    assert.deepEqual(run.takenValues(run.sent[2]!), ["2", "3"], "what waited goes together");
    await run.advanceTo(11);
    await run.add();
    await run.advanceTo(20);
    assert.equal(run.sent.length, 4, "the answer time after the last batch");
    // The first batch has now been out for 20 ms: the next one waits 20 ms, not 10.
    await run.advanceTo(21);
    await run.add();
    await run.advanceTo(30);
    assert.equal(run.sent.length, 4, "an overdue answer stretches the spacing");
    await run.advanceTo(40);
    assert.equal(run.sent.length, 5);
    for (const batch of run.sent.slice(0, 2)) run.accumulator.release(batch);
    await run.advanceTo(41);
    await run.add(10);
    assert.equal(run.sent.length, 6, "a full batch goes at once");
    // Once every batch is answered, the next lone record goes at once again.
    for (const batch of run.sent.slice(2)) run.accumulator.release(batch);
    await run.add();
    assert.equal(run.sent.length, 7);
  });

  test("answers are smoothed, and pacing never holds a batch longer than its limit", async () => {
    const run = harness({ batchRecordsMax: 10, batchBytesMax: 1_000_000, batchesInFlightMax: 5 });
    assert.equal(run.accumulator.pacingMs, 0, "nothing is paced before the first answer");
    run.accumulator.answered(4);
    run.accumulator.answered(20);
    assert.equal(run.accumulator.pacingMs, 8, "a quarter of the way from 4 ms to 20 ms");
    run.accumulator.answered(60_000);
    assert.equal(run.accumulator.pacingMs, PRODUCER_PACING_MS_MAX);
    await run.add();
    await run.add();
    await run.add();
    assert.equal(run.sent.length, 2);
    await run.advanceTo(PRODUCER_PACING_MS_MAX);
    assert.equal(run.sent.length, 3);
  });

  test("with one batch out at a time (no idempotence) the next goes as soon as the slot is free", async () => {
    const run = harness({ batchRecordsMax: 10, batchBytesMax: 1_000_000, batchesInFlightMax: 1 });
    run.accumulator.answered(40);
    await run.add();
    await run.add();
    assert.equal(run.sent.length, 1);
    run.accumulator.release(run.sent[0]!);
    await settle();
    assert.equal(run.sent.length, 2);
  });
});
