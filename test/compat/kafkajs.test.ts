// kafkajs, unmodified, against the embedded broker: the data path (produce, fetch, offsets, restart, idempotence).

import assert from "node:assert/strict";
import { test } from "node:test";
import { CompressionTypes, type KafkaMessage } from "kafkajs";
import { startBroker } from "../../src/broker/index.js";
import { brokerForTest, eventually, kafkaFor } from "../helpers/broker.js";
import { temporaryDir } from "../helpers/environment.js";

async function consumeAll(
  kafka: ReturnType<typeof kafkaFor>,
  topic: string,
  groupId: string,
  expected: number,
): Promise<Array<{ partition: number; message: KafkaMessage }>> {
  const consumer = kafka.consumer({ groupId, sessionTimeout: 6000, heartbeatInterval: 500, maxWaitTimeInMs: 100 });
  const received: Array<{ partition: number; message: KafkaMessage }> = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      received.push({ partition, message });
    },
  });
  const done = await eventually(() => received.length >= expected, 20_000);
  await consumer.disconnect();
  assert.ok(done, `expected ${expected} messages on ${topic}, got ${received.length}`);
  return received;
}

test("keyed messages over 3 partitions keep per-key order", async (t) => {
  const broker = await brokerForTest(t);
  const kafka = kafkaFor(broker);
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: "orders", numPartitions: 3 }] });
  const producer = kafka.producer();
  await producer.connect();
  const keys = Array.from({ length: 12 }, (_, i) => `customer-${i}`);
  for (let round = 0; round < 25; round++) {
    await producer.send({
      topic: "orders",
      messages: keys.map((key) => ({ key, value: `${key}:${round}` })),
    });
  }
  await producer.disconnect();
  const offsets = await admin.fetchTopicOffsets("orders");
  assert.equal(offsets.length, 3);
  assert.equal(
    offsets.reduce((sum, p) => sum + Number(p.high), 0),
    300,
  );
  assert.ok(
    offsets.every((p) => Number(p.high) > 0),
    "every partition received keys",
  );
  await admin.disconnect();

  const received = await consumeAll(kafka, "orders", "order-readers", 300);
  const rounds = new Map<string, number[]>();
  const partitionOfKey = new Map<string, number>();
  for (const { partition, message } of received) {
    const key = message.key!.toString();
    const [, round] = message.value!.toString().split(":");
    rounds.set(key, [...(rounds.get(key) ?? []), Number(round)]);
    if (partitionOfKey.has(key)) assert.equal(partitionOfKey.get(key), partition, `${key} stayed on one partition`);
    partitionOfKey.set(key, partition);
  }
  for (const key of keys) {
    assert.deepEqual(
      rounds.get(key),
      Array.from({ length: 25 }, (_, i) => i),
      `${key} in order, each once`,
    );
  }
});

test("gzip batches and headers arrive intact", async (t) => {
  const broker = await brokerForTest(t);
  const kafka = kafkaFor(broker);
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({
    topic: "compressed",
    compression: CompressionTypes.GZIP,
    messages: Array.from({ length: 50 }, (_, i) => ({
      key: `k${i}`,
      value: `value ${i} `.repeat(20),
      headers: { "trace-id": `t-${i}`, kind: "test" },
    })),
  });
  await producer.disconnect();
  const received = await consumeAll(kafka, "compressed", "gzip-readers", 50);
  received.sort((a, b) => Number(a.message.offset) - Number(b.message.offset));
  received.forEach(({ message }, i) => {
    assert.equal(message.value!.toString(), `value ${i} `.repeat(20));
    assert.equal(message.headers!["trace-id"]!.toString(), `t-${i}`);
    assert.equal(message.headers!.kind!.toString(), "test");
  });
});

test("messages and committed offsets survive a broker restart", async (t) => {
  const dataDir = temporaryDir(t);
  let broker = await startBroker({ port: 0, dataDir, groupMinSessionTimeoutMs: 1000 });
  t.after(() => broker.close());
  let kafka = kafkaFor(broker);
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({
    topic: "durable",
    acks: -1,
    messages: Array.from({ length: 100 }, (_, i) => ({ value: `m${i}` })),
  });
  await producer.disconnect();
  const firstRun = await consumeAll(kafka, "durable", "durable-readers", 100);
  assert.equal(firstRun.length, 100);
  await broker.close();

  broker = await startBroker({ port: 0, dataDir, groupMinSessionTimeoutMs: 1000 });
  kafka = kafkaFor(broker);
  const admin = kafka.admin();
  await admin.connect();
  const committed = await admin.fetchOffsets({ groupId: "durable-readers", topics: ["durable"] });
  assert.equal(committed[0]!.partitions[0]!.offset, "100", "committed offset persisted");
  const offsets = await admin.fetchTopicOffsets("durable");
  assert.equal(offsets[0]!.high, "100");
  await admin.disconnect();
  const again = kafka.producer();
  await again.connect();
  await again.send({ topic: "durable", messages: Array.from({ length: 10 }, (_, i) => ({ value: `n${i}` })) });
  await again.disconnect();
  const resumed = await consumeAll(kafka, "durable", "durable-readers", 10);
  assert.deepEqual(
    resumed.map(({ message }) => message.value!.toString()),
    Array.from({ length: 10 }, (_, i) => `n${i}`),
    "the group resumed after its committed offset",
  );
  const everything = await consumeAll(kafka, "durable", "fresh-readers", 110);
  assert.equal(everything.length, 110);
  assert.equal(everything[0]!.message.value!.toString(), "m0");
  // Closed here, before the data dir is removed by the cleanup registered first.
  await broker.close();
});

test("an idempotent producer retrying after a dropped response writes no duplicates", async (t) => {
  const broker = await brokerForTest(t);
  const kafka = kafkaFor(broker);
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: "payments", numPartitions: 1 }] });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  await producer.send({ topic: "payments", acks: -1, messages: [{ value: "first" }] });
  // The next Produce is appended, but its answer never reaches the client, which must retry the same batch.
  broker.injectFault({ apiKey: 0, action: { kind: "dropResponse" }, times: 1 });
  await producer.send({ topic: "payments", acks: -1, messages: [{ value: "second" }, { value: "third" }] });
  await producer.send({ topic: "payments", acks: -1, messages: [{ value: "fourth" }] });
  await producer.disconnect();
  const offsets = await admin.fetchTopicOffsets("payments");
  assert.equal(offsets[0]!.high, "4", "the retried batch was not appended twice");
  await admin.disconnect();
  const received = await consumeAll(kafka, "payments", "payment-readers", 4);
  assert.deepEqual(
    received.map(({ message }) => message.value!.toString()),
    ["first", "second", "third", "fourth"],
  );
});

test("injected error codes reach the client", async (t) => {
  const broker = await brokerForTest(t);
  const kafka = kafkaFor(broker, { retry: { retries: 0 } });
  const producer = kafka.producer();
  await producer.connect();
  broker.injectFault({ apiKey: 0, action: { kind: "error", errorCode: 87 }, times: 1 });
  await assert.rejects(producer.send({ topic: "faulty", messages: [{ value: "x" }] }), /failed the validation/);
  await producer.send({ topic: "faulty", messages: [{ value: "y" }] });
  await producer.disconnect();
});
