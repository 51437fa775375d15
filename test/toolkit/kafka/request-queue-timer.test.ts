// kafkajs's connections must not keep timers running while nothing happens: an idle `sluice up` spent about 4% of a
// core re-arming a 1 ms timer per connection, and later woke once a second per connection to look for timed-out
// requests. Counts the timers a connected, idle kafkajs client sets and fires, against the real broker, and checks
// that a request the broker holds still times out.

import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { test } from "node:test";

import { createKafkaClient } from "../../../src/toolkit/kafka/connection.js";
import { brokerForTest } from "../../helpers/broker.js";

const IDLE_MS = 300;
const METADATA_API_KEY = 3;

/** Counts the timers set while `during` runs whose stack passes through kafkajs's request queue. */
async function requestQueueTimersDuring(during: () => Promise<void>): Promise<{ timeouts: number; intervals: number }> {
  const original = { setTimeout: globalThis.setTimeout, setInterval: globalThis.setInterval };
  const counts = { timeouts: 0, intervals: 0 };
  const fromRequestQueue = (): boolean => /requestQueue|RequestQueue|request-queue/.test(new Error().stack ?? "");
  globalThis.setTimeout = ((...args: Parameters<typeof setTimeout>) => {
    if (fromRequestQueue()) counts.timeouts++;
    return original.setTimeout(...args);
  }) as typeof setTimeout;
  globalThis.setInterval = ((...args: Parameters<typeof setInterval>) => {
    if (fromRequestQueue()) counts.intervals++;
    return original.setInterval(...args);
  }) as typeof setInterval;
  try {
    await during();
  } finally {
    globalThis.setTimeout = original.setTimeout;
    globalThis.setInterval = original.setInterval;
  }
  return counts;
}

test("an idle kafkajs connection sets no timers; a request in flight arms one timeout check", async (t) => {
  const broker = await brokerForTest(t);
  const client = createKafkaClient({ brokers: [broker.address], env: {} });
  const admin = client.admin();
  t.after(() => admin.disconnect());

  const connecting = await requestQueueTimersDuring(async () => {
    await admin.listTopics();
  });
  // kafkajs swept every connection's requests every 100 ms with an interval; here a one-shot check is armed for the
  // requests in flight.
  assert.equal(connecting.intervals, 0, "no periodic sweep for timed-out requests");
  assert.ok(connecting.timeouts >= 1, "a request in flight arms a timeout check");
  const idle = await requestQueueTimersDuring(() => sleep(IDLE_MS));
  assert.deepEqual(idle, { timeouts: 0, intervals: 0 }, `no request queue timer set in ${IDLE_MS} ms of idleness`);

  // The client still works after the idle time: requests are sent and answered as before.
  assert.ok(Array.isArray(await admin.listTopics()));
});

test("a request the broker does not answer in time still fails with a timeout", async (t) => {
  const broker = await brokerForTest(t);
  const requestTimeoutMs = 1_000;
  const client = createKafkaClient({
    brokers: [broker.address],
    env: {},
    requestTimeoutMs,
    retry: { retries: 1, initialRetryTimeMs: 50, maxRetryTimeMs: 100 },
  });
  const admin = client.admin();
  t.after(() => admin.disconnect());
  await admin.listTopics();
  // Held far longer than the timeout: only the client's own timeout check can end the call before the answer.
  const heldMs = 20_000;
  const removeFault = broker.injectFault({ apiKey: METADATA_API_KEY, action: { kind: "delay", delayMs: heldMs } });
  t.after(removeFault);
  const started = performance.now();
  await assert.rejects(admin.listTopics(), (error: Error) => {
    assert.match(`${error.message} ${String((error.cause as Error | undefined)?.message)}`, /timed out|timeout/i);
    return true;
  });
  assert.ok(performance.now() - started < heldMs / 2, "the call ended by its timeout, not by the broker's answer");
});
