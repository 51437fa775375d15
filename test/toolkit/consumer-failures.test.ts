// Failing handlers and unreadable events against the embedded broker and both databases: retries roll back and try
// again without holding back the partition, a poison event reaches the dead-letter topic after its last attempt,
// non-retriable errors and bad records go there at once, and the consumer keeps running throughout.

import assert from "node:assert/strict";

import type { Queryable } from "../../src/store/index.js";
import { DEAD_LETTER_HEADERS, deadLetterTopicName } from "../../src/toolkit/dead-letter.js";
import { buildEventHeaders, EVENT_HEADERS, type ConsumedEvent } from "../../src/toolkit/event.js";
import { listDeadLetters } from "../../src/toolkit/redrive.js";
import { NonRetriableError, retryTopicName } from "../../src/toolkit/retry.js";
import type { EventOf } from "../../src/toolkit/topic.js";
import { seededRandom, storeTest, waitFor } from "../store/harness.js";
import {
  assertEachHandledOnce,
  CallCounter,
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

storeTest(
  "a poison event reaches the DLT after its last attempt while later events on its partition keep flowing",
  async (t, target) => {
    const scene = await consumerScene(t, target, "poison");
    const { client, db, topic, groupId, consumers } = scene;
    const attemptsOf = new Map<string, number[]>();
    const doneAt = new Map<string, number>();
    const retry = { attempts: 4, baseDelayMs: 250, maxDelayMs: 2_000, jitter: 0.5 };
    const handler = async (event: ConsumedEvent<EventOf<typeof topic>>, tx: Queryable): Promise<void> => {
      const times = attemptsOf.get(event.value.orderId) ?? [];
      times.push(Date.now());
      attemptsOf.set(event.value.orderId, times);
      // The write happens before the failure, so a retry that left it behind would show as a second row.
      await insertHandled(tx, event);
      if (event.value.orderId === "poison") throw new Error(`cannot ship order ${event.value.orderId}`);
      if (event.value.orderId === "flaky" && times.length === 1) throw new Error("the warehouse timed out");
      doneAt.set(event.value.orderId, Date.now());
    };
    try {
      const consumer = consumerOfScene(scene, {
        handler,
        retry,
        random: seededRandom(7),
      });
      await consumer.start();
      assert.deepEqual(
        consumer.retryTopics.get(topic.name),
        [1, 2, 3].map((tier) => retryTopicName(topic.name, tier)),
      );
      await consumer.whenReady(10_000);
      const publisher = publisherFor(t, client);
      const poison = await publisher.publish(topic, { orderId: "poison", amount: 1 });
      await publisher.publish(topic, { orderId: "flaky", amount: 2 });
      const laterIds = await publisher.publishMany(
        topic,
        Array.from({ length: 10 }, (_, index) => ({ orderId: `later-${index}`, amount: index })),
      );

      await waitFor(
        "the poison event in the dead-letter topic",
        async () => (await counterValue("sluice_events_dead_lettered_total", { group: groupId })) === 1,
        15_000,
      );
      const deadLetteredAt = Date.now();
      const poisonAttempts = attemptsOf.get("poison") ?? [];
      assert.equal(poisonAttempts.length, 4, "the handler ran once per attempt");
      // Backoff: each wait is the base delay doubled per earlier failure, shortened by at most the jitter.
      for (let index = 1; index < poisonAttempts.length; index++) {
        const waitedMs = poisonAttempts[index]! - poisonAttempts[index - 1]!;
        const fullMs = Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** (index - 1));
        assert.ok(
          waitedMs >= fullMs * (1 - retry.jitter) - 5,
          `wait ${index} was ${waitedMs} ms, at least ${fullMs / 2}`,
        );
      }
      // Every later event on the same partition finished while the poison event was still being retried.
      for (let index = 0; index < 10; index++) {
        const finished = doneAt.get(`later-${index}`);
        assert.ok(finished !== undefined, `later-${index} was handled`);
        assert.ok(finished < poisonAttempts[3]!, `later-${index} did not wait for the poison event's retries`);
      }
      assert.ok(deadLetteredAt > poisonAttempts[3]!);

      // The flaky event failed once, rolled back, and succeeded on its retry: one row.
      await waitFor("the flaky event's retry", () => doneAt.has("flaky"), 10_000);
      assert.equal(attemptsOf.get("flaky")?.length, 2);
      const counts = await handledCounts(db);
      assert.equal(counts.get(poison.id), undefined, "every poison attempt rolled back");
      for (const id of laterIds) assert.equal(counts.get(id), 1);
      assert.equal(await handledTotal(db), 11);
      assert.equal(await counterValue("sluice_events_failed_total", { group: groupId }), 5);
      assert.equal(await counterValue("sluice_events_retried_total", { group: groupId }), 4);
      assert.equal(await counterValue("sluice_events_consumed_total", { group: groupId }), 11);
      assert.equal(consumer.state, "running");

      const [letter, ...others] = await listDeadLetters(client, topic);
      assert.equal(others.length, 0);
      assert.ok(letter !== undefined);
      assert.equal(letter.eventId, poison.id);
      assert.equal(letter.originalTopic, topic.name);
      assert.equal(letter.originalPartition, 0);
      assert.equal(letter.originalOffset, poison.offset);
      assert.equal(letter.attempts, 4);
      assert.equal(letter.errorCode, "SLUICE_HANDLER_FAILED");
      assert.equal(letter.error, "Error: cannot ship order poison");
      assert.equal(letter.consumerGroup, groupId);
      assert.ok(Math.abs(letter.time.getTime() - deadLetteredAt) < 5_000);
      assert.deepEqual(JSON.parse(letter.value!.toString("utf8")), { orderId: "poison", amount: 1 });
      assert.equal(letter.key?.toString("utf8"), "poison");
      assert.equal(letter.headers[EVENT_HEADERS.id], poison.id);
      assert.equal(letter.headers[EVENT_HEADERS.traceparent], poison.traceparent, "the original headers are kept");
      assert.ok(Object.keys(letter.headers).every((name) => !name.startsWith("sluice-retry-")));
    } finally {
      await stopAll(consumers);
    }
  },
);

