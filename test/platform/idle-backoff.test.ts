// The cleanups' timer: it slows down while its task finds nothing, and is back to its base interval after work or
// reported activity.

import assert from "node:assert/strict";
import { test } from "node:test";

import { IdleBackoffTimer } from "../../src/platform/idle-backoff.js";
import { waitFor } from "../store/harness.js";

test("an idle task runs less and less often, up to the ceiling; work and activity bring it back", async (t) => {
  /** The wait that came before each run. */
  const waits: number[] = [];
  let work = false;
  const timer = new IdleBackoffTimer(20, 160, async () => {
    waits.push(timer.delayMs);
    return work;
  });
  t.after(() => timer.stop());
  timer.start();
  await waitFor("two runs at the ceiling", () => waits.filter((wait) => wait === 160).length >= 2, 20_000);
  assert.deepEqual(waits.slice(0, 5), [20, 40, 80, 160, 160], "each run that found nothing doubles the wait");

  const before = waits.length;
  timer.noteActivity();
  await waitFor("a run after the activity", () => waits.length > before, 20_000);
  assert.equal(waits[before], 20, "activity brings the next run within the base interval");

  work = true;
  await waitFor("three runs that found work", () => waits.length >= before + 4, 20_000);
  assert.deepEqual(waits.slice(before + 2, before + 4), [20, 20], "a run that found work keeps the base interval");

  timer.stop();
  const runsStopped = waits.length;
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.equal(waits.length, runsStopped, "a stopped timer does not run");
});
