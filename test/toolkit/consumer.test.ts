// The inbox consumer against the embedded broker and both databases: each event is handled once, redeliveries are
// skipped, traces continue into the handler, readiness follows the group, the inbox is cleaned and the lag is
// measured.

import assert from "node:assert/strict";

import type { Queryable } from "../../src/store/index.js";
import type { InboxConsumer } from "../../src/toolkit/consumer.js";
import type { ConsumedEvent } from "../../src/toolkit/event.js";
import { toolkitRegistry } from "../../src/toolkit/metrics.js";
import type { EventOf } from "../../src/toolkit/topic.js";
import { addToOutbox } from "../../src/toolkit/outbox.js";
import { currentTraceparent, parseTraceparent, traceparentOf } from "../../src/toolkit/tracing.js";
import { brokerForTest, kafkaFor } from "../helpers/broker.js";
import { storeTest, waitFor } from "../store/harness.js";
import {
  consumerFor,
  counterValue,
  consumerScene,
  createTopic,
  handledCounts,
  handledTotal,
  insertHandled,
  orderTopic,
  publisherFor,
  stopAll,
  toolkitClientFor,
  uniqueGroup,
} from "./consumer-support.js";

storeTest("each event is handled once; redelivered events are skipped by the inbox", async (t, target) => {
  const { broker, client, db, topic, groupId, consumers } = await consumerScene(t, target, "once", 2);
  const traces: Array<{ event: string | null; handler: string | null }> = [];
  const handler = async (event: ConsumedEvent<EventOf<typeof topic>>, tx: Queryable) => {
    traces.push({ event: event.traceparent, handler: traceparentOf(tx) ?? null });
    await insertHandled(tx, event);
  };
  try {
    const first = consumerFor(consumers, { client, db, groupId, topics: [topic], handler });
    assert.equal(first.ready, false, "not ready before start");
    await first.start();
    await first.whenReady(10_000);
    assert.equal(first.ready, true);

    const publisher = publisherFor(t, client);
    const ids = await publisher.publishMany(
      topic,
      Array.from({ length: 20 }, (_, index) => ({ orderId: `o-${index}`, amount: index })),
    );
    await waitFor("20 handled events", async () => (await handledTotal(db)) === 20, 15_000);
    await first.stop();
    assert.equal(first.ready, false, "not ready after stop");
    assert.equal(first.state, "stopped");

    const counts = await handledCounts(db);
    assert.deepEqual([...counts.keys()].sort(), [...ids].sort());
    assert.ok([...counts.values()].every((rows) => rows === 1));
    assert.equal(await counterValue("sluice_events_consumed_total", { group: groupId }), 20);

    // The handler's transaction carried a child span of each event's trace.
    assert.equal(traces.length, 20);
    for (const trace of traces) {
      const parent = parseTraceparent(trace.event);
      const child = parseTraceparent(trace.handler);
      assert.ok(parent !== null && child !== null);
      assert.equal(child.traceId, parent.traceId);
      assert.notEqual(child.spanId, parent.spanId);
    }

    // Rewind the group to the start: every event is delivered again, and the inbox skips each one.
    const admin = kafkaFor(broker).admin();
    await admin.connect();
    await admin.setOffsets({
      groupId,
      topic: topic.name,
      partitions: [
        { partition: 0, offset: "0" },
        { partition: 1, offset: "0" },
      ],
    });
    // New events behind the redeliveries share their groups: the inbox statement for new events fails on the
    // redeliveries, and the group goes again with the one that skips them.
    const later = await publisher.publishMany(
      topic,
      Array.from({ length: 6 }, (_, index) => ({ orderId: `later-${index}`, amount: index })),
    );
    const second = consumerFor(consumers, { client, db, groupId, topics: [topic], handler });
    await second.start();
    await waitFor(
      "20 skipped redeliveries and 6 new events",
      async () =>
        (await counterValue("sluice_events_skipped_total", { group: groupId })) === 20 &&
        (await handledTotal(db)) === 26,
      15_000,
    );
    // Then, with no redelivery left, new events alone.
    const last = await publisher.publishMany(
      topic,
      Array.from({ length: 6 }, (_, index) => ({ orderId: `last-${index}`, amount: index })),
    );
    await waitFor("6 more new events", async () => (await handledTotal(db)) === 32, 15_000);
    await second.stop();
    const all = await handledCounts(db);
    assert.deepEqual([...all.keys()].sort(), [...ids, ...later, ...last].sort());
    assert.ok(
      [...all.values()].every((rows) => rows === 1),
      "no duplicate rows",
    );
    assert.equal(traces.length, 32, "the handler did not run for redeliveries");
    assert.equal(await counterValue("sluice_events_consumed_total", { group: groupId }), 32);
    const offsets = await admin.fetchOffsets({ groupId, topics: [topic.name] });
    const committed = offsets[0]!.partitions.reduce((sum, entry) => sum + Number(entry.offset), 0);
    assert.equal(committed, 32, "the redeliveries were committed");
  } finally {
    await stopAll(consumers);
  }
});