storeTest(
  "non-retriable errors and unreadable events go to the DLT at once, with the reason, and nothing stops",
  async (t, target) => {
    const scene = await consumerScene(t, target, "bad");
    const { client, db, topic, groupId, consumers } = scene;
    const calls = new CallCounter();
    try {
      const consumer = consumerOfScene(scene, {
        retry: { attempts: 2, baseDelayMs: 20, maxDelayMs: 20 },
        eventBytesMax: 2_000,
        isRetriable: (error) => !error.message.includes("permanently"),
        handler: async (event, tx) => {
          calls.count(event.value.orderId);
          if (event.value.orderId === "non-retriable") throw new NonRetriableError("order was cancelled");
          if (event.value.orderId === "predicate") throw new Error("the customer is permanently blocked");
          if (event.value.orderId === "non-error") throw "just a string" as unknown as Error;
          await insertHandled(tx, event);
        },
      });
      await consumer.start();
      await consumer.whenReady(10_000);
      const publisher = publisherFor(t, client);
      await publisher.publish(topic, { orderId: "non-retriable", amount: 1 });
      await publisher.publish(topic, { orderId: "predicate", amount: 1 });
      await publisher.publish(topic, { orderId: "non-error", amount: 1 });

      // Records no typed publisher would send: wrong schema, no value, not JSON, too large.
      const headers = (id: string) =>
        buildEventHeaders({
          id,
          type: "OrderPlaced",
          time: new Date(),
          traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
          contentType: "application/json",
        });
      const producer = client.producer();
      t.after(() => producer.disconnect());
      const bad = {
        schema: "00000000-0000-4000-8000-000000000001",
        tombstone: "00000000-0000-4000-8000-000000000002",
        notJson: "00000000-0000-4000-8000-000000000003",
        tooLarge: "00000000-0000-4000-8000-000000000004",
      };
      await producer.send([
        {
          topic: topic.name,
          key: "k",
          value: Buffer.from('{"orderId":"x","amount":-5}'),
          headers: headers(bad.schema),
        },
        { topic: topic.name, key: "k", value: null, headers: headers(bad.tombstone) },
        { topic: topic.name, key: "k", value: Buffer.from("{not json"), headers: headers(bad.notJson) },
        {
          topic: topic.name,
          key: "k",
          value: Buffer.from(JSON.stringify({ orderId: "y".repeat(3_000), amount: 1 })),
          headers: headers(bad.tooLarge),
        },
      ]);
      const good = await publisher.publish(topic, { orderId: "good", amount: 3 });

      await waitFor("the good event after the bad ones", async () => (await handledTotal(db)) === 1, 15_000);
      await waitFor(
        "seven dead letters",
        async () => (await counterValue("sluice_events_dead_lettered_total", { group: groupId })) === 7,
        10_000,
      );
      assert.equal(consumer.state, "running");
      assert.equal((await handledCounts(db)).get(good.id), 1);
      assert.equal(calls.get("non-retriable"), 1, "a NonRetriableError is not retried");
      assert.equal(calls.get("predicate"), 1, "isRetriable said no");
      assert.equal(calls.get("non-error"), 2, "a non-Error throw is retried like any failure");

      const letters = await listDeadLetters(client, topic.name);
      const byOrder = (orderId: string) =>
        letters.find((letter) => letter.value !== null && letter.value.toString("utf8").includes(`"${orderId}"`));
      assert.equal(byOrder("non-retriable")?.errorCode, "SLUICE_HANDLER_NON_RETRIABLE");
      assert.equal(byOrder("non-retriable")?.attempts, 1);
      assert.match(byOrder("non-retriable")?.error ?? "", /order was cancelled/);
      assert.equal(byOrder("predicate")?.attempts, 1);
      assert.equal(byOrder("non-error")?.errorCode, "SLUICE_HANDLER_THREW_NON_ERROR");
      assert.equal(byOrder("non-error")?.attempts, 2);
      assert.match(byOrder("non-error")?.error ?? "", /just a string/);

      const byId = new Map(letters.map((letter) => [letter.eventId, letter]));
      const schemaLetter = byId.get(bad.schema);
      assert.equal(schemaLetter?.errorCode, "SLUICE_EVENT_INVALID");
      assert.match(schemaLetter?.error ?? "", new RegExp(`${topic.name}.*amount`), "names the topic and the field");
      assert.equal(schemaLetter?.attempts, 0, "the handler never saw it");
      assert.equal(byId.get(bad.tombstone)?.errorCode, "SLUICE_EVENT_VALUE_MISSING");
      assert.equal(byId.get(bad.tombstone)?.value, null);
      assert.equal(byId.get(bad.notJson)?.errorCode, "SLUICE_EVENT_DECODE_FAILED");
      assert.equal(byId.get(bad.notJson)?.value?.toString("utf8"), "{not json", "the bytes are kept as they were");
      assert.equal(byId.get(bad.tooLarge)?.errorCode, "SLUICE_EVENT_TOO_LARGE");
      for (const letter of letters) {
        assert.equal(letter.originalTopic, topic.name);
        assert.equal(letter.consumerGroup, groupId);
      }
      assert.equal(letters.length, 7);
      const deadLetterTopic = deadLetterTopicName(topic.name);
      assert.equal(deadLetterTopic, `${topic.name}.dlt`);
      assert.ok(Object.values(DEAD_LETTER_HEADERS).every((name) => name.startsWith("sluice-dlt-")));
    } finally {
      await stopAll(consumers);
    }
  },
);

