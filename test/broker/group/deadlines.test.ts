// The keyed deadline queue behind session and rebalance timeouts: on a clock the test moves, and on the real clock
// with its one real timer.

import assert from "node:assert/strict";
import { test } from "node:test";
import { DeadlineQueue } from "../../../src/broker/group/deadlines.js";

function manualQueue(): { queue: DeadlineQueue; fired: string[]; setNow(ms: number): void; errors: unknown[] } {
  let nowMs = 0;
  const errors: unknown[] = [];
  const queue = new DeadlineQueue(
    () => nowMs,
    (error) => errors.push(error),
  );
  return { queue, fired: [], errors, setNow: (ms) => (nowMs = ms) };
}

test("due deadlines run earliest first; rescheduling a key replaces it and cancel removes it", () => {
  const { queue, fired, setNow } = manualQueue();
  const record = (name: string) => () => fired.push(name);
  queue.schedule("a", 300, record("a"));
  queue.schedule("b", 100, record("b"));
  queue.schedule("c", 200, record("c"));
  queue.schedule("b", 400, record("b-later"));
  queue.schedule("d", 50, record("d"));
  queue.cancel("d");
  assert.equal(queue.size, 3);

  setNow(250);
  assert.equal(queue.runDue(), 1);
  assert.deepEqual(fired, ["c"]);
  setNow(1000);
  assert.equal(queue.runDue(), 2);
  assert.deepEqual(fired, ["c", "a", "b-later"]);
  assert.equal(queue.size, 0);
  queue.close();
});

test("a callback that reschedules itself as already due waits for the next run instead of spinning", () => {
  const { queue, fired, setNow } = manualQueue();
  const again = (): void => {
    fired.push("tick");
    queue.schedule("tick", 0, again);
  };
  queue.schedule("tick", 0, again);
  setNow(10);
  assert.equal(queue.runDue(), 1);
  assert.equal(queue.runDue(), 1);
  assert.deepEqual(fired, ["tick", "tick"]);
  queue.close();
});

test("a failing callback is reported and the others still run", () => {
  const { queue, fired, setNow, errors } = manualQueue();
  queue.schedule("bad", 1, () => {
    throw new Error("boom");
  });
  queue.schedule("good", 2, () => fired.push("good"));
  setNow(5);
  assert.equal(queue.runDue(), 2);
  assert.deepEqual(fired, ["good"]);
  assert.equal((errors[0] as Error).message, "boom");
  queue.close();
});

test("on the real clock the queue's own timer runs deadlines when they fall due", async () => {
  const fired: string[] = [];
  const queue = new DeadlineQueue(Date.now, () => {});
  // The queue's timer is unref'd so that it never holds a process open; this test holds it open itself.
  const keepAlive = setTimeout(() => {}, 5000);
  const start = Date.now();
  const done = new Promise<void>((resolve) => {
    queue.schedule("late", start + 60, () => {
      fired.push("late");
      resolve();
    });
    queue.schedule("early", start + 20, () => fired.push("early"));
  });
  await done;
  assert.deepEqual(fired, ["early", "late"]);
  assert.ok(Date.now() - start >= 59);
  clearTimeout(keepAlive);
  queue.close();
});

test("superseded entries do not pile up when one key is rescheduled many times", () => {
  const { queue, fired, setNow } = manualQueue();
  for (let i = 0; i < 50_000; i++) queue.schedule("session", 1000 + i, () => fired.push(`at ${1000 + i}`));
  assert.equal(queue.size, 1);
  assert.ok(queue.storedEntries <= 2 + 1024 + 1, `${queue.storedEntries} entries held for one live deadline`);
  setNow(1_000_000);
  queue.runDue();
  assert.deepEqual(fired, ["at 50999"]);
  queue.close();
});
