import assert from "node:assert/strict";
import { test } from "node:test";
import { ErrorCode } from "../../src/kafka/protocol/error-codes.js";
import { PartitionProducerState, PRODUCER_BATCHES_CACHED } from "../../src/broker/producer-state.js";

test("sequences: in order appends, exact duplicates answer the original offset, gaps are refused", () => {
  const state = new PartitionProducerState();
  assert.deepEqual(state.check(7, 0, 0, 4), { kind: "append" });
  state.record(7, 0, 0, 4, 100);
  assert.deepEqual(state.check(7, 0, 5, 2), { kind: "append" });
  state.record(7, 0, 5, 2, 105);
  assert.deepEqual(state.check(7, 0, 0, 4), { kind: "duplicate", baseOffset: 100 });
  assert.deepEqual(state.check(7, 0, 5, 2), { kind: "duplicate", baseOffset: 105 });
  const gap = state.check(7, 0, 9, 0);
  assert.equal(gap.kind === "error" && gap.errorCode, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
});

test("only the last five batches are remembered", () => {
  const state = new PartitionProducerState();
  for (let i = 0; i < PRODUCER_BATCHES_CACHED + 1; i++) state.record(1, 0, i, 0, i * 10);
  assert.equal(state.check(1, 0, 0, 0).kind, "error", "the oldest batch fell out of the window");
  assert.deepEqual(state.check(1, 0, 1, 0), { kind: "duplicate", baseOffset: 10 });
});

test("epochs: an older epoch is fenced, a newer one must start at sequence 0", () => {
  const state = new PartitionProducerState();
  state.record(3, 2, 0, 0, 0);
  const fenced = state.check(3, 1, 1, 0);
  assert.equal(fenced.kind === "error" && fenced.errorCode, ErrorCode.INVALID_PRODUCER_EPOCH);
  const badStart = state.check(3, 3, 5, 0);
  assert.equal(badStart.kind === "error" && badStart.errorCode, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
  assert.deepEqual(state.check(3, 3, 0, 0), { kind: "append" });
});

test("sequences wrap at the int32 maximum, and non-idempotent batches are never checked", () => {
  const state = new PartitionProducerState();
  state.record(9, 0, 2147483646, 1, 0);
  assert.deepEqual(state.check(9, 0, 0, 0), { kind: "append" });
  assert.deepEqual(state.check(-1, -1, -1, 10), { kind: "append" });
  state.record(-1, -1, -1, 10, 5);
  assert.equal(state.size, 1);
});