storeTest("events a handler adds to the outbox continue the consumed event's trace", async (t, target) => {
  const { client, db, topic, consumers } = await consumerScene(t, target, "trace");
  const followUp = orderTopic(1);
  await createTopic(client, topic);
  // With asyncTraceContext the trace is also the current one inside the handler; without, it is not.
  const currentInHandler = new Map<boolean, Array<string | null>>([
    [false, []],
    [true, []],
  ]);
  const consume = async (asyncTraceContext: boolean, orderId: string): Promise<string> => {
    const publisher = publisherFor(t, client);
    const published = await publisher.publish(topic, { orderId, amount: 1 });
    const consumer = consumerFor(consumers, {
      client,
      db,
      groupId: uniqueGroup("trace"),
      topics: [topic],
      asyncTraceContext,
      handler: async (event, tx) => {
        if (event.value.orderId !== orderId) return;
        currentInHandler.get(asyncTraceContext)!.push(currentTraceparent());
        await addToOutbox(tx, followUp, { orderId: `${orderId}-shipped`, amount: 1 });
      },
    });
    await consumer.start();
    await waitFor(
      `the follow-up of ${orderId}`,
      async () =>
        (await db.query("SELECT 1 FROM sluice_outbox WHERE partition_key = $1", [`${orderId}-shipped`])).rowCount === 1,
      15_000,
    );
    await consumer.stop();
    return published.traceparent;
  };
  const followUpTrace = async (orderId: string) => {
    const { rows } = await db.query<{ headers: Record<string, string> }>(
      "SELECT headers FROM sluice_outbox WHERE partition_key = $1",
      [`${orderId}-shipped`],
    );
    return parseTraceparent(rows[0]?.headers.traceparent);
  };
  try {
    for (const asyncTraceContext of [false, true]) {
      const orderId = `trace-${String(asyncTraceContext)}`;
      const consumed = parseTraceparent(await consume(asyncTraceContext, orderId));
      const produced = await followUpTrace(orderId);
      assert.ok(consumed !== null && produced !== null);
      assert.equal(produced.traceId, consumed.traceId, "the follow-up event is in the consumed event's trace");
      assert.notEqual(produced.spanId, consumed.spanId);
    }
    assert.deepEqual(currentInHandler.get(false), [null], "no async context unless asked for");
    const [current] = currentInHandler.get(true)!;
    assert.equal(parseTraceparent(current)?.traceId, (await followUpTrace("trace-true"))?.traceId);
  } finally {
    await stopAll(consumers);
  }
});

storeTest("a new consumer group starts from the earliest event unless told otherwise", async (t, target) => {
  const { client, db, topic, consumers } = await consumerScene(t, target, "start");
  try {
    // A first consumer creates the topic; nothing is published yet.
    const creator = consumerFor(consumers, {
      client,
      db,
      groupId: uniqueGroup("creator"),
      topics: [topic],
      handler: async () => undefined,
    });
    await creator.start();
    await creator.stop();
    const publisher = publisherFor(t, client);
    await publisher.publish(topic, { orderId: "early", amount: 1 });

    const latestOnly = consumerFor(consumers, {
      client,
      db,
      groupId: uniqueGroup("latest"),
      topics: [topic],
      fromBeginning: false,
      handler: async (event, tx) => insertHandled(tx, event),
    });
    const earliest = consumerFor(consumers, {
      client,
      db,
      groupId: uniqueGroup("earliest"),
      topics: [topic],
      handler: async (event, tx) => insertHandled(tx, event),
    });
    await latestOnly.start();
    await earliest.start();
    await latestOnly.whenReady(10_000);
    await waitFor("the early event handled by the default group", async () => (await handledTotal(db)) === 1, 10_000);
    await publisher.publish(topic, { orderId: "late", amount: 2 });
    await waitFor("the late event handled by both groups", async () => (await handledTotal(db)) === 3, 10_000);
    const { rows } = await db.query<{ order_id: string; rows: number }>(
      "SELECT order_id, count(*)::int AS rows FROM handled GROUP BY order_id ORDER BY order_id",
    );
    assert.deepEqual(rows, [
      { order_id: "early", rows: 1 },
      { order_id: "late", rows: 2 },
    ]);
  } finally {
    await stopAll(consumers);
  }
});

