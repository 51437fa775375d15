// Event ids: UUIDs version 7 whose time part is the clock's, that one process makes in strictly growing order, and
// that PostgreSQL reads as uuid values.

import assert from "node:assert/strict";
import { test } from "node:test";

import { eventIdAt } from "../../src/store/event-ids.js";
import { isUuid, newEventId } from "../../src/store/index.js";
import { storeTest } from "./harness.js";

const V7_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function timeOf(id: string): number {
  return Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}

test("an event id is a UUID version 7 with the RFC's variant, and its time part is now", () => {
  const before = Date.now();
  const id = newEventId();
  const after = Date.now();
  assert.match(id, V7_PATTERN);
  assert.equal(isUuid(id), true);
  assert.ok(timeOf(id) >= before && timeOf(id) <= after + 1, `time part ${timeOf(id)} outside ${before}–${after}`);
});

test("ids made over time keep the order of their making", async () => {
  const first = newEventId();
  await new Promise((resolve) => setTimeout(resolve, 5));
  const second = newEventId();
  assert.ok(first < second);
});

test("a clock reading that is no whole number of milliseconds in 48 bits is refused", () => {
  for (const bad of [Date.now() + 0.5, -1, 2 ** 48, Number.NaN]) {
    assert.throws(() => eventIdAt(bad), RangeError, `${bad} taken`);
  }
});

test("isUuid takes any UUID's text and nothing else", () => {
  assert.equal(isUuid("6f1c1f9e-2d4b-4c1e-9a3f-0b2c4d6e8f10"), true);
  assert.equal(isUuid("6F1C1F9E-2D4B-4C1E-9A3F-0B2C4D6E8F10"), true);
  for (const bad of ["", "6f1c1f9e2d4b4c1e9a3f0b2c4d6e8f10", "6f1c1f9e-2d4b-4c1e-9a3f-0b2c4d6e8f1", 42, null]) {
    assert.equal(isUuid(bad), false, `${String(bad)} taken`);
  }
});

storeTest("PostgreSQL reads an event id as a uuid, and sorts ids as they were made", async (_t, target) => {
  const db = await target.open();
  const ids = Array.from({ length: 50 }, () => newEventId());
  const result = await db.query<{ id: string }>("SELECT id::text FROM unnest($1::uuid[]) AS made(id) ORDER BY id", [
    [...ids].reverse(),
  ]);
  assert.deepEqual(
    result.rows.map((row) => row.id),
    ids,
  );
});

// Last, since it leaves the process's ids a minute ahead of the clock.
test("ids grow strictly, within one millisecond, past the counter's end and when the clock steps back", () => {
  const nowMs = Date.now() + 60_000;
  const ids = Array.from({ length: 10_000 }, () => eventIdAt(nowMs));
  ids.push(eventIdAt(nowMs - 5_000), eventIdAt(nowMs - 5_000));
  for (let index = 1; index < ids.length; index++) {
    assert.ok(ids[index - 1]! < ids[index]!, `id ${index} (${ids[index]}) is not after ${ids[index - 1]}`);
    assert.match(ids[index]!, V7_PATTERN);
  }
  assert.equal(new Set(ids).size, ids.length);
  // 10,000 ids in one millisecond outrun the 12-bit counter, which moves the time part on rather than wrapping.
  const lastTime = timeOf(ids[ids.length - 1]!);
  assert.ok(lastTime > nowMs && lastTime <= nowMs + 5, `time part ${lastTime} for ids made at ${nowMs}`);
});
