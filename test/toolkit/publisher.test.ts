import assert from "node:assert/strict";
import { test } from "node:test";

import { Type } from "@sinclair/typebox";

import { EVENT_HEADERS } from "../../src/toolkit/event.js";
import {
  EventTooLargeError,
  EventValidationError,
  PublishError,
  ToolkitError,
  ToolkitErrorCode,
  UnknownTopicError,
} from "../../src/toolkit/errors.js";
import { ensureTopics } from "../../src/toolkit/kafka/admin.js";
import { createPublisher, createRawPublisher } from "../../src/toolkit/publisher.js";
import { defineTopic } from "../../src/toolkit/topic.js";
import { parseTraceparent, runWithTraceparent } from "../../src/toolkit/tracing.js";
import { brokerForTest } from "../helpers/broker.js";
import { metricValue, readTopic, toolkitClientFor } from "./publishing-helpers.js";

const PARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

const priceChanged = defineTopic({
  name: "prices.changed",
  partitions: 3,
  eventType: "PriceChanged",
  schema: Type.Object({ sku: Type.String(), cents: Type.Integer({ minimum: 0 }) }),
  key: (event) => event.sku,
});

test("ensureTopics creates declared topics once and reports partition mismatches", async (t) => {
  const broker = await brokerForTest(t);
  const client = toolkitClientFor(broker);
  const first = await ensureTopics(client, [priceChanged, { name: "other", partitions: 2 }]);
  assert.deepEqual(first, { created: ["prices.changed", "other"], mismatched: [] });
  const again = await ensureTopics(client, [priceChanged, { name: "other", partitions: 5 }]);
  assert.deepEqual(again, { created: [], mismatched: [{ name: "other", partitions: 2, expected: 5 }] });
  const admin = client.admin();
  t.after(() => admin.disconnect());
  assert.equal(await admin.partitionCount("prices.changed"), 3);
  assert.equal(await admin.partitionCount("missing"), null);
  assert.deepEqual(
    (await admin.topicOffsets("other")).map((entry) => [entry.partition, entry.low, entry.high]),
    [
      [0, "0", "0"],
      [1, "0", "0"],
    ],
  );
  await assert.rejects(admin.topicOffsets("missing"), UnknownTopicError);
});

test("a typed publish validates, adds the standard headers and continues the current trace", async (t) => {
  const broker = await brokerForTest(t);
  const client = toolkitClientFor(broker);
  await ensureTopics(client, [priceChanged]);
  const publisher = createPublisher(client);
  t.after(() => publisher.close());
  const before = await metricValue("sluice_events_produced_total", { topic: "prices.changed", source: "publisher" });

  const published = await runWithTraceparent(PARENT, () => publisher.publish(priceChanged, { sku: "a", cents: 100 }));
  const ids = await publisher.publishMany(priceChanged, [
    { sku: "a", cents: 110 },
    { sku: "b", cents: 5 },
    { sku: "a", cents: 120 },
  ]);
  await assert.rejects(
    publisher.publish(priceChanged, { sku: "a", cents: -1 }),
    (error: unknown) => error instanceof EventValidationError && error.field === "cents",
  );
  await assert.rejects(
    publisher.publishMany(priceChanged, [{ sku: "c", cents: 1 }, { sku: "c" } as never]),
    EventValidationError,
    "one invalid event stops the whole batch before anything is sent",
  );

  const records = await readTopic(broker, "prices.changed", 4);
  assert.equal(records.length, 4, "nothing of the refused batches was sent");
  const first = records.find((record) => record.headers[EVENT_HEADERS.id] === published.id);
  assert.ok(first !== undefined);
  assert.equal(first.partition, published.partition);
  assert.equal(String(first.offset), published.offset);
  assert.equal(first.key, "a");
  assert.deepEqual(JSON.parse(first.value ?? ""), { sku: "a", cents: 100 });
  assert.equal(first.headers[EVENT_HEADERS.type], "PriceChanged");
  assert.equal(first.headers[EVENT_HEADERS.contentType], "application/json");
  assert.ok(!Number.isNaN(Date.parse(first.headers[EVENT_HEADERS.time] ?? "")));
  assert.equal(parseTraceparent(first.headers[EVENT_HEADERS.traceparent])?.traceId, "0af7651916cd43dd8448eb211c80319c");

  const keyA = records.filter((record) => record.key === "a").map((record) => JSON.parse(record.value ?? "").cents);
  assert.deepEqual(keyA, [100, 110, 120], "one key, one partition, in publish order");
  assert.equal(new Set(records.filter((record) => record.key === "a").map((record) => record.partition)).size, 1);
  const idsOfKeyA = records
    .filter((record) => record.key === "a" && record.headers[EVENT_HEADERS.id] !== published.id)
    .map((record) => record.headers[EVENT_HEADERS.id]);
  assert.deepEqual(idsOfKeyA, [ids[0], ids[2]], "publishMany returns the ids in input order");
  const after = await metricValue("sluice_events_produced_total", { topic: "prices.changed", source: "publisher" });
  assert.equal(after - before, 4);

  await publisher.close();
  await assert.rejects(
    publisher.publish(priceChanged, { sku: "a", cents: 1 }),
    (error: unknown) => error instanceof ToolkitError && error.code === ToolkitErrorCode.PUBLISHER_CLOSED,
  );
});