storeTest(
  "events sharing a transaction: a failing handler and one that swallows a failed statement are retried alone",
  async (t, target) => {
    const scene = await consumerScene(t, target, "group-tx");
    const { client, db, topic, groupId, consumers } = scene;
    await createTopic(client, topic);
    const calls = new CallCounter();
    // Published before the consumer starts, so that they arrive in one fetch and share one transaction.
    const orders = [
      ...Array.from({ length: 5 }, (_, index) => `before-${index}`),
      "throws",
      "after-0",
      "swallows",
      ...Array.from({ length: 5 }, (_, index) => `after-${index + 1}`),
    ];
    const published = await publisherFor(t, client).publishMany(
      topic,
      orders.map((orderId, amount) => ({ orderId, amount })),
    );
    try {
      const consumer = consumerOfScene(scene, {
        retry: { attempts: 3, baseDelayMs: 50, maxDelayMs: 50 },
        handler: async (event, tx) => {
          const call = calls.count(event.value.orderId);
          await insertHandled(tx, event);
          if (event.value.orderId === "throws" && call === 1) throw new Error("the warehouse timed out");
          if (event.value.orderId === "swallows" && call === 1) {
            // A handler bug: the failed statement aborts the transaction, and the handler carries on regardless.
            await tx.query("SELECT 1 / 0").catch(() => undefined);
          }
        },
      });
      await consumer.start();
      await waitFor("every order handled", async () => (await handledTotal(db)) === orders.length, 15_000);
      await assertEachHandledOnce(db, published, orders);
      assert.equal(calls.get("throws"), 2, "the failed handler is not run again within its attempt");
      assert.equal(calls.get("swallows"), 2, "the swallowed failure counts as a failed attempt, then a retry");
      assert.equal(await counterValue("sluice_events_failed_total", { group: groupId }), 2);
      assert.equal(await counterValue("sluice_events_retried_total", { group: groupId }), 2);
      assert.equal(await counterValue("sluice_events_dead_lettered_total", { group: groupId }), 0);
    } finally {
      await stopAll(consumers);
    }
  },
);

