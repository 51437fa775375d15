import assert from "node:assert/strict";
import { test } from "node:test";

import { Fifo } from "../../src/store/fifo.js";
import { seededRandom } from "./harness.js";

test("Fifo gives back what was pushed in order, through runs of pushes and shifts that compact it", () => {
  const fifo = new Fifo<number>();
  assert.equal(fifo.shift(), undefined);
  const model: number[] = [];
  const random = seededRandom(7);
  let next = 0;
  // Long runs each way, so that the queue grows to thousands, compacts, empties and grows again.
  for (let run = 0; run < 200; run += 1) {
    const pushing = random() < 0.55;
    const count = Math.floor(random() * 2_000);
    for (let step = 0; step < count; step += 1) {
      if (pushing) {
        fifo.push(next);
        model.push(next);
        next += 1;
      } else {
        assert.equal(fifo.shift(), model.shift());
      }
      assert.equal(fifo.length, model.length);
    }
  }
  while (model.length > 0) assert.equal(fifo.shift(), model.shift());
  assert.equal(fifo.length, 0);
  assert.equal(fifo.shift(), undefined);
});
