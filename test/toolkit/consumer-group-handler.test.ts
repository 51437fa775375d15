// The inbox consumer's groupHandler against the embedded broker and both databases: a partition's events are
// handed over a group at a time and each is handled once; when the group handler fails, the events run again one
// by one through the handler, so that only the event at fault fails and the others are still processed.

import assert from "node:assert/strict";

import type { Queryable } from "../../src/store/index.js";
import { NonRetriableError } from "../../src/toolkit/retry.js";
import { storeTest, waitFor } from "../store/harness.js";
import {
  consumerOfScene,
  consumerScene,
  counterValue,
  createTopic,
  handledCounts,
  handledTotal,
  insertHandled,
  publisherFor,
  stopAll,
} from "./consumer-support.js";

const EVENTS = 60;

/** One INSERT for every event of a group. */
async function insertAllHandled(
  tx: Queryable,
  events: ReadonlyArray<{ id: string; partition: number; value: { orderId: string } }>,
): Promise<void> {
  const params = events.flatMap((event) => [event.id, event.value.orderId, event.partition]);
  const tuples = events.map((_, index) => `($${3 * index + 1}, $${3 * index + 2}, $${3 * index + 3}::integer)`);
  await tx.query(`INSERT INTO handled (event_id, order_id, partition) VALUES ${tuples.join(", ")}`, params);
}

storeTest("a group handler takes a partition's events a group at a time, each once", async (t, target) => {
  const scene = await consumerScene(t, target, "group-handler");
  const { client, db, topic, groupId } = scene;
  const groupSizes: number[] = [];
  let singleCalls = 0;
  try {
    await createTopic(client, topic);
    // Published before the consumer starts, so that its first fetch brings many events at once.
    const ids = await publisherFor(t, client).publishMany(
      topic,
      Array.from({ length: EVENTS }, (_, index) => ({ orderId: `o-${index}`, amount: index })),
    );
    const consumer = consumerOfScene(scene, {
      handler: async (event, tx) => {
        singleCalls += 1;
        await insertHandled(tx, event);
      },
      groupHandler: async (events, tx) => {
        groupSizes.push(events.length);
        await insertAllHandled(tx, events);
      },
    });
    await consumer.start();
    await waitFor(`${EVENTS} handled events`, async () => (await handledTotal(db)) === EVENTS, 30_000);
    const counts = await handledCounts(db);
    assert.deepEqual([...counts.keys()].sort(), [...ids].sort());
    assert.ok(
      [...counts.values()].every((rows) => rows === 1),
      "each event was handled once",
    );
    assert.equal(singleCalls, 0, "the one-event handler was not needed");
    assert.equal(
      groupSizes.reduce((sum, size) => sum + size, 0),
      EVENTS,
    );
    assert.ok(Math.max(...groupSizes) > 1, `groups: ${groupSizes.join(", ")}`);
    await waitFor(
      "every event counted as consumed",
      async () => (await counterValue("sluice_events_consumed_total", { group: groupId })) === EVENTS,
      10_000,
    );
  } finally {
    await stopAll(scene.consumers);
  }
});

storeTest("when a group handler fails, only the event at fault fails; the others are processed", async (t, target) => {
  const scene = await consumerScene(t, target, "group-handler-fail");
  const { client, db, topic, groupId } = scene;
  const bad = "o-13";
  try {
    await createTopic(client, topic);
    const values = Array.from({ length: EVENTS }, (_, index) => ({ orderId: `o-${index}`, amount: index }));
    await publisherFor(t, client).publishMany(topic, values);
    const consumer = consumerOfScene(scene, {
      handler: async (event, tx) => {
        if (event.value.orderId === bad) throw new NonRetriableError("this order cannot be handled");
        await insertHandled(tx, event);
      },
      groupHandler: async (events, tx) => {
        // The group's INSERT goes through before the failure, which must roll it back.
        await insertAllHandled(tx, events);
        if (events.some((event) => event.value.orderId === bad)) throw new Error("one order in the group is bad");
      },
    });
    await consumer.start();
    await waitFor(`${EVENTS - 1} handled events`, async () => (await handledTotal(db)) === EVENTS - 1, 30_000);
    await waitFor(
      "the bad event counted as failed",
      async () => (await counterValue("sluice_events_failed_total", { group: groupId })) === 1,
      20_000,
    );
    const { rows } = await db.query<{ order_id: string; rows: number }>(
      "SELECT order_id, count(*)::int AS rows FROM handled GROUP BY order_id",
    );
    const byOrder = new Map(rows.map((row) => [row.order_id, row.rows]));
    assert.equal(byOrder.get(bad), undefined, "the bad event's group INSERT was rolled back");
    for (const { orderId } of values) {
      if (orderId !== bad) assert.equal(byOrder.get(orderId), 1, `${orderId} handled once`);
    }
  } finally {
    await stopAll(scene.consumers);
  }
});

storeTest(
  "a crash inside a group's transaction commits none of it; after a restart each event has one row",
  async (t, target) => {
    const scene = await consumerScene(t, target, "group-handler-crash");
    const { client, db, topic } = scene;
    try {
      await createTopic(client, topic);
      const ids = await publisherFor(t, client).publishMany(
        topic,
        Array.from({ length: 20 }, (_, index) => ({ orderId: `o-${index}`, amount: index })),
      );
      const doomedEvent = ids[5];
      const doomed = consumerOfScene(scene, {
        handler: (event, tx) => insertHandled(tx, event),
        groupHandler: (events, tx) => insertAllHandled(tx, events),
        hooks: {
          at: (context) => {
            if (context.point === "after-handler" && context.eventId === doomedEvent) throw new Error("crash");
          },
        },
      });
      await doomed.start();
      await waitFor("the crash after the group handler", () => doomed.state === "crashed", 20_000);
      await doomed.whenStopped();
      assert.equal((await handledCounts(db)).get(doomedEvent ?? ""), undefined, "the group's rows rolled back");
      const survivor = consumerOfScene(scene, {
        handler: (event, tx) => insertHandled(tx, event),
        groupHandler: (events, tx) => insertAllHandled(tx, events),
      });
      await survivor.start();
      await waitFor("every event handled", async () => (await handledTotal(db)) === ids.length, 30_000);
      const counts = await handledCounts(db);
      for (const id of ids) assert.equal(counts.get(id), 1, `${id} has one row`);
    } finally {
      await stopAll(scene.consumers);
    }
  },
);
