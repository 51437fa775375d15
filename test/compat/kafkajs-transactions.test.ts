// kafkajs, unmodified, using transactions against the embedded broker: exactly-once consume-transform-produce with
// sendOffsets, aborts hidden from read_committed consumers but shown to read_uncommitted ones, a zombie producer
// fenced by a new instance with the same transactional id, and a transaction aborted by its timeout.

import assert from "node:assert/strict";
import { test } from "node:test";
import type { Kafka, KafkaMessage } from "kafkajs";
import { brokerForTest, eventually, kafkaFor } from "../helpers/broker.js";

/** Every message on the topic as the given isolation level sees it, read from the start without a group commit. */
async function readAll(
  kafka: Kafka,
  topic: string,
  readUncommitted: boolean,
  expected: number,
  settleMs = 1500,
): Promise<KafkaMessage[]> {
  const consumer = kafka.consumer({
    groupId: `reader-${topic}-${readUncommitted ? "uncommitted" : "committed"}-${Math.random()}`,
    readUncommitted,
    maxWaitTimeInMs: 100,
    sessionTimeout: 6000,
    heartbeatInterval: 500,
  });
  const received: KafkaMessage[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ message }) => {
      received.push(message);
    },
  });
  await eventually(() => received.length >= expected, 20_000);
  // Anything past the expected count would be a leak of what should stay hidden: give it time to arrive.
  await new Promise((resolve) => setTimeout(resolve, settleMs));
  await consumer.disconnect();
  return received;
}

const values = (messages: KafkaMessage[]): string[] => messages.map((m) => m.value!.toString()).sort();

test("exactly-once consume-transform-produce: outputs and the group's offsets commit together", async (t) => {
  const broker = await brokerForTest(t);
  const kafka = kafkaFor(broker);
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: "eos-in" }, { topic: "eos-out" }] });
  const plain = kafka.producer();
  await plain.connect();
  await plain.send({ topic: "eos-in", messages: Array.from({ length: 20 }, (_, i) => ({ value: `n${i}` })) });

  const producer = kafka.producer({ transactionalId: "eos-transformer", maxInFlightRequests: 1, idempotent: true });
  await producer.connect();
  const consumer = kafka.consumer({ groupId: "eos-group", maxWaitTimeInMs: 100, sessionTimeout: 6000 });
  await consumer.connect();
  await consumer.subscribe({ topic: "eos-in", fromBeginning: true });
  let transformed = 0;
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ topic, partition, message }) => {
      const transaction = await producer.transaction();
      const n = Number(message.value!.toString().slice(1));
      await transaction.send({ topic: "eos-out", messages: [{ value: `squared ${n * n}` }] });
      await transaction.sendOffsets({
        consumerGroupId: "eos-group",
        topics: [{ topic, partitions: [{ partition, offset: String(Number(message.offset) + 1) }] }],
      });
      await transaction.commit();
      transformed++;
    },
  });
  assert.ok(await eventually(() => transformed === 20, 30_000), `transformed ${transformed} of 20`);
  await consumer.disconnect();

  const offsets = await admin.fetchOffsets({ groupId: "eos-group", topics: ["eos-in"] });
  assert.equal(offsets[0]!.partitions[0]!.offset, "20", "the transactions committed the group's offsets");
  const out = await readAll(kafka, "eos-out", false, 20);
  assert.deepEqual(values(out), Array.from({ length: 20 }, (_, n) => `squared ${n * n}`).sort());
});

test("an aborted transaction is hidden from read_committed consumers and shown to read_uncommitted ones", async (t) => {
  const broker = await brokerForTest(t);
  const kafka = kafkaFor(broker);
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: "mixed", numPartitions: 2 }] });
  const producer = kafka.producer({ transactionalId: "mixed-writer", maxInFlightRequests: 1, idempotent: true });
  await producer.connect();

  const aborted = await producer.transaction();
  await aborted.send({
    topic: "mixed",
    messages: Array.from({ length: 6 }, (_, i) => ({ key: `k${i}`, value: `aborted ${i}` })),
  });
  await aborted.abort();
  const committed = await producer.transaction();
  await committed.send({
    topic: "mixed",
    messages: Array.from({ length: 4 }, (_, i) => ({ key: `k${i}`, value: `committed ${i}` })),
  });
  await committed.commit();
  // Both kinds of reader stop at the same place even when the committed data comes after the aborted.
  const again = await producer.transaction();
  await again.send({ topic: "mixed", messages: [{ key: "k0", value: "aborted again" }] });
  await again.abort();

  const readCommitted = await readAll(kafka, "mixed", false, 4);
  assert.deepEqual(values(readCommitted), ["committed 0", "committed 1", "committed 2", "committed 3"]);
  const readUncommitted = await readAll(kafka, "mixed", true, 11);
  assert.equal(readUncommitted.length, 11, "read_uncommitted sees every record, control markers excluded");
  assert.equal(readUncommitted.filter((m) => m.value!.toString().startsWith("aborted")).length, 7);
});

test("a second producer with the same transactional id fences the first and aborts its open transaction", async (t) => {
  const broker = await brokerForTest(t);
  const kafka = kafkaFor(broker, { retry: { retries: 2, initialRetryTime: 50, maxRetryTime: 200 } });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: "fenced" }] });

  const zombie = kafka.producer({ transactionalId: "fence-me", maxInFlightRequests: 1, idempotent: true });
  await zombie.connect();
  const open = await zombie.transaction();
  await open.send({ topic: "fenced", messages: [{ value: "from the zombie" }] });

  const successor = kafka.producer({ transactionalId: "fence-me", maxInFlightRequests: 1, idempotent: true });
  await successor.connect();
  // kafkajs asks for its producer id and epoch when the first transaction begins: that is what fences the zombie.
  const next = await successor.transaction();
  await assert.rejects(
    open.send({ topic: "fenced", messages: [{ value: "zombie again" }] }),
    (error: Error & { type?: string }) => /EPOCH|FENCED/.test(`${error.type ?? ""} ${error.message}`),
    "the zombie cannot write",
  );
  await assert.rejects(open.commit(), "the zombie cannot commit");
  await next.send({ topic: "fenced", messages: [{ value: "from the successor" }] });
  await next.commit();

  const seen = await readAll(kafka, "fenced", false, 1);
  assert.deepEqual(values(seen), ["from the successor"]);
});

test("a transaction left open past its timeout is aborted and its producer fenced", async (t) => {
  const broker = await brokerForTest(t, { transactionAbortCheckIntervalMs: 100 });
  const kafka = kafkaFor(broker, { retry: { retries: 2, initialRetryTime: 50, maxRetryTime: 200 } });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: "slow" }] });
  const producer = kafka.producer({
    transactionalId: "too-slow",
    transactionTimeout: 1000,
    maxInFlightRequests: 1,
    idempotent: true,
  });
  await producer.connect();
  const transaction = await producer.transaction();
  await transaction.send({ topic: "slow", messages: [{ value: "never committed" }] });
  const state = () => broker.broker.txns.get("too-slow")?.state;
  assert.ok(await eventually(() => state() === "CompleteAbort", 10_000), `state is ${state()}`);
  await assert.rejects(transaction.commit(), "the commit after the timeout fails");

  assert.deepEqual(await readAll(kafka, "slow", false, 0), []);
  assert.deepEqual(values(await readAll(kafka, "slow", true, 1)), ["never committed"]);
});