storeTest(
  "a handler that hangs times out, is rolled back and retried; later events keep flowing",
  async (t, target) => {
    const scene = await consumerScene(t, target, "hang");
    const { client, db, topic, groupId, consumers } = scene;
    const calls = new CallCounter();
    let lateQueryError: unknown = null;
    try {
      const consumer = consumerOfScene(scene, {
        handlerTimeoutMs: 300,
        retry: { attempts: 3, baseDelayMs: 50, maxDelayMs: 50 },
        handler: async (event, tx) => {
          const call = calls.count(event.value.orderId);
          await insertHandled(tx, event);
          if (event.value.orderId === "hangs" && call === 1) {
            await new Promise((resolve) => setTimeout(resolve, 1_000));
            // Long after its timeout: the transaction it was given is gone, and its write must not land anywhere.
            await insertHandled(tx, event).catch((error: unknown) => {
              lateQueryError = error;
            });
          }
        },
      });
      await consumer.start();
      await consumer.whenReady(10_000);
      const publisher = publisherFor(t, client);
      const hanging = await publisher.publish(topic, { orderId: "hangs", amount: 1 });
      const later = await publisher.publishMany(
        topic,
        Array.from({ length: 5 }, (_, index) => ({ orderId: `later-${index}`, amount: index })),
      );
      await waitFor("every order handled", async () => (await handledTotal(db)) === 6, 15_000);
      await waitFor("the late query refused", () => lateQueryError !== null, 5_000);
      const counts = await handledCounts(db);
      for (const eventId of [hanging.id, ...later]) assert.equal(counts.get(eventId), 1);
      assert.equal(calls.get("hangs"), 2, "timed out once, then handled on its retry");
      assert.equal(await counterValue("sluice_events_failed_total", { group: groupId }), 1);
      assert.equal(await counterValue("sluice_events_retried_total", { group: groupId }), 1);
      assert.equal(consumer.state, "running");
    } finally {
      await stopAll(consumers);
    }
  },
);

