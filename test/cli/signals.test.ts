import assert from "node:assert/strict";
import { test } from "node:test";
import { listenForShutdown } from "../../src/cli/signals.js";

test("the first SIGTERM or SIGINT resolves the request; the next calls the second-signal handler", async () => {
  const second: NodeJS.Signals[] = [];
  const listener = listenForShutdown((signal) => second.push(signal));
  // Signal handlers do not keep the event loop alive; without this the test would end before a signal arrives.
  const keepAlive = setInterval(() => undefined, 1000);
  try {
    process.kill(process.pid, "SIGTERM");
    assert.equal(await listener.requested, "SIGTERM");
    assert.deepEqual(second, []);
    const secondArrived = new Promise<void>((resolve) => process.once("SIGINT", () => resolve()));
    process.kill(process.pid, "SIGINT");
    await secondArrived;
    assert.deepEqual(second, ["SIGINT"]);
  } finally {
    clearInterval(keepAlive);
    listener.dispose();
  }
  assert.equal(process.listenerCount("SIGTERM"), 0, "dispose removes the handlers");
});
