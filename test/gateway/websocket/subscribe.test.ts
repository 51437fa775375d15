import assert from "node:assert/strict";
import { request } from "node:http";
import { test } from "node:test";

import { WebSocket } from "ws";

import { SLUICE_SUBPROTOCOL, WebSocketCloseCode } from "../../../src/gateway/websocket/index.js";
import { eventually } from "../../helpers/broker.js";
import { startSystem, TestClient, uniqueTopic } from "./fixture.js";

test("a subscriber receives each new event as JSON: topic, partition, offset, key, value, headers, timestamp", async (t) => {
  const system = await startSystem(t);
  const topic = uniqueTopic();
  await system.createTopic(topic, 2);
  await system.produce(topic, [{ partition: 0, key: "before", value: '{"old":true}' }]);

  const client = await TestClient.open(t, system.url, [SLUICE_SUBPROTOCOL]);
  assert.equal(client.ws.protocol, SLUICE_SUBPROTOCOL);
  assert.deepEqual(await client.waitForType("welcome"), { type: "welcome", user: null, authRequired: false });
  client.send({ type: "subscribe", topic, id: "s1" });
  assert.deepEqual(await client.waitForType("subscribed", "s1"), {
    type: "subscribed",
    topic,
    key: null,
    offsets: { "0": 1, "1": 0 },
    id: "s1",
  });

  const producedAt = Date.now();
  await system.produce(topic, [
    { partition: 1, key: "order-1", value: '{"amount":12,"items":["a"]}', headers: { "sluice-event-id": "e-1" } },
    { partition: 0, key: null, value: "plain text, not JSON" },
    { partition: 0, key: "gone", value: null },
  ]);
  const events = await client.waitForEvents(topic, 3);
  const byPartition = (partition: number) => events.filter((event) => event.partition === partition);
  assert.deepEqual(
    byPartition(1).map(({ timestamp: _timestamp, ...rest }) => rest),
    [
      {
        type: "event",
        topic,
        partition: 1,
        offset: 0,
        key: "order-1",
        value: { amount: 12, items: ["a"] },
        headers: { "sluice-event-id": "e-1" },
      },
    ],
  );
  assert.deepEqual(
    byPartition(0).map(({ offset, key, value }) => ({ offset, key, value })),
    [
      { offset: 1, key: null, value: "plain text, not JSON" },
      { offset: 2, key: "gone", value: null },
    ],
  );
  for (const event of events) {
    assert.equal(typeof event.timestamp, "number");
    assert.ok(Math.abs(event.timestamp - producedAt) < 60_000, "the timestamp is the record's, in milliseconds");
  }
  await client.roundTrip();
  assert.equal(client.events(topic).length, 3, "the event stored before subscribing was not sent");
});

test("a key filter delivers only that key's events, in order, while other subscribers get every event", async (t) => {
  const system = await startSystem(t);
  const topic = uniqueTopic();
  await system.createTopic(topic, 3);
  const everything = await TestClient.open(t, system.url);
  const filtered = await TestClient.open(t, system.url);
  await everything.subscribe({ topic });
  assert.equal((await filtered.subscribe({ topic, key: "user-7" })).key, "user-7");

  const messages = Array.from({ length: 12 }, (_, index) => ({
    key: index % 3 === 0 ? "user-7" : `other-${index}`,
    value: JSON.stringify({ index }),
  }));
  await system.produce(topic, messages);
  await everything.waitForEvents(topic, 12);
  const mine = await filtered.waitForEvents(topic, 4);
  assert.deepEqual(
    mine.map((event) => (event.value as { index: number }).index),
    [0, 3, 6, 9],
  );
  assert.ok(mine.every((event) => event.key === "user-7"));
  await filtered.roundTrip();
  assert.equal(filtered.events(topic).length, 4);
});

test("unsubscribe stops the events; subscribing again replaces the key filter", async (t) => {
  const system = await startSystem(t);
  const topic = uniqueTopic();
  await system.createTopic(topic);
  const leaving = await TestClient.open(t, system.url);
  const witness = await TestClient.open(t, system.url);
  await leaving.subscribe({ topic, key: "a" });
  await witness.subscribe({ topic });

  await system.produce(topic, [{ key: "a", value: "1" }]);
  await leaving.waitForEvents(topic, 1);

  const replaced = await leaving.subscribe({ topic });
  assert.equal(replaced.key, null);
  await system.produce(topic, [{ key: "b", value: "2" }]);
  assert.deepEqual(
    (await leaving.waitForEvents(topic, 2)).map((event) => event.value),
    [1, 2],
  );

  leaving.send({ type: "unsubscribe", topic, id: "u1" });
  assert.deepEqual(await leaving.waitForType("unsubscribed", "u1"), { type: "unsubscribed", topic, id: "u1" });
  await system.produce(topic, [{ key: "a", value: "3" }]);
  await witness.waitForEvents(topic, 3);
  await leaving.roundTrip();
  assert.equal(leaving.events(topic).length, 2, "nothing arrives after unsubscribing");
});

