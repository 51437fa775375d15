import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";

import type { Counter, Gauge } from "prom-client";

import { WebSocketCloseCode, WebSocketCloseReason } from "../../../src/gateway/websocket/index.js";
import { toolkitRegistry } from "../../../src/toolkit/metrics.js";
import { eventually } from "../../helpers/broker.js";
import { startSystem, TestClient, uniqueTopic, type WebSocketTestSystem } from "./fixture.js";

async function metricNow(name: string): Promise<number> {
  const metric = toolkitRegistry().getSingleMetric(name) as Gauge | Counter | undefined;
  return (await metric?.get())?.values[0]?.value ?? 0;
}

/** Events of about 100 KB: enough of them fill the kernel's socket buffers behind a client that stopped reading. */
const EVENT_PAD_CHARS = 100_000;
const EVENT_COUNT = 150;
const EVENTS_PER_PRODUCE = 5;

async function produceLargeEvents(system: WebSocketTestSystem, topic: string): Promise<void> {
  const pad = "x".repeat(EVENT_PAD_CHARS);
  for (let start = 0; start < EVENT_COUNT; start += EVENTS_PER_PRODUCE) {
    await system.produce(
      topic,
      Array.from({ length: EVENTS_PER_PRODUCE }, (_, index) => ({ value: JSON.stringify({ n: start + index, pad }) })),
    );
  }
}

test("a client too slow to read is closed with 4000 'send buffer exceeded' while the others receive everything", async (t) => {
  const system = await startSystem(t, {
    sendBufferBytesMax: 256 * 1024,
    partitionFetchBytesMax: 64 * 1024,
    slowClientCloseGraceMs: 30_000,
  });
  const topic = uniqueTopic("slow");
  await system.createTopic(topic);
  const fast = [await TestClient.open(t, system.url), await TestClient.open(t, system.url)];
  const slow = await TestClient.open(t, system.url);
  for (const client of [...fast, slow]) await client.subscribe({ topic });
  const closesBefore = await metricNow("sluice_ws_slow_client_closes_total");

  slow.ws.pause();
  await produceLargeEvents(system, topic);
  for (const client of fast) {
    const events = await client.waitForEvents(topic, EVENT_COUNT, 60_000);
    assert.deepEqual(
      events.map((event) => (event.value as { n: number }).n),
      Array.from({ length: EVENT_COUNT }, (_, index) => index),
    );
  }
  assert.equal(await metricNow("sluice_ws_slow_client_closes_total"), closesBefore + 1);
  assert.equal(system.gateway.connectionCount(), 3, "the slow client is still reading up to its close frame");

  slow.ws.resume();
  assert.deepEqual(await slow.closed, {
    code: WebSocketCloseCode.SEND_BUFFER_EXCEEDED,
    reason: WebSocketCloseReason.SEND_BUFFER_EXCEEDED,
  });
  const received = slow.events(topic).length;
  assert.ok(received < EVENT_COUNT, `the slow client got ${received} of ${EVENT_COUNT} events before the cut`);
  assert.ok(await eventually(() => system.gateway.connectionCount() === 2));

  for (const client of fast) await client.roundTrip();
  await system.produce(topic, [{ value: '"after"' }]);
  for (const client of fast) assert.equal((await client.waitForEvents(topic, EVENT_COUNT + 1)).at(-1)?.value, "after");
});

test("a slow client that never reads its close frame is dropped after the grace period", async (t) => {
  const system = await startSystem(t, {
    sendBufferBytesMax: 128 * 1024,
    partitionFetchBytesMax: 64 * 1024,
    slowClientCloseGraceMs: 200,
  });
  const topic = uniqueTopic("stuck");
  await system.createTopic(topic);
  const stuck = await TestClient.open(t, system.url);
  await stuck.subscribe({ topic });
  stuck.ws.pause();
  await produceLargeEvents(system, topic);
  assert.ok(
    await eventually(() => system.gateway.connectionCount() === 0, 20_000),
    "the server let go of the connection without the client's help",
  );
  stuck.ws.resume();
  assert.equal((await stuck.closed).code, 1006, "the socket was dropped, not closed with a handshake");
});

test("a replay to a client that stops reading waits for it instead of cutting it off", async (t) => {
  const system = await startSystem(t, {
    sendBufferBytesMax: 256 * 1024,
    partitionFetchBytesMax: 64 * 1024,
    recentEventsPerTopicMax: 2,
  });
  const topic = uniqueTopic("paced");
  await system.createTopic(topic);
  await produceLargeEvents(system, topic);

  const client = await TestClient.open(t, system.url);
  await client.subscribe({ topic, resume: { "0": -1 } });
  client.ws.pause();
  // While the client does not read, the replay fills the socket buffers and then waits with its connection open.
  await sleep(1_500);
  assert.equal(system.gateway.connectionCount(), 1);
  assert.equal(await metricNow("sluice_ws_resume_readers"), 1, "the replay is still waiting for the client");

  client.ws.resume();
  const events = await client.waitForEvents(topic, EVENT_COUNT, 60_000);
  assert.deepEqual(
    events.map((event) => (event.value as { n: number }).n),
    Array.from({ length: EVENT_COUNT }, (_, index) => index),
  );
  await system.produce(topic, [{ value: '"live"' }]);
  assert.equal((await client.waitForEvents(topic, EVENT_COUNT + 1)).at(-1)?.value, "live");
  assert.ok(await eventually(async () => (await metricNow("sluice_ws_resume_readers")) === 0));
});

test("a replay that cannot finish in time ends the subscription with SLUICE_UNAVAILABLE", async (t) => {
  const system = await startSystem(t, {
    sendBufferBytesMax: 256 * 1024,
    partitionFetchBytesMax: 64 * 1024,
    recentEventsPerTopicMax: 2,
    resumeTimeoutMs: 500,
  });
  const topic = uniqueTopic("late");
  await system.createTopic(topic);
  await produceLargeEvents(system, topic);

  const client = await TestClient.open(t, system.url);
  await client.subscribe({ topic, resume: { "0": -1 } });
  client.ws.pause();
  await sleep(1_000);
  client.ws.resume();
  const [error] = await client.waitFor((m) => m.type === "error");
  assert.equal(error?.code, "SLUICE_UNAVAILABLE");
  assert.equal(error?.topic, topic);
  assert.match(String(error?.message), /did not finish within 500 ms/);
  assert.ok(await eventually(async () => (await metricNow("sluice_ws_resume_readers")) === 0));

  const received = client.events(topic).length;
  assert.ok(received < EVENT_COUNT, `${received} events were replayed before the time ran out`);
  await system.produce(topic, [{ value: '"after"' }]);
  const witness = await TestClient.open(t, system.url);
  await witness.subscribe({ topic, resume: { "0": EVENT_COUNT - 1 } });
  await witness.waitForEvents(topic, 1);
  await client.roundTrip();
  assert.equal(client.events(topic).length, received, "the subscription ended with the replay");
});
