// The transport conformance suite's cases of delivery: every event once, each key's events in order, with one member
// or several, and handlers that run at once. The suite itself is in transport-conformance-suite.ts.

import assert from "node:assert/strict";

import { waitFor } from "../store/harness.js";
import { counterValue } from "./consumer-support.js";
import {
  DRAIN_TIMEOUT_MS,
  seenCount,
  commitEvents,
  itemsFor,
  assertEachOnce,
  insertSeen,
  overlapWatch,
  assertEachItemInOrder,
  conformance,
} from "./transport-conformance-suite.js";

conformance("publish and consume: every committed event reaches the handler exactly once", async (_t, scene) => {
  const consumer = scene.consumer();
  await consumer.start();
  await consumer.whenReady(30_000);
  await scene.relay();
  const ids = await commitEvents(scene.db, scene.topic, itemsFor(60));
  await waitFor("60 events handled", async () => (await seenCount(scene.db)) >= 60, DRAIN_TIMEOUT_MS, 50);
  await assertEachOnce(scene.db, ids);
});

conformance("order: one member gets each key's events in commit order", async (_t, scene) => {
  const consumer = scene.consumer();
  await consumer.start();
  await consumer.whenReady(30_000);
  await scene.relay();
  const values = itemsFor(80, 3);
  const ids = await commitEvents(scene.db, scene.topic, values);
  await waitFor("80 events handled", async () => (await seenCount(scene.db)) >= 80, DRAIN_TIMEOUT_MS, 50);
  await assertEachOnce(scene.db, ids);
  await assertEachItemInOrder(scene.db);
});

conformance("order across members: a key's events stay in order with two members", async (t, scene) => {
  if (!scene.capabilities.perKeyOrderAcrossMembers) {
    // Competing consumers on one queue take messages as they come: a key's next event may finish first elsewhere.
    t.skip("capability perKeyOrderAcrossMembers is false for this transport (competing consumers on one queue)");
    return;
  }
  const members = [scene.consumer(), scene.consumer()];
  for (const member of members) await member.start();
  for (const member of members) await member.whenReady(30_000);
  await scene.relay();
  const ids = await commitEvents(scene.db, scene.topic, itemsFor(60, 3));
  await waitFor("60 events handled", async () => (await seenCount(scene.db)) >= 60, DRAIN_TIMEOUT_MS, 50);
  await assertEachOnce(scene.db, ids);
  await assertEachItemInOrder(scene.db);
});

conformance(
  "concurrency: handlers of different keys run at once, each key's events still in commit order",
  async (t, scene) => {
    if (scene.oneTransactionAtATime) {
      t.skip("PGlite runs one transaction at a time, so handlers cannot overlap on it");
      return;
    }
    // Kafka runs partitions side by side, AMQP the lanes its queue's deliveries are split into by key.
    // Without concurrency no handler ever runs beside another and the assertion below fails.
    const handlers = overlapWatch();
    const consumer = scene.consumer({
      concurrency: 4,
      handler: (event, tx) => handlers.around(() => insertSeen(tx, event)),
    });
    await consumer.start();
    await consumer.whenReady(30_000);
    await scene.relay();
    const ids = await commitEvents(scene.db, scene.topic, itemsFor(80, 8));
    await waitFor("80 events handled", async () => (await seenCount(scene.db)) >= 80, DRAIN_TIMEOUT_MS, 50);
    await assertEachOnce(scene.db, ids);
    const mostAtOnce = handlers.mostAtOnce();
    assert.ok(mostAtOnce >= 2, `handlers ran side by side (at most ${mostAtOnce} at once)`);
    assert.ok(mostAtOnce <= 4, `no more than concurrency handlers at once (${mostAtOnce})`);
    await assertEachItemInOrder(scene.db);
  },
  { partitions: 4 },
);

conformance(
  "handlersAtOnce: a transaction's handlers of different keys overlap, a key's never; a failed one retries alone",
  async (_t, scene) => {
    const handlers = overlapWatch();
    const keysInFlight = new Set<string>();
    let sameKeyOverlaps = 0;
    const calls = new Map<string, number>();
    const flakySequence = 13;
    const consumer = scene.consumer({
      handlersAtOnce: 8,
      retry: { attempts: 3, baseDelayMs: 100, maxDelayMs: 200, jitter: 0 },
      async handler(event, tx) {
        const call = (calls.get(event.id) ?? 0) + 1;
        calls.set(event.id, call);
        if (keysInFlight.has(event.value.item)) sameKeyOverlaps += 1;
        keysInFlight.add(event.value.item);
        try {
          await handlers.around(async () => {
            await insertSeen(tx, event);
            if (event.value.sequence === flakySequence && call === 1) throw new Error("flaky on its first call");
          });
        } finally {
          keysInFlight.delete(event.value.item);
        }
      },
    });
    await consumer.start();
    await consumer.whenReady(30_000);
    await scene.relay();
    const values = itemsFor(60, 6);
    const ids = await commitEvents(scene.db, scene.topic, values);
    await waitFor("60 events handled", async () => (await seenCount(scene.db)) >= 60, DRAIN_TIMEOUT_MS, 50);
    // The flaky event's first insert was rolled back with its transaction, and its retry committed once.
    await assertEachOnce(scene.db, ids);
    const mostAtOnce = handlers.mostAtOnce();
    assert.ok(mostAtOnce >= 2, `handlers of one transaction ran side by side (at most ${mostAtOnce} at once)`);
    assert.ok(mostAtOnce <= 8, `no more than handlersAtOnce handlers at once (${mostAtOnce})`);
    assert.equal(sameKeyOverlaps, 0, "a key's handlers never overlapped");
    const labels = { group: scene.groupId, topic: scene.topic.name };
    assert.equal(await counterValue("sluice_events_retried_total", labels), 1, "only the flaky event was retried");
    assert.equal(await counterValue("sluice_events_consumed_total", labels), 60);
    // A key's events keep their order, except the flaky event's key, whose retry came after the events behind it.
    const flakyItem = values.find((value) => value.sequence === flakySequence)?.item;
    await assertEachItemInOrder(scene.db, flakyItem);
  },
);
