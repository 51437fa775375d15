import assert from "node:assert/strict";
import { test } from "node:test";

import { chunksOf } from "../../src/store/chunks.js";

test("chunksOf splits a list into pieces of at most the size, in order, and refuses a bad size", () => {
  assert.deepEqual([...chunksOf([1, 2, 3, 4, 5], 2)], [[1, 2], [3, 4], [5]]);
  assert.deepEqual([...chunksOf([1, 2], 5)], [[1, 2]]);
  assert.deepEqual([...chunksOf([], 3)], []);
  assert.throws(() => [...chunksOf([1], 0)], RangeError);
});