storeTest("inbox records are cleaned after the retention window; lag is measured per partition", async (t, target) => {
  const { client, db, topic, groupId, consumers } = await consumerScene(t, target, "lag", 2);
  let release: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  try {
    const consumer = consumerFor(consumers, {
      client,
      db,
      groupId,
      topics: [topic],
      inboxRetentionMs: 0,
      handler: async (event, tx) => {
        await gate;
        await insertHandled(tx, event);
      },
    });
    await consumer.start();
    await consumer.whenReady(10_000);
    const publisher = publisherFor(t, client);
    for (let index = 0; index < 6; index++) {
      await publisher.publish(topic, { orderId: `key-${index % 2 === 0 ? "a" : "b"}-${index}`, amount: index });
    }
    // The handler is held at the gate, so nothing is committed yet: the lag is every published event.
    const lagBefore = await consumer.refreshLag();
    const mainLag = lagBefore.filter((entry) => entry.topic === topic.name);
    assert.equal(mainLag.length, 2);
    assert.equal(
      mainLag.reduce((sum, entry) => sum + entry.lag, 0),
      6,
    );
    const retryLag = lagBefore.filter((entry) => entry.topic !== topic.name);
    assert.ok(retryLag.length > 0 && retryLag.every((entry) => entry.lag === 0), "retry topics are measured too");
    const gauge = await toolkitRegistry().getSingleMetric("sluice_consumer_lag")!.get();
    const gaugeTotal = gauge.values
      .filter((entry) => entry.labels.group === groupId && entry.labels.topic === topic.name)
      .reduce((sum, entry) => sum + entry.value, 0);
    assert.equal(gaugeTotal, 6);

    release();
    await waitFor("6 handled events", async () => (await handledTotal(db)) === 6, 10_000);
    await waitFor("the lag to reach 0", async () => {
      const lag = await consumer.refreshLag();
      return lag.every((entry) => entry.lag === 0);
    });

    const inboxRows = async () =>
      (
        await db.query<{ rows: number }>("SELECT count(*)::int AS rows FROM sluice_inbox WHERE consumer_group = $1", [
          groupId,
        ])
      ).rows[0]!.rows;
    assert.equal(await inboxRows(), 6);
    assert.equal(await consumer.cleanInbox(), 6);
    assert.equal(await inboxRows(), 0);
    assert.equal(await counterValue("sluice_inbox_cleaned_events_total", { group: groupId }), 6);
    assert.equal(await handledTotal(db), 6, "cleanup leaves business rows alone");
  } finally {
    release();
    await stopAll(consumers);
  }
});

storeTest("bad options and unknown topics get named errors", async (t, target) => {
  const broker = await brokerForTest(t);
  const client = toolkitClientFor(broker);
  const db = await target.open();
  const topic = orderTopic(1);
  const base = { client, db, groupId: uniqueGroup("bad"), topics: [topic], handler: async () => undefined };
  assert.throws(() => consumerFor([], { ...base, groupId: "" }), /groupId/);
  assert.throws(() => consumerFor([], { ...base, topics: [] }), /topics/);
  assert.throws(() => consumerFor([], { ...base, topics: [topic, topic] }), /twice/);
  assert.throws(() => consumerFor([], { ...base, concurrency: 0 }), /concurrency/);
  assert.throws(() => consumerFor([], { ...base, retry: { attempts: 0 } }), /SLUICE|attempts/);
  assert.throws(
    () => consumerFor([], { ...base, retry: { baseDelayMs: 1000, maxDelayMs: 10 } }),
    (error: unknown) => error instanceof Error && /maxDelayMs/.test(error.message),
  );
  const consumers: InboxConsumer[] = [];
  try {
    const strict = consumerFor(consumers, { ...base, createTopics: false });
    await assert.rejects(strict.start(), (error: unknown) => {
      assert.ok(error instanceof Error && "code" in error);
      assert.equal(error.code, "SLUICE_TOPIC_UNKNOWN");
      assert.match(error.message, new RegExp(topic.name));
      return true;
    });
    assert.equal(strict.state, "stopped");
    await assert.rejects(strict.start(), /create a new one/);
  } finally {
    await stopAll(consumers);
  }
});
