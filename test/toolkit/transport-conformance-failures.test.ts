// The transport conformance suite's cases of failure: a crash before the acknowledgement, retries, dead letters, a
// broker outage, and a graceful shutdown. The suite itself is in transport-conformance-suite.ts.

import assert from "node:assert/strict";

import type { Queryable } from "../../src/store/index.js";
import { DEAD_LETTER_HEADERS } from "../../src/toolkit/dead-letter.js";
import { EVENT_HEADERS } from "../../src/toolkit/event.js";
import { listDeadLetters, redriveDeadLetters } from "../../src/toolkit/redrive.js";
import { NonRetriableError } from "../../src/toolkit/retry.js";

import { waitFor } from "../store/harness.js";
import { counterValue } from "./consumer-support.js";
import {
  DRAIN_TIMEOUT_MS,
  seenCount,
  commitEvents,
  itemsFor,
  assertEachOnce,
  insertSeen,
  conformance,
} from "./transport-conformance-suite.js";

conformance(
  "redelivery after a crash: work committed but not acknowledged is skipped by the inbox",
  async (_t, scene) => {
    let arrivals = 0;
    const crashing = scene.consumer({
      hooks: {
        at(context) {
          // The process dies after the database commit of the 10th event, before its offset or ack went out.
          if (context.point === "after-commit" && ++arrivals === 10) throw new Error("crash after commit");
        },
      },
    });
    await crashing.start();
    await crashing.whenReady(30_000);
    await scene.relay();
    const ids = await commitEvents(scene.db, scene.topic, itemsFor(40));
    await crashing.whenStopped();
    assert.equal(crashing.state, "crashed");
    const labels = { group: scene.groupId, topic: scene.topic.name };
    const skippedBefore = await counterValue("sluice_events_skipped_total", labels);
    const replacement = scene.consumer();
    await replacement.start();
    await waitFor("all 40 events handled", async () => (await seenCount(scene.db)) >= 40, DRAIN_TIMEOUT_MS, 50);
    await waitFor(
      "the redelivered event skipped",
      async () => (await counterValue("sluice_events_skipped_total", labels)) > skippedBefore,
      DRAIN_TIMEOUT_MS,
      50,
    );
    await assertEachOnce(scene.db, ids);
  },
);

conformance("retries: a failing handler runs again after a backoff, then succeeds once", async (_t, scene) => {
  const calls = new Map<string, number>();
  const consumer = scene.consumer({
    retry: { attempts: 4, baseDelayMs: 200, maxDelayMs: 400, jitter: 0 },
    async handler(event, tx) {
      const call = (calls.get(event.id) ?? 0) + 1;
      calls.set(event.id, call);
      if (event.value.sequence % 3 === 0 && call < 3) throw new Error(`flaky on call ${call}`);
      await insertSeen(tx, event);
    },
  });
  await consumer.start();
  await consumer.whenReady(30_000);
  await scene.relay();
  const values = itemsFor(12);
  const ids = await commitEvents(scene.db, scene.topic, values);
  await waitFor("12 events handled", async () => (await seenCount(scene.db)) >= 12, DRAIN_TIMEOUT_MS, 50);
  await assertEachOnce(scene.db, ids);
  // Each flaky event failed twice and went through the retry tiers twice. (Handler calls are not counted exactly:
  // when one handler of a transaction fails, the others' work is rolled back and they run again, as documented.)
  const flaky = ids.filter((_id, index) => values[index]!.sequence % 3 === 0);
  for (const id of flaky) assert.ok((calls.get(id) ?? 0) >= 3, `event ${id} ran on its third attempt`);
  const labels = { group: scene.groupId, topic: scene.topic.name };
  assert.equal(await counterValue("sluice_events_retried_total", labels), flaky.length * 2);
});

