// kafkajs's connections must not keep timers running while nothing happens: an idle `sluice up` spent about 4% of a
// core re-arming a 1 ms timer per connection. Counts the timers a connected, idle kafkajs client sets, against the
// real broker.

import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { test } from "node:test";

import { createKafkaClient } from "../../../src/toolkit/kafka/connection.js";
import { REQUEST_TIMEOUT_CHECK_INTERVAL_MS } from "../../../src/toolkit/kafka/request-queue-timer.js";
import { brokerForTest } from "../../helpers/broker.js";

const IDLE_MS = 300;

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

test("an idle kafkajs connection sets no timers, and checks request timeouts once a second", async (t) => {
  const broker = await brokerForTest(t);
  const client = createKafkaClient({ brokers: [broker.address], env: {} });
  const admin = client.admin();
  t.after(() => admin.disconnect());

  const connecting = await requestQueueTimersDuring(async () => {
    await admin.listTopics();
  });
  // One timeout check per connection made (kafkajs: one every 100 ms; here one a second).
  assert.ok(connecting.intervals >= 1, "the connection checks its requests for timeouts");
  const idle = await requestQueueTimersDuring(() => sleep(IDLE_MS));
  assert.deepEqual(idle, { timeouts: 0, intervals: 0 }, `no request queue timer set in ${IDLE_MS} ms of idleness`);
  assert.equal(REQUEST_TIMEOUT_CHECK_INTERVAL_MS, 1_000);

  // The client still works after the idle time: requests are sent and answered as before.
  assert.ok(Array.isArray(await admin.listTopics()));
});
