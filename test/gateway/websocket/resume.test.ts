import assert from "node:assert/strict";
import { test } from "node:test";

import type { Counter, Gauge } from "prom-client";

import { toolkitRegistry } from "../../../src/toolkit/metrics.js";
import { eventually, kafkaFor } from "../../helpers/broker.js";
import { startSystem, TestClient, uniqueTopic, type EventMessage } from "./fixture.js";

function offsetsOf(events: EventMessage[], partition: number): number[] {
  return events.filter((event) => event.partition === partition).map((event) => event.offset);
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, index) => from + index);
}

async function metricNow(name: string): Promise<number> {
  const metric = toolkitRegistry().getSingleMetric(name) as Gauge | Counter | undefined;
  return (await metric?.get())?.values[0]?.value ?? 0;
}

test("a client resuming after a reconnect gets exactly what it missed from recent events, then live ones", async (t) => {
  const system = await startSystem(t);
  const topic = uniqueTopic();
  await system.createTopic(topic);
  const first = await TestClient.open(t, system.url);
  await first.subscribe({ topic });
  await system.produce(
    topic,
    range(0, 5).map((index) => ({ value: String(index) })),
  );
  const seen = await first.waitForEvents(topic, 5);
  const lastSeen = seen[seen.length - 1]?.offset;
  assert.equal(lastSeen, 4);
  first.ws.terminate();

  await system.produce(
    topic,
    range(5, 10).map((index) => ({ value: String(index) })),
  );
  const replaysBefore = await metricNow("sluice_ws_replays_total");
  const second = await TestClient.open(t, system.url);
  const subscribed = await second.subscribe({ topic, resume: { "0": lastSeen } });
  assert.deepEqual(subscribed.offsets, { "0": 5 });
  await second.waitForEvents(topic, 5);
  await system.produce(topic, [{ value: "10" }]);
  const events = await second.waitForEvents(topic, 6);
  assert.deepEqual(
    events.map((event) => event.offset),
    range(5, 11),
  );
  await second.roundTrip();
  assert.equal(second.events(topic).length, 6, "no event arrives twice");
  assert.equal(await metricNow("sluice_ws_replays_total"), replaysBefore, "served from recent events, no replay");
});

test("a resume older than the recent events is replayed from the log, per partition, then joins the live stream", async (t) => {
  const system = await startSystem(t, { recentEventsPerTopicMax: 3 });
  const topic = uniqueTopic();
  await system.createTopic(topic, 2);
  const first = await TestClient.open(t, system.url);
  await first.subscribe({ topic });
  const batch = (from: number, to: number) =>
    range(from, to).flatMap((index) => [
      { partition: 0, key: `k${index % 2}`, value: JSON.stringify({ index }) },
      { partition: 1, key: `k${index % 2}`, value: JSON.stringify({ index }) },
    ]);
  await system.produce(topic, batch(0, 10));
  await first.waitForEvents(topic, 20);

  // The client saw offsets 0..2 of each partition before it lost its connection.
  const replaysBefore = await metricNow("sluice_ws_replays_total");
  const resumed = await TestClient.open(t, system.url);
  const subscribed = await resumed.subscribe({ topic, resume: { "0": 2, "1": 2 } });
  assert.deepEqual(subscribed.offsets, { "0": 3, "1": 3 });
  const filtered = await TestClient.open(t, system.url);
  await filtered.subscribe({ topic, key: "k1", resume: { "0": 2, "1": -1 } });
  await resumed.waitForEvents(topic, 14);
  await system.produce(topic, batch(10, 12));
  const events = await resumed.waitForEvents(topic, 18);
  assert.deepEqual(offsetsOf(events, 0), range(3, 12));
  assert.deepEqual(offsetsOf(events, 1), range(3, 12));

  const keyed = await filtered.waitForEvents(topic, 11);
  assert.deepEqual(offsetsOf(keyed, 0), [3, 5, 7, 9, 11]);
  assert.deepEqual(offsetsOf(keyed, 1), [1, 3, 5, 7, 9, 11]);
  assert.ok(keyed.every((event) => event.key === "k1"));

  await resumed.roundTrip();
  await filtered.roundTrip();
  assert.equal(resumed.events(topic).length, 18, "no event arrives twice");
  assert.equal(filtered.events(topic).length, 11);
  assert.equal(
    await metricNow("sluice_ws_replays_total"),
    replaysBefore + 2,
    "both resumes were replayed from the log",
  );
  assert.ok(
    await eventually(async () => (await metricNow("sluice_ws_resume_readers")) === 0),
    "replay readers finish and are released",
  );

  const admin = kafkaFor(system.broker).admin();
  await admin.connect();
  assert.ok(
    await eventually(async () => {
      const { groups } = await admin.listGroups();
      return !groups.some((group) => group.groupId.startsWith(`sluice-ws-replay-${topic}`));
    }),
    "replays read by manual assignment and leave no consumer group behind",
  );
});

