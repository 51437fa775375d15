// An AMQP consumer's lanes finish out of delivery order, and its acknowledgements keep up: messages finished behind
// a lane that is still busy are acknowledged one by one once they would fill too much of the prefetch, so the other
// lanes keep receiving; once the busy lane finishes, every message has been acknowledged exactly once (a second ack
// of a delivery tag would close the channel, and one never acknowledged would go back to the queue when it closes).

import assert from "node:assert/strict";
import { test } from "node:test";

import { laneOf } from "../../../src/toolkit/amqp/lanes.js";
import type { PartitionBatch } from "../../../src/toolkit/kafka/consumer.js";
import {
  amqpClientForTest,
  requireRabbitmq,
  uniqueAmqpName,
  queueCounts,
  proxiedAmqpClientForTest,
} from "../../helpers/rabbitmq.js";
import { waitFor } from "../../store/harness.js";

const TEST_TIMEOUT_MS = 60_000;
const PREFETCH = 8;
const LANES = 2;
/** Far more than the prefetch, so that the free lane can only get through them if the held ones are acknowledged. */
const FREE_LANE_MESSAGES = PREFETCH * 5;

/** A key whose messages go to lane (the delivery tag does not matter for a keyed message). */
function keyOfLane(lane: number): string {
  for (let index = 0; ; index++) {
    const key = `key-${index}`;
    if (laneOf(Buffer.from(key), 1, LANES) === lane) return key;
  }
}

test(
  "messages finished behind a busy lane are acknowledged before they fill the prefetch, each exactly once",
  { timeout: TEST_TIMEOUT_MS },
  async (t) => {
    if (!(await requireRabbitmq(t))) return;
    const client = amqpClientForTest(t, { prefetch: PREFETCH });
    const topic = uniqueAmqpName("acks");
    const groupId = uniqueAmqpName("acks-group");
    const consumer = client.consumer({ groupId });
    t.after(() => consumer.stop());
    let joins = 0;
    consumer.onJoin(() => (joins += 1));
    const crashes: Error[] = [];
    consumer.onCrash((error) => crashes.push(error));
    let releaseBusyLane: () => void = () => undefined;
    const busyLaneReleased = new Promise<void>((resolve) => (releaseBusyLane = resolve));
    const seen: string[] = [];
    await consumer.start({
      topics: [topic],
      concurrency: LANES,
      fromBeginning: true,
      async eachBatch(batch: PartitionBatch) {
        for (const record of batch.records) {
          const value = record.value?.toString() ?? "";
          if (value === "busy") await busyLaneReleased;
          seen.push(value);
        }
        const last = batch.records.at(-1);
        if (last === undefined) return;
        // As the pipeline does: acknowledge, then let the lane's buffer go.
        await batch.commit(String(Number(last.offset) + 1));
        batch.markDone(last.offset);
      },
    });
    const producer = client.producer();
    t.after(() => producer.disconnect());
    const busyKey = Buffer.from(keyOfLane(0));
    const freeKey = Buffer.from(keyOfLane(1));
    await producer.send([{ topic, key: busyKey, value: Buffer.from("busy"), headers: {} }]);
    await producer.send(
      Array.from({ length: FREE_LANE_MESSAGES }, (_, index) => ({
        topic,
        key: freeKey,
        value: Buffer.from(`free-${index}`),
        headers: {},
      })),
    );

    // The busy lane holds the first delivery tag unfinished all along: without single acks the free lane would stop
    // once the prefetch was full of its finished messages.
    await waitFor("the free lane's messages", () => seen.length === FREE_LANE_MESSAGES, 20_000);
    assert.ok(!seen.includes("busy"));
    releaseBusyLane();
    await waitFor("the busy lane's message", () => seen.includes("busy"), 20_000);
    await consumer.stop();

    // Closing the channel hands back whatever was not acknowledged; nothing was.
    assert.equal(
      (await queueCounts(client.topology.groupQueue(topic, groupId))).messageCount,
      0,
      "every message was acked",
    );
    assert.equal(joins, 1, "the channel never closed (a second ack of a delivery tag would close it)");
    assert.deepEqual(crashes, []);
    assert.deepEqual(
      seen.filter((value) => value !== "busy"),
      Array.from({ length: FREE_LANE_MESSAGES }, (_, index) => `free-${index}`),
      "the free lane's key in order",
    );
  },
);

test(
  "a batch whose channel closed while it ran acknowledges nothing on the new channel; its messages come again there",
  { timeout: TEST_TIMEOUT_MS },
  async (t) => {
    if (!(await requireRabbitmq(t))) return;
    const { proxy, client } = await proxiedAmqpClientForTest(t, { prefetch: PREFETCH });
    const topic = uniqueAmqpName("acks");
    const groupId = uniqueAmqpName("acks-group");
    const consumer = client.consumer({ groupId });
    t.after(() => consumer.stop());
    let joins = 0;
    consumer.onJoin(() => (joins += 1));
    let releaseFirstBatch: () => void = () => undefined;
    const firstBatchReleased = new Promise<void>((resolve) => (releaseFirstBatch = resolve));
    let batches = 0;
    let firstCommitError: unknown = null;
    const acknowledged: string[] = [];
    await consumer.start({
      topics: [topic],
      concurrency: 1,
      fromBeginning: true,
      async eachBatch(batch: PartitionBatch) {
        batches += 1;
        const first = batches === 1;
        if (first) await firstBatchReleased;
        const last = batch.records.at(-1);
        if (last === undefined) return;
        try {
          await batch.commit(String(Number(last.offset) + 1));
        } catch (error) {
          if (first) firstCommitError = error;
          return;
        }
        batch.markDone(last.offset);
        for (const record of batch.records) acknowledged.push(record.value?.toString() ?? "");
      },
    });
    const producer = amqpClientForTest(t).producer();
    t.after(() => producer.disconnect());
    const values = Array.from({ length: 5 }, (_, index) => `message-${index}`);
    await producer.send(values.map((value) => ({ topic, key: null, value: Buffer.from(value), headers: {} })));
    await waitFor("the first batch", () => batches === 1, 20_000);

    // The connection drops while the first batch runs; the consumer subscribes again on a new one.
    proxy.cut();
    proxy.restore();
    await waitFor("the consumer subscribed again", () => joins === 2, 20_000);
    releaseFirstBatch();
    await waitFor("every message acknowledged on the new channel", () => acknowledged.length === values.length, 20_000);
    assert.match(String(firstCommitError), /channel these messages came on has closed/);
    await consumer.stop();

    assert.deepEqual(acknowledged.sort(), values);
    assert.equal(
      (await queueCounts(client.topology.groupQueue(topic, groupId))).messageCount,
      0,
      "every message was acked",
    );
    assert.equal(joins, 2, "no ack of an old delivery tag closed the new channel");
  },
);
