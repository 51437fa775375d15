// The batching, idempotent producer of Sluice's client against the real broker: order across concurrent sends,
// partitioning by key, a lost answer resent without a duplicate, a new producer id after a failure, and its limits.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  KafkaClientErrorCode,
  KafkaConfigError,
  KafkaPartitionUnknownError,
  KafkaTopicUnknownError,
  partitionForKey,
  type FetchedRecord,
  type SluiceKafkaClient,
} from "../../../../src/kafka/client/index.js";
import { ErrorCode } from "../../../../src/kafka/protocol/error-codes.js";
import { brokerForTest } from "../../../helpers/broker.js";
import { clientFor } from "../support.js";

async function readAll(client: SluiceKafkaClient, topic: string, partition: number): Promise<FetchedRecord[]> {
  const records: FetchedRecord[] = [];
  let offset = 0;
  for (;;) {
    const [fetched] = await client.fetch([{ topic, partition, offset }], { maxWaitMs: 10 });
    if (fetched!.records.length === 0) return records;
    records.push(...fetched!.records);
    offset = fetched!.nextOffset;
  }
}

describe("producer", () => {
  test("concurrent sends to one partition keep their order and get their own offsets", async (t) => {
    const broker = await brokerForTest(t);
    const client = clientFor(t, broker);
    await client.admin.createTopics([{ name: "ordered", partitions: 1 }]);
    const producer = client.producer();
    const sends = Array.from({ length: 50 }, (_, send) =>
      producer.send(
        Array.from({ length: 20 }, (_, index) => ({ topic: "ordered", partition: 0, value: `${send}-${index}` })),
      ),
    );
    const acks = await Promise.all(sends);
    acks.forEach((answer, send) =>
      assert.deepEqual(answer, [{ topic: "ordered", partition: 0, baseOffset: send * 20 }]),
    );
    const values = (await readAll(client, "ordered", 0)).map((record) => record.value!.toString());
    assert.equal(values.length, 1000);
    assert.deepEqual(
      values,
      Array.from({ length: 1000 }, (_, index) => `${Math.floor(index / 20)}-${index % 20}`),
    );
  });

  test("a key goes to Kafka's murmur2 partition; a send's records without a key stay together", async (t) => {
    const broker = await brokerForTest(t);
    const client = clientFor(t, broker);
    await client.admin.createTopics([{ name: "keyed", partitions: 4 }]);
    const producer = client.producer();
    const keys = ["a", "b", "order-17", "customer-9"];
    const acks = await producer.send(keys.map((key) => ({ topic: "keyed", key, value: key })));
    for (const key of keys) {
      const partition = partitionForKey(Buffer.from(key), 4);
      assert.ok(acks.some((ack) => ack.partition === partition));
      const stored = await readAll(client, "keyed", partition);
      assert.ok(stored.some((record) => record.key?.toString() === key));
    }
    const unkeyed = await producer.send([
      { topic: "keyed", value: "x" },
      { topic: "keyed", value: "y" },
    ]);
    assert.equal(unkeyed.length, 1);
  });

  test("a lost answer is resent under the same sequence numbers and stored once", async (t) => {
    const broker = await brokerForTest(t);
    const client = clientFor(t, broker);
    await client.admin.createTopics([{ name: "once", partitions: 1 }]);
    const producer = client.producer();
    await producer.send([{ topic: "once", partition: 0, value: "first" }]);
    broker.injectFault({ apiKey: 0, action: { kind: "dropResponse" }, times: 1 });
    const [ack] = await producer.send([{ topic: "once", partition: 0, value: "second" }]);
    assert.equal(ack!.baseOffset, 1);
    await producer.send([{ topic: "once", partition: 0, value: "third" }]);
    const values = (await readAll(client, "once", 0)).map((record) => record.value!.toString());
    assert.deepEqual(values, ["first", "second", "third"]);
  });

  /**
   * Sends `count` sends of 20 records each, one batch each, and checks that they are stored once, in order. One
   * record goes first, so that the broker knows the producer's numbering before the batches go out together.
   */
  async function pipelined(client: SluiceKafkaClient, topic: string, count: number, beforeSends = () => {}) {
    const producer = client.producer({ batchRecordsMax: 20 });
    await producer.send([{ topic, partition: 0, value: "start" }]);
    beforeSends();
    const acks = await Promise.all(
      Array.from({ length: count }, (_, send) =>
        producer.send(Array.from({ length: 20 }, (_, index) => ({ topic, partition: 0, value: `${send}-${index}` }))),
      ),
    );
    const firstOffset = 1;
    acks.forEach((answer, send) => assert.equal(answer[0]!.baseOffset, firstOffset + send * 20));
    const values = (await readAll(client, topic, 0)).slice(firstOffset).map((record) => record.value!.toString());
    assert.deepEqual(
      values,
      Array.from({ length: count * 20 }, (_, index) => `${Math.floor(index / 20)}-${index % 20}`),
    );
  }

  test("several batches of a partition go out at once, without waiting for the previous answer", async (t) => {
    const broker = await brokerForTest(t);
    const client = clientFor(t, broker);
    await client.admin.createTopics([{ name: "pipelined", partitions: 1 }]);
    const connection = await client.cluster.leaderConnection("pipelined", 0, "produce");
    let mostPending = 0;
    const watch = setInterval(() => (mostPending = Math.max(mostPending, connection.pendingRequests)), 1);
    try {
      // Each batch is held (all by the same time, so they are still handled in order); those behind the first
      // must be out meanwhile.
      await pipelined(client, "pipelined", 10, () =>
        broker.injectFault({ apiKey: 0, action: { kind: "delay", delayMs: 300 }, times: 10 }),
      );
    } finally {
      clearInterval(watch);
    }
    assert.ok(mostPending >= 2, `at most ${mostPending} produce requests were out at once`);
  });

  test("batches out at once survive a lost answer and a dropped connection: stored once each, in order", async (t) => {
    const broker = await brokerForTest(t);
    const client = clientFor(t, broker);
    await client.admin.createTopics([{ name: "resent", partitions: 1 }]);
    let produceRequests = 0;
    // The second request is written, then its answer lost with the connection; the ones behind it go again.
    await pipelined(client, "resent", 10, () =>
      broker.injectFault({
        apiKey: 0,
        action: { kind: "dropResponse" },
        times: 1,
        match: () => ++produceRequests === 2,
      }),
    );
  });

  test("a batch refused behind an earlier one that was not written goes again after it", async (t) => {
    const broker = await brokerForTest(t);
    const client = clientFor(t, broker);
    await client.admin.createTopics([{ name: "behind", partitions: 1 }]);
    // The first batch is refused (retriable); those sent right behind it are out of order until it is in.
    await pipelined(client, "behind", 10, () =>
      broker.injectFault({
        apiKey: 0,
        action: { kind: "error", errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER },
        times: 1,
      }),
    );
  });

  test("a batch that fails for good is reported, and later sends go through under a new producer id", async (t) => {
    const broker = await brokerForTest(t);
    const client = clientFor(t, broker, { retriesMax: 0 });
    await client.admin.createTopics([{ name: "fenced", partitions: 1 }]);
    const producer = client.producer();
    await producer.send([{ topic: "fenced", partition: 0, value: "a" }]);
    broker.injectFault({
      apiKey: 0,
      action: { kind: "error", errorCode: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER },
      times: 1,
    });
    await assert.rejects(producer.send([{ topic: "fenced", partition: 0, value: "lost" }]), /OUT_OF_ORDER_SEQUENCE/);
    await producer.send([{ topic: "fenced", partition: 0, value: "b" }]);
    const values = (await readAll(client, "fenced", 0)).map((record) => record.value!.toString());
    assert.deepEqual(values, ["a", "b"]);
  });

  test("unknown topics and partitions, bad settings and a full queue are refused clearly", async (t) => {
    const broker = await brokerForTest(t);
    const client = clientFor(t, broker);
    await client.admin.createTopics([{ name: "small", partitions: 1 }]);
    await assert.rejects(client.producer().send([{ topic: "missing", value: "x" }]), KafkaTopicUnknownError);
    await assert.rejects(
      client.producer().send([{ topic: "small", partition: 3, value: "x" }]),
      KafkaPartitionUnknownError,
    );
    assert.throws(() => client.producer({ acks: 1 }), KafkaConfigError);
    const bounded = client.producer({ queuedRecordsMax: 2 });
    await assert.rejects(
      bounded.send([1, 2, 3].map((value) => ({ topic: "small", value: String(value) }))),
      (error: unknown) => (error as { code?: string }).code === KafkaClientErrorCode.REQUEST_QUEUE_FULL,
    );
    const plain = client.producer({ idempotent: false, acks: 1 });
    assert.deepEqual(await plain.send([{ topic: "small", value: "ok" }]), [
      { topic: "small", partition: 0, baseOffset: 0 },
    ]);
  });
});
