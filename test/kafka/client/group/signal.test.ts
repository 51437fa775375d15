// The wake-up a waiting loop uses: next() settles at the following notify(), and waiting twice shares one promise.

import assert from "node:assert/strict";
import { test } from "node:test";
import { Signal } from "../../../../src/kafka/client/group/signal.js";

test("next() settles at the following notify(), not at an earlier one", async () => {
  const signal = new Signal();
  signal.notify();
  let woken = 0;
  const first = signal.next().then(() => woken++);
  assert.equal(signal.next(), signal.next(), "waiting again before a notify shares one promise");
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(woken, 0);
  signal.notify();
  await first;
  assert.equal(woken, 1);
  assert.notEqual(signal.next(), first, "a notify starts a new wait");
});
