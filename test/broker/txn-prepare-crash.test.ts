// Kills the broker with SIGKILL after a transaction's Prepare state is durable and before any of its markers is
// written (EndTxn is answered only then, so the producer never hears back), and proves after a restart on the same
// data dir that the transaction ends the way it was decided: a commit shows all of its records and commits its
// group offsets, an abort shows none, and nothing is left open.

import assert from "node:assert/strict";
import { test } from "node:test";
import { Kafka, logLevel, type Producer } from "kafkajs";
import { startBrokerProcess } from "../helpers/broker-process.js";
import { temporaryDir } from "../helpers/environment.js";

const PARTITIONS = 2;
const RECORDS_PER_PARTITION = 5;
const READ_TIMEOUT_MS = 60_000;
const retry = { retries: 1, initialRetryTime: 50, maxRetryTime: 100 };

async function killedWhileCompleting(dataDir: string, commit: boolean): Promise<void> {
  const broker = await startBrokerProcess(dataDir, "test/fixtures/txn-kill-before-markers.ts");
  const exited = new Promise((resolve) => broker.child.once("exit", resolve));
  const kafka = new Kafka({ brokers: [broker.address], logLevel: logLevel.NOTHING, retry });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: "ledger", numPartitions: PARTITIONS }] });
  await admin.disconnect();
  const producer: Producer = kafka.producer({ transactionalId: "prepared", maxInFlightRequests: 1, idempotent: true });
  await producer.connect();
  const transaction = await producer.transaction();
  for (let partition = 0; partition < PARTITIONS; partition++) {
    await transaction.send({
      topic: "ledger",
      messages: Array.from({ length: RECORDS_PER_PARTITION }, (_, i) => ({
        partition,
        value: `txn:${partition}:${i}`,
      })),
    });
  }
  await transaction.sendOffsets({
    consumerGroupId: "ledger-reader",
    topics: [{ topic: "ledger", partitions: [{ partition: 0, offset: "42" }] }],
  });
  const ended = commit ? transaction.commit() : transaction.abort();
  await assert.rejects(ended, "the broker dies before it answers EndTxn");
  await exited;
  await producer.disconnect().catch(() => undefined);
}

/** What a read_committed consumer sees of the topic, read up to a record written after the restart. */
async function readCommitted(kafka: Kafka): Promise<string[]> {
  const producer = kafka.producer();
  await producer.connect();
  for (let partition = 0; partition < PARTITIONS; partition++) {
    await producer.send({ topic: "ledger", messages: [{ partition, value: `after:${partition}` }] });
  }
  await producer.disconnect();
  const consumer = kafka.consumer({ groupId: "inspector", readUncommitted: false, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic: "ledger", fromBeginning: true });
  const values: string[] = [];
  let afterSeen = 0;
  const done = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`read ${values.join(",")} before the timeout`)), READ_TIMEOUT_MS);
    void consumer.run({
      eachMessage: async ({ message }) => {
        const value = message.value!.toString();
        values.push(value);
        if (value.startsWith("after:") && ++afterSeen === PARTITIONS) {
          clearTimeout(timer);
          resolve();
        }
      },
    });
  });
  try {
    await done;
  } finally {
    await consumer.disconnect();
  }
  return values.filter((value) => !value.startsWith("after:")).sort();
}

for (const commit of [true, false]) {
  test(`${commit ? "a commit" : "an abort"} killed between Prepare and its markers is completed on restart`, async (t) => {
    const dataDir = temporaryDir(t);
    await killedWhileCompleting(dataDir, commit);

    const restarted = await startBrokerProcess(dataDir);
    t.after(() => restarted.child.kill("SIGKILL"));
    const kafka = new Kafka({ brokers: [restarted.address], logLevel: logLevel.NOTHING, retry });
    const expected = commit
      ? Array.from({ length: PARTITIONS }, (_, p) =>
          Array.from({ length: RECORDS_PER_PARTITION }, (_, i) => `txn:${p}:${i}`),
        )
          .flat()
          .sort()
      : [];
    assert.deepEqual(await readCommitted(kafka), expected);

    const admin = kafka.admin();
    await admin.connect();
    const [offsets] = await admin.fetchOffsets({ groupId: "ledger-reader", topics: ["ledger"] });
    const partition0 = offsets!.partitions.find((p) => p.partition === 0)!;
    assert.equal(partition0.offset, commit ? "42" : "-1", "the group's offsets follow the transaction");
    await admin.disconnect();

    // The transactional id is usable again: a new instance's transaction commits.
    const producer = kafka.producer({ transactionalId: "prepared", maxInFlightRequests: 1, idempotent: true });
    await producer.connect();
    const next = await producer.transaction();
    await next.send({ topic: "ledger", messages: [{ partition: 0, value: "next" }] });
    await next.commit();
    await producer.disconnect();
  });
}