conformance(
  "dead letters: an event that keeps failing is parked with the standard headers, then redriven",
  async (_t, scene) => {
    let healed = false;
    const consumer = scene.consumer({
      retry: { attempts: 2, baseDelayMs: 100, maxDelayMs: 100, jitter: 0 },
      async handler(event, tx) {
        if (event.value.item === "poison" && !healed) throw new Error("cannot handle poison");
        if (event.value.item === "broken") throw new NonRetriableError("broken for good");
        await insertSeen(tx, event);
      },
    });
    await consumer.start();
    await consumer.whenReady(30_000);
    await scene.relay();
    const [poisonId, fineId, brokenId] = await commitEvents(scene.db, scene.topic, [
      { item: "poison", sequence: 0 },
      { item: "fine", sequence: 1 },
      { item: "broken", sequence: 2 },
    ]);
    await waitFor("the fine event", async () => (await seenCount(scene.db)) >= 1, DRAIN_TIMEOUT_MS, 50);
    let letters: Awaited<ReturnType<typeof listDeadLetters>> = [];
    await waitFor(
      "two dead letters",
      async () => (letters = await listDeadLetters(scene.client, scene.topic)).length >= 2,
      DRAIN_TIMEOUT_MS,
      200,
    );
    const poison = letters.find((letter) => letter.eventId === poisonId);
    const broken = letters.find((letter) => letter.eventId === brokenId);
    assert.ok(poison !== undefined && broken !== undefined, "both events are dead letters");
    assert.equal(poison.attempts, 2);
    assert.equal(poison.consumerGroup, scene.groupId);
    assert.equal(poison.originalTopic, scene.topic.name);
    assert.match(poison.error, /cannot handle poison/);
    assert.equal(broken.attempts, 1);
    assert.equal(broken.errorCode, "SLUICE_HANDLER_NON_RETRIABLE");
    assert.equal(poison.headers[EVENT_HEADERS.id], poisonId);
    assert.equal(
      Object.keys(poison.headers).some((name) => name.startsWith("sluice-dlt-")),
      false,
    );
    assert.ok(DEAD_LETTER_HEADERS.error.startsWith("sluice-dlt-"));
    // Listing twice shows the same letters: listing reads, it does not take.
    assert.equal((await listDeadLetters(scene.client, scene.topic)).length, 2);

    healed = true;
    const report = await redriveDeadLetters(scene.client, scene.topic, { eventIds: [poisonId!] });
    assert.deepEqual(
      report.deadLetters.map((letter) => letter.eventId),
      [poisonId],
    );
    await waitFor("the redriven event handled", async () => (await seenCount(scene.db)) >= 2, DRAIN_TIMEOUT_MS, 50);
    await assertEachOnce(scene.db, [poisonId!, fineId!]);
  },
);

conformance(
  "broker outage while accepting: events committed meanwhile are delivered after it, once",
  async (_t, scene) => {
    const consumer = scene.consumer();
    await consumer.start();
    await consumer.whenReady(30_000);
    const relay = await scene.relay();
    const first = await commitEvents(scene.db, scene.topic, itemsFor(20));
    await waitFor("the first 20", async () => (await seenCount(scene.db)) >= 20, DRAIN_TIMEOUT_MS, 50);
    const restore = await scene.outage();
    // The service keeps accepting: its writes go to the outbox, which needs only the database.
    const second = await commitEvents(scene.db, scene.topic, itemsFor(20, 4, 20));
    await waitFor("a failed relay round", () => relay.status().consecutiveFailures >= 1, DRAIN_TIMEOUT_MS, 20);
    await restore();
    await waitFor("all 40", async () => (await seenCount(scene.db)) >= 40, DRAIN_TIMEOUT_MS, 100);
    await assertEachOnce(scene.db, [...first, ...second]);
  },
);

conformance(
  "graceful shutdown: a stopping member finishes and acknowledges; the next one does the rest",
  async (_t, scene) => {
    const slowHandler = async (
      event: { id: string; value: { item: string; sequence: number } },
      tx: Queryable,
    ): Promise<void> => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      await insertSeen(tx, event);
    };
    const first = scene.consumer({ handler: slowHandler });
    await first.start();
    await first.whenReady(30_000);
    await scene.relay();
    // Events keep coming while the first member stops: it finishes what it holds, the rest wait for the next one.
    const ids: string[] = [];
    for (let round = 0; round < 10; round++) {
      ids.push(...(await commitEvents(scene.db, scene.topic, itemsFor(10, 4, round * 10))));
      if (round === 3) {
        await waitFor("some events handled", async () => (await seenCount(scene.db)) >= 10, DRAIN_TIMEOUT_MS, 10);
        await first.stop();
        assert.equal(first.state, "stopped");
      }
    }
    const handledByFirst = await seenCount(scene.db);
    assert.ok(handledByFirst < 100, "the second member has work left");
    const second = scene.consumer({ handler: slowHandler });
    await second.start();
    await waitFor("all 100", async () => (await seenCount(scene.db)) >= 100, DRAIN_TIMEOUT_MS, 50);
    await assertEachOnce(scene.db, ids);
  },
);