storeTest(
  "a handler stuck in a database statement is cancelled by the database at its timeout",
  async (t, target) => {
    const scene = await consumerScene(t, target, "stuck");
    const { client, db, topic, consumers } = scene;
    let calls = 0;
    try {
      const consumer = consumerOfScene(scene, {
        handlerTimeoutMs: 300,
        retry: { attempts: 2, baseDelayMs: 50, maxDelayMs: 50 },
        handler: async (event, tx) => {
          calls += 1;
          if (calls === 1) await tx.query("SELECT pg_sleep(30)");
          await insertHandled(tx, event);
        },
      });
      await consumer.start();
      await consumer.whenReady(10_000);
      const started = Date.now();
      const published = await publisherFor(t, client).publish(topic, { orderId: "sleepy", amount: 1 });
      await waitFor("the order handled on its retry", async () => (await handledTotal(db)) === 1, 15_000);
      assert.ok(Date.now() - started < 10_000, "the 30 s statement was cancelled long before it finished");
      assert.equal((await handledCounts(db)).get(published.id), 1);
      assert.equal(calls, 2);
    } finally {
      await stopAll(consumers);
    }
  },
  // PGlite runs statements on the process's only thread, so a sleeping statement would stop every timer too.
  { kinds: ["postgres"] },
);

storeTest(
  "a statement failed by one handler is not blamed on the next; a timed-out handler cannot write into a later savepoint",
  async (t, target) => {
    const scene = await consumerScene(t, target, "blame");
    const { client, db, topic, groupId, consumers } = scene;
    await createTopic(client, topic);
    const calls = new CallCounter();
    let lateQueryError: unknown = null;
    // One fetch, one group: "swallows" breaks the shared transaction and "innocent" fails on it, so the group runs
    // event by event; there "throws" fails and "hangs" outlives its timeout while "slow-*" run on.
    const orders = ["swallows", "innocent", "throws", "hangs", ...Array.from({ length: 8 }, (_, i) => `slow-${i}`)];
    const published = await publisherFor(t, client).publishMany(
      topic,
      orders.map((orderId, amount) => ({ orderId, amount })),
    );
    try {
      const consumer = consumerOfScene(scene, {
        handlerTimeoutMs: 300,
        retry: { attempts: 3, baseDelayMs: 50, maxDelayMs: 50 },
        handler: async (event, tx) => {
          const orderId = event.value.orderId;
          const call = calls.count(orderId);
          await insertHandled(tx, event);
          if (orderId === "swallows" && call === 1) await tx.query("SELECT 1 / 0").catch(() => undefined);
          if (orderId === "throws" && call === 1) throw new Error("the warehouse timed out");
          if (orderId === "hangs" && call === 1) {
            await new Promise((resolve) => setTimeout(resolve, 600));
            await insertHandled(tx, event).catch((error: unknown) => {
              lateQueryError = error;
            });
          }
          if (orderId.startsWith("slow-")) await new Promise((resolve) => setTimeout(resolve, 100));
        },
      });
      await consumer.start();
      await waitFor("every order handled", async () => (await handledTotal(db)) === orders.length, 20_000);
      await waitFor("the late statement refused", () => lateQueryError !== null, 5_000);
      assert.equal((lateQueryError as { code?: string }).code, "SLUICE_HANDLER_ATTEMPT_OVER");
      // Give a late write that slipped through the time to commit, so that it would be counted below.
      await new Promise((resolve) => setTimeout(resolve, 500));
      await assertEachHandledOnce(db, published, orders);
      // "innocent" failed only because the transaction was already broken: it is run again, not retried.
      assert.equal(await counterValue("sluice_events_retried_total", { group: groupId }), 2, "throws and hangs");
      assert.equal(calls.get("innocent"), 2, "run at once, then in its savepoint");
      assert.equal(calls.get("swallows"), 2);
      assert.equal(calls.get("throws"), 2);
      assert.equal(calls.get("hangs"), 2);
    } finally {
      await stopAll(consumers);
    }
  },
);