test("publishing to a topic the broker does not have fails with UnknownTopicError", async (t) => {
  const broker = await brokerForTest(t);
  const client = toolkitClientFor(broker);
  const undeclared = defineTopic({ name: "never.created", schema: Type.String() });
  const publisher = createPublisher(client);
  t.after(() => publisher.close());
  await assert.rejects(publisher.publish(undeclared, "x"), (error: unknown) => {
    assert.ok(error instanceof UnknownTopicError, String(error));
    assert.equal(error.code, ToolkitErrorCode.TOPIC_UNKNOWN);
    assert.equal(error.topic, "never.created");
    assert.match(error.message, /ensureTopics|sluice topics create/);
    return true;
  });
  // The failed send retired its producer; the next publish works once the topic exists.
  await ensureTopics(client, [undeclared]);
  const published = await publisher.publish(undeclared, "now");
  assert.equal(published.offset, "0");
});

test("the raw publisher sends records exactly as given, in order, and refuses oversized ones", async (t) => {
  const broker = await brokerForTest(t);
  const client = toolkitClientFor(broker);
  await ensureTopics(client, [{ name: "raw", partitions: 2 }]);
  const raw = await createRawPublisher(client);
  t.after(() => raw.close());
  await raw.publish("raw", [
    { key: "k", value: Buffer.from("one"), headers: { custom: "1" } },
    { key: null, value: null, headers: {}, partition: 1 },
    { key: "k", value: Buffer.from("two"), headers: { [EVENT_HEADERS.id]: "kept-as-is" } },
  ]);
  // Three values near the limit need three produce requests; they still arrive in order.
  const big = "x".repeat(600_000);
  await raw.publish(
    "raw",
    ["a", "b", "c"].map((tag) => ({ key: "big", value: Buffer.from(tag + big), headers: {}, partition: 0 })),
  );
  await assert.rejects(
    raw.publish("raw", [{ key: null, value: Buffer.alloc(1_000_001), headers: {} }]),
    EventTooLargeError,
  );
  const records = await readTopic(broker, "raw", 6);
  assert.equal(records.length, 6);
  const tombstone = records.find((record) => record.value === null);
  assert.deepEqual(tombstone, { partition: 1, offset: tombstone?.offset, key: null, value: null, headers: {} });
  const keyed = records.filter((record) => record.key === "k");
  assert.deepEqual(
    keyed.map((record) => [record.value, record.headers]),
    [
      ["one", { custom: "1" }],
      ["two", { [EVENT_HEADERS.id]: "kept-as-is" }],
    ],
  );
  assert.deepEqual(
    records.filter((record) => record.key === "big").map((record) => record.value?.charAt(0)),
    ["a", "b", "c"],
  );
});

test("createRawPublisher rejects with a retriable PublishError when no broker answers", async (t) => {
  const broker = await brokerForTest(t);
  const address = broker.address;
  await broker.close();
  const client = toolkitClientFor({ address });
  await assert.rejects(createRawPublisher(client), (error: unknown) => {
    assert.ok(error instanceof PublishError, String(error));
    assert.equal(error.retriable, true);
    assert.match(error.message, new RegExp(`cannot reach the brokers at ${address}`));
    return true;
  });
});
