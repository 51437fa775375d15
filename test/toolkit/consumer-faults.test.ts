// The inbox consumer when the broker misbehaves (faults injected into the embedded broker): failed offset commits,
// a retry topic that refuses records for a while, and a dead-letter topic that refuses a record outright. The
// consumer backs off and tries again; nothing is lost, nothing is duplicated, and it never stops.

import assert from "node:assert/strict";

import type { InboxConsumer } from "../../src/toolkit/consumer.js";
import { listDeadLetters, redriveDeadLetters } from "../../src/toolkit/redrive.js";
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

const PRODUCE = 0;
const OFFSET_COMMIT = 8;
const MESSAGE_TOO_LARGE = 10;
const COORDINATOR_NOT_AVAILABLE = 15;
const NOT_ENOUGH_REPLICAS = 19;

function producesTo(topic: string) {
  return (request: unknown) =>
    (request as { topicData: Array<{ name: string }> }).topicData.some((data) => data.name === topic);
}

storeTest(
  "broker failures make the consumer back off and try again; nothing is lost or duplicated",
  async (t, target) => {
    const broker = await brokerForTest(t);
    const client = toolkitClientFor(broker);
    const db = await target.open();
    await createBusinessTable(db);
    const topic = orderTopic(1);
    await createTopic(client, topic);
    const groupId = uniqueGroup("faults");
    const consumers: InboxConsumer[] = [];
    let poisonCalls = 0;
    try {
      const consumer = consumerFor(consumers, {
        client,
        db,
        groupId,
        topics: [topic],
        retry: { attempts: 2, baseDelayMs: 50, maxDelayMs: 50 },
        failureBackoffMaxMs: 200,
        handler: async (event, tx) => {
          if (event.value.orderId === "poison") {
            poisonCalls++;
            throw new Error("poison");
          }
          await insertHandled(tx, event);
        },
      });
      await consumer.start();
      await consumer.whenReady(10_000);
      const publisher = publisherFor(t, client);

      // Offset commits fail three times: the event is handled once. kafkajs reports each failed commit, so the event
      // is redelivered and skipped three times; Sluice's client retries the commit itself (a retriable error, and the
      // same offsets again), so nothing is redelivered.
      let failedCommits = 0;
      broker.injectFault({
        apiKey: OFFSET_COMMIT,
        action: { kind: "error", errorCode: COORDINATOR_NOT_AVAILABLE },
        times: 3,
        match: (request) => {
          const hit = (request as { groupId: string }).groupId === groupId;
          if (hit) failedCommits++;
          return hit;
        },
      });
      const committed = await publisher.publish(topic, { orderId: "commit-fails", amount: 1 });
      await waitFor(
        "the commit to go through",
        async () => {
          const admin = kafkaFor(broker).admin();
          await admin.connect();
          try {
            const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic.name] });
            return offsets?.partitions[0]?.offset === "1";
          } finally {
            await admin.disconnect();
          }
        },
        15_000,
        100,
      );
      assert.equal((await handledCounts(db)).get(committed.id), 1);
      assert.equal(failedCommits, 3, "every injected commit failure was met");
      assert.equal(
        await counterValue("sluice_events_skipped_total", { group: groupId }),
        client.library === "kafkajs" ? 3 : 0,
      );

      // The retry topic refuses records for longer than the Kafka client retries; then the dead-letter topic refuses
      // the record outright, so it is parked without its value.
      broker.injectFault({
        apiKey: PRODUCE,
        action: { kind: "error", errorCode: NOT_ENOUGH_REPLICAS },
        times: 8,
        match: producesTo(`${topic.name}.retry.1`),
      });
      broker.injectFault({
        apiKey: PRODUCE,
        action: { kind: "error", errorCode: MESSAGE_TOO_LARGE },
        times: 1,
        match: producesTo(`${topic.name}.dlt`),
      });
      const poison = await publisher.publish(topic, { orderId: "poison", amount: 2 });
      const after = await publisher.publish(topic, { orderId: "after", amount: 3 });
      await waitFor("the event after the poison one", async () => (await handledCounts(db)).has(after.id), 30_000);
      await waitFor(
        "the poison event's dead letter",
        async () => (await counterValue("sluice_events_dead_lettered_total", { group: groupId })) === 1,
        10_000,
      );
      assert.ok(poisonCalls >= 3, `the first attempt ran again after the retry topic failed (${poisonCalls} calls)`);
      assert.equal(consumer.state, "running");
      assert.equal(await handledTotal(db), 2);

      const [letter] = await listDeadLetters(client, topic);
      assert.equal(letter?.eventId, poison.id);
      assert.equal(letter?.attempts, 2);
      assert.equal(letter?.value, null);
      assert.match(letter?.valueDropped ?? "", /MESSAGE_TOO_LARGE/);
      assert.equal(letter?.originalOffset, poison.offset, "the event is still there, at its original offset");
      const report = await redriveDeadLetters(client, topic);
      assert.deepEqual(report.deadLetters, []);
      assert.deepEqual(
        report.skipped.map((skipped) => skipped.eventId),
        [poison.id],
        "a dead letter without its value is not redriven as a tombstone",
      );
    } finally {
      await stopAll(consumers);
    }
  },
);
