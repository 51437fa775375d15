// Stopping and crashing the inbox consumer against the embedded broker and both databases: a graceful stop finishes
// the event in progress and commits it; a crash at any point of an event's processing leads, after a restart, to
// exactly one row for it.

import assert from "node:assert/strict";

import type { ConsumerCrashPoint, InboxConsumer } from "../../src/toolkit/consumer.js";
import { brokerForTest, kafkaFor } from "../helpers/broker.js";
import { storeTest, waitFor } from "../store/harness.js";
import {
  consumerFor,
  counterValue,
  createBusinessTable,
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

storeTest("a graceful stop finishes the event in progress and commits what was processed", async (t, target) => {
  const broker = await brokerForTest(t);
  const client = toolkitClientFor(broker);
  const db = await target.open();
  await createBusinessTable(db);
  const topic = orderTopic(1);
  const groupId = uniqueGroup("stop");
  const consumers: InboxConsumer[] = [];
  let slowStarted = false;
  let releaseSlow: () => void = () => undefined;
  const slowGate = new Promise<void>((resolve) => {
    releaseSlow = resolve;
  });
  try {
    const first = consumerFor(consumers, {
      client,
      db,
      groupId,
      topics: [topic],
      handler: async (event, tx) => {
        if (event.value.orderId === "o-2") {
          slowStarted = true;
          await slowGate;
        }
        await insertHandled(tx, event);
      },
    });
    await first.start();
    await first.whenReady(10_000);
    const publisher = publisherFor(t, client);
    const ids = await publisher.publishMany(
      topic,
      Array.from({ length: 5 }, (_, index) => ({ orderId: `o-${index}`, amount: index })),
    );
    await waitFor("the slow handler to start", () => slowStarted, 10_000);
    const stopping = first.stop();
    assert.equal(first.ready, false, "not ready once stopping");
    assert.equal(first.state, "stopping");
    await new Promise((resolve) => setTimeout(resolve, 100));
    releaseSlow();
    await stopping;
    assert.equal(first.state, "stopped");
    assert.equal(await handledTotal(db), 3, "the event in progress finished; no later one started");

    const admin = kafkaFor(broker).admin();
    await admin.connect();
    const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic.name] });
    assert.equal(offsets?.partitions[0]?.offset, "3", "the offset after the finished event was committed");

    const second = consumerFor(consumers, {
      client,
      db,
      groupId,
      topics: [topic],
      handler: async (event, tx) => insertHandled(tx, event),
    });
    await second.start();
    await waitFor("the remaining events", async () => (await handledTotal(db)) === 5, 10_000);
    await second.stop();
    const counts = await handledCounts(db);
    for (const id of ids) assert.equal(counts.get(id), 1);
    assert.equal(await counterValue("sluice_events_skipped_total", { group: groupId }), 0, "nothing was redelivered");
  } finally {
    releaseSlow();
    await stopAll(consumers);
  }
});

storeTest(
  "a crash before, inside or after the transaction (or a kill mid-handler) leaves exactly one row after a restart",
  async (t, target) => {
    const broker = await brokerForTest(t);
    const client = toolkitClientFor(broker);
    const db = await target.open();
    await createBusinessTable(db);
    const topic = orderTopic(1);
    const groupId = uniqueGroup("crash");
    const consumers: InboxConsumer[] = [];
    const publisher = publisherFor(t, client);
    await createTopic(client, topic);
    // "mid-handler" is kill() called by the handler itself, while its transaction is open.
    type Point = ConsumerCrashPoint | "mid-handler";
    const expectedSkips: Record<Point, number> = {
      "before-handler": 0,
      "mid-handler": 0,
      "after-handler": 0,
      "after-commit": 1,
    };
    let handlerRuns = 0;
    try {
      for (const point of ["before-handler", "mid-handler", "after-handler", "after-commit"] as const) {
        const skippedBefore = await counterValue("sluice_events_skipped_total", { group: groupId });
        const runsBefore = handlerRuns;
        const event = await publisher.publish(topic, { orderId: `crash-${point}`, amount: 1 });
        const doomed = consumerFor(consumers, {
          client,
          db,
          groupId,
          topics: [topic],
          handler: async (consumed, tx) => {
            handlerRuns++;
            await insertHandled(tx, consumed);
            if (point === "mid-handler" && consumed.id === event.id) doomed.kill();
          },
          hooks: {
            at: (context) => {
              if (context.point === point && context.eventId === event.id) throw new Error(`crash at ${point}`);
            },
          },
        });
        await doomed.start();
        await waitFor(`the crash at ${point}`, () => doomed.state === "crashed", 10_000);
        await doomed.whenStopped();
        assert.equal(doomed.ready, false);
        const rowsAfterCrash = (await handledCounts(db)).get(event.id) ?? 0;
        assert.equal(rowsAfterCrash, point === "after-commit" ? 1 : 0, `rows after a crash at ${point}`);

        const survivor = consumerFor(consumers, {
          client,
          db,
          groupId,
          topics: [topic],
          handler: async (consumed, tx) => {
            handlerRuns++;
            await insertHandled(tx, consumed);
          },
        });
        await survivor.start();
        await waitFor(
          `the redelivery after a crash at ${point}`,
          async () => {
            const handled = (await handledCounts(db)).get(event.id) ?? 0;
            const skipped = await counterValue("sluice_events_skipped_total", { group: groupId });
            return handled === 1 && skipped === skippedBefore + expectedSkips[point];
          },
          10_000,
        );
        await survivor.stop();
        assert.equal((await handledCounts(db)).get(event.id), 1, `exactly one row after a crash at ${point}`);
        // Only a crash inside the transaction made the handler's work roll back and run again.
        const expectedRuns = point === "after-handler" || point === "mid-handler" ? 2 : 1;
        assert.equal(handlerRuns - runsBefore, expectedRuns, `handler runs for a crash at ${point}`);
      }
      assert.equal(await handledTotal(db), 4);
    } finally {
      await stopAll(consumers);
    }
  },
);
