// The shared pool of random bytes: takes never overlap until the pool refills, and sizes outside it are refused.

import assert from "node:assert/strict";
import { test } from "node:test";

import { takeRandomBytes } from "../../src/platform/random-pool.js";

test("consecutive takes get adjacent bytes, and a take that does not fit refills the pool", () => {
  const first = takeRandomBytes(16);
  const second = takeRandomBytes(16);
  assert.equal(second.pool, first.pool);
  assert.ok(second.offset === first.offset + 16 || second.offset === 0, `offsets ${first.offset}, ${second.offset}`);
  const whole = takeRandomBytes(4096);
  assert.equal(whole.offset, 0, "a take of the whole pool starts it afresh");
  assert.equal(takeRandomBytes(1).offset, 0, "the next take refills it again");
});

test("sizes outside 1 to the pool's size are refused", () => {
  for (const bytes of [0, -1, 1.5, 4097, Number.NaN]) {
    assert.throws(() => takeRandomBytes(bytes), RangeError, String(bytes));
  }
});