test("bad requests are answered with error messages naming the problem, and the connection stays usable", async (t) => {
  const system = await startSystem(t);
  const topic = uniqueTopic();
  await system.createTopic(topic);
  const client = await TestClient.open(t, system.url);

  const answer = async (message: unknown): Promise<Record<string, unknown>> => {
    const before = client.received.length;
    if (Buffer.isBuffer(message)) client.ws.send(message);
    else client.send(message);
    const [reply] = await client.waitFor((m) => client.received.indexOf(m) >= before && m.type === "error");
    const { type: _type, message: text, ...rest } = reply as Record<string, unknown>;
    assert.equal(typeof text, "string");
    assert.ok((text as string).length > 0);
    return rest;
  };

  assert.deepEqual(await answer("{not json"), { code: "SLUICE_INVALID_JSON" });
  assert.deepEqual(await answer([1, 2]), { code: "SLUICE_VALIDATION_FAILED", field: "type" });
  assert.deepEqual(await answer({ type: "publish", id: 7 }), {
    code: "SLUICE_VALIDATION_FAILED",
    field: "type",
    id: 7,
  });
  assert.deepEqual(await answer({ type: "subscribe" }), { code: "SLUICE_VALIDATION_FAILED", field: "topic" });
  assert.deepEqual(await answer({ type: "subscribe", topic: "bad topic!" }), {
    code: "SLUICE_VALIDATION_FAILED",
    field: "topic",
  });
  assert.deepEqual(await answer({ type: "subscribe", topic, key: 5 }), {
    code: "SLUICE_VALIDATION_FAILED",
    field: "key",
  });
  assert.deepEqual(await answer({ type: "subscribe", topic, resume: { x: 1 } }), {
    code: "SLUICE_VALIDATION_FAILED",
    field: "resume.x",
  });
  assert.deepEqual(await answer({ type: "subscribe", topic, resume: { "0": -5 } }), {
    code: "SLUICE_VALIDATION_FAILED",
    field: "resume.0",
  });
  assert.deepEqual(await answer({ type: "subscribe", topic, resume: { "4": 0 }, id: "r" }), {
    code: "SLUICE_VALIDATION_FAILED",
    field: "resume.4",
    topic,
    id: "r",
  });
  assert.deepEqual(await answer({ type: "subscribe", topic: "no-such-topic", id: "n" }), {
    code: "SLUICE_NOT_FOUND",
    field: "topic",
    topic: "no-such-topic",
    id: "n",
  });
  assert.deepEqual(await answer({ type: "subscribe", topic: "__consumer_offsets" }), {
    code: "SLUICE_FORBIDDEN",
    field: "topic",
    topic: "__consumer_offsets",
  });
  assert.deepEqual(await answer({ type: "auth", token: "abc" }), { code: "SLUICE_VALIDATION_FAILED", field: "token" });
  assert.deepEqual(await answer(Buffer.from([1, 2, 3])), { code: "SLUICE_VALIDATION_FAILED" });

  await client.subscribe({ topic });
  await system.produce(topic, [{ value: '"still works"' }]);
  assert.equal((await client.waitForEvents(topic, 1))[0]?.value, "still works");
});

test("limits: subscriptions per connection, message size and connections", async (t) => {
  const system = await startSystem(t, {
    subscriptionsPerConnectionMax: 2,
    clientMessageBytesMax: 512,
    connectionsMax: 2,
  });
  const topics = [uniqueTopic(), uniqueTopic(), uniqueTopic()];
  for (const topic of topics) await system.createTopic(topic);
  const client = await TestClient.open(t, system.url);
  await client.subscribe({ topic: topics[0] });
  await client.subscribe({ topic: topics[1] });
  client.send({ type: "subscribe", topic: topics[2], id: "third" });
  const refused = await client.waitForType("error", "third");
  assert.equal(refused.code, "SLUICE_LIMIT_EXCEEDED");
  await client.subscribe({ topic: topics[1], key: "k" });

  const second = await TestClient.open(t, system.url);
  const refusal = await new Promise<{ status: number | undefined; body: string }>((resolve, reject) => {
    const third = new WebSocket(system.url);
    third.on("error", () => undefined);
    third.on("open", () => reject(new Error("a connection over the limit was accepted")));
    third.on("unexpected-response", (_request, response) => {
      let body = "";
      response.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")));
      response.on("end", () => resolve({ status: response.statusCode, body }));
    });
  });
  assert.equal(refusal.status, 503);
  assert.equal(JSON.parse(refusal.body).error, "SLUICE_UNAVAILABLE");

  second.send({ type: "subscribe", topic: "x".repeat(600) });
  assert.equal((await second.closed).code, 1009, "a message over clientMessageBytesMax closes with 1009");
  await eventually(() => system.gateway.connectionCount() === 1);
  const again = await TestClient.open(t, system.url);
  assert.equal((await again.waitForType("welcome")).type, "welcome", "a freed slot takes a new connection");
});