test("after the gateway restarts, a client resumes from its last offset, or from the start with -1", async (t) => {
  const system = await startSystem(t);
  const topic = uniqueTopic();
  await system.createTopic(topic);
  const before = await TestClient.open(t, system.url);
  await before.subscribe({ topic });
  await system.produce(
    topic,
    range(0, 5).map((index) => ({ value: String(index) })),
  );
  const lastSeen = (await before.waitForEvents(topic, 5)).at(-1)?.offset;

  await system.restartGateway();
  assert.equal((await before.closed).code, 1001);
  await system.produce(
    topic,
    range(5, 8).map((index) => ({ value: String(index) })),
  );

  const after = await TestClient.open(t, system.url);
  await after.subscribe({ topic, resume: { "0": lastSeen } });
  const fromStart = await TestClient.open(t, system.url);
  await fromStart.subscribe({ topic, resume: { "0": -1 } });
  await after.waitForEvents(topic, 3);
  await system.produce(topic, [{ value: "8" }]);
  assert.deepEqual(
    (await after.waitForEvents(topic, 4)).map((event) => event.value),
    [5, 6, 7, 8],
  );
  assert.deepEqual(
    (await fromStart.waitForEvents(topic, 9)).map((event) => event.value),
    range(0, 9),
  );
});

test("when every replay slot is taken, a resume that needs one is refused with SLUICE_UNAVAILABLE", async (t) => {
  const system = await startSystem(t, { resumeReadersMax: 0, recentEventsPerTopicMax: 2 });
  const topic = uniqueTopic();
  await system.createTopic(topic);
  const first = await TestClient.open(t, system.url);
  await first.subscribe({ topic });
  await system.produce(
    topic,
    range(0, 6).map((index) => ({ value: String(index) })),
  );
  await first.waitForEvents(topic, 6);

  const client = await TestClient.open(t, system.url);
  client.send({ type: "subscribe", topic, resume: { "0": 0 }, id: "old" });
  const refused = await client.waitForType("error", "old");
  assert.equal(refused.code, "SLUICE_UNAVAILABLE");
  assert.equal(refused.topic, topic);

  const recent = await client.subscribe({ topic, resume: { "0": 3 } });
  assert.deepEqual(recent.offsets, { "0": 4 });
  assert.deepEqual(
    (await client.waitForEvents(topic, 2)).map((event) => event.offset),
    [4, 5],
  );
});

test("a resume older than what the broker still stores starts at the earliest stored event", async (t) => {
  const system = await startSystem(t);
  const topic = uniqueTopic();
  await system.createTopic(topic);
  await system.produce(
    topic,
    range(0, 10).map((index) => ({ value: String(index) })),
  );
  const admin = kafkaFor(system.broker).admin();
  await admin.connect();
  await admin.fetchTopicMetadata({ topics: [topic] });
  await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: "6" }] });

  const partly = await TestClient.open(t, system.url);
  assert.deepEqual((await partly.subscribe({ topic, resume: { "0": -1 } })).offsets, { "0": 6 });
  assert.deepEqual(
    (await partly.waitForEvents(topic, 4)).map((event) => event.offset),
    [6, 7, 8, 9],
  );

  await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: "10" }] });
  const replaysBefore = await metricNow("sluice_ws_replays_total");
  const nothingLeft = await TestClient.open(t, system.url);
  assert.deepEqual((await nothingLeft.subscribe({ topic, resume: { "0": 2 } })).offsets, { "0": 10 });
  assert.equal(await metricNow("sluice_ws_replays_total"), replaysBefore, "nothing stored is left to replay");
  await system.produce(topic, [{ value: "10" }]);
  assert.deepEqual(
    (await nothingLeft.waitForEvents(topic, 1)).map((event) => event.offset),
    [10],
  );
});