test("requests waiting beyond the per-connection limit are refused instead of queued", async (t) => {
  const system = await startSystem(t, { pendingRequestsPerConnectionMax: 3 });
  const topic = uniqueTopic();
  await system.createTopic(topic);
  const client = await TestClient.open(t, system.url);
  await client.waitForType("welcome");
  // The first subscribe waits for the topic's reader to start; the burst behind it piles up meanwhile.
  for (let index = 0; index < 10; index += 1) client.send({ type: "subscribe", topic, id: index });
  // Handled requests are answered with their id; refused ones before they are read, so without it.
  const answers = await client.waitFor((m) => typeof m.id === "number" || m.code === "SLUICE_LIMIT_EXCEEDED", 10);
  const refused = answers.filter((m) => m.type === "error");
  assert.ok(refused.length >= 6, `${refused.length} of 10 refused`);
  assert.ok(refused.every((m) => m.code === "SLUICE_LIMIT_EXCEEDED" && m.id === undefined));
  assert.equal(answers.find((m) => m.id === 0)?.type, "subscribed");
});

test("a client that stops answering pings is dropped; one that answers stays", async (t) => {
  const system = await startSystem(t, { pingIntervalMs: 100 });
  const silent = await TestClient.open(t, system.url, undefined, { autoPong: false });
  const answering = await TestClient.open(t, system.url);
  assert.equal((await silent.closed).code, 1006);
  assert.ok(await eventually(() => system.gateway.connectionCount() === 1));
  await answering.roundTrip();
  assert.equal(answering.ws.readyState, WebSocket.OPEN);
});

test("an upgrade on another path is refused with 404 while the HTTP routes keep working", async (t) => {
  const system = await startSystem(t);
  const status = await new Promise<number | undefined>((resolve, reject) => {
    const client = new WebSocket(system.url.replace(/\/ws$/, "/elsewhere"));
    client.on("error", () => undefined);
    client.on("open", () => reject(new Error("an upgrade on another path was accepted")));
    client.on("unexpected-response", (_request, response) => resolve(response.statusCode));
  });
  assert.equal(status, 404);
  const health = await new Promise<number | undefined>((resolve, reject) => {
    const httpUrl = `${system.url.replace(/^ws/, "http").replace(/\/ws$/, "")}/healthz`;
    request(httpUrl, (response) => {
      response.resume();
      resolve(response.statusCode);
    })
      .on("error", reject)
      .end();
  });
  assert.equal(health, 200);
});

test("/metrics counts connections, subscriptions and events sent", async (t) => {
  const system = await startSystem(t);
  const topic = uniqueTopic();
  await system.createTopic(topic);
  const metricsUrl = `${system.url.replace(/^ws/, "http").replace(/\/ws$/, "")}/metrics`;
  const scrape = async (): Promise<string> => (await fetch(metricsUrl)).text();
  const value = (text: string, series: string): number => {
    const line = text.split("\n").find((candidate) => candidate.startsWith(`${series} `));
    return line === undefined ? 0 : Number(line.slice(series.length + 1));
  };
  const before = await scrape();

  const clients = [await TestClient.open(t, system.url), await TestClient.open(t, system.url)];
  for (const client of clients) await client.subscribe({ topic });
  await system.produce(topic, [{ value: "1" }, { value: "2" }, { value: "3" }]);
  for (const client of clients) await client.waitForEvents(topic, 3);

  const after = await scrape();
  assert.equal(value(after, "sluice_ws_connections") - value(before, "sluice_ws_connections"), 2);
  assert.equal(value(after, "sluice_ws_subscriptions") - value(before, "sluice_ws_subscriptions"), 2);
  assert.equal(value(after, `sluice_ws_events_sent_total{topic="${topic}"}`), 6);
  assert.equal(value(after, "sluice_ws_tailed_topics") - value(before, "sluice_ws_tailed_topics"), 1);
});

test("closing the gateway closes every client with 1001 and stops reading topics", async (t) => {
  const system = await startSystem(t);
  const topic = uniqueTopic();
  await system.createTopic(topic);
  const client = await TestClient.open(t, system.url);
  await client.subscribe({ topic });
  assert.equal(system.gateway.topicCount(), 1);

  await system.http.close();
  assert.deepEqual(await client.closed, { code: WebSocketCloseCode.GOING_AWAY, reason: "server shutting down" });
  assert.equal(system.gateway.topicCount(), 0);
  assert.equal(system.gateway.connectionCount(), 0);
});
