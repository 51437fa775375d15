// Kills the broker with SIGKILL in the middle of a steady acks=-1 produce and proves, after a restart on the same
// data dir, that every acknowledged message is there, in order, and that the log is readable end to end.

import assert from "node:assert/strict";
import { test } from "node:test";
import { Kafka, logLevel } from "kafkajs";
import { startBrokerProcess } from "../helpers/broker-process.js";
import { temporaryDir } from "../helpers/environment.js";

test("every message acknowledged with acks=-1 survives SIGKILL", async (t) => {
  const dataDir = temporaryDir(t);
  const first = await startBrokerProcess(dataDir);
  t.after(() => first.child.kill("SIGKILL"));
  const kafka = new Kafka({ brokers: [first.address], logLevel: logLevel.NOTHING, retry: { retries: 0 } });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: "ledger", numPartitions: 2 }] });
  await admin.disconnect();
  const producer = kafka.producer({ retry: { retries: 0 } });
  await producer.connect();

  const acknowledged: string[] = [];
  let sequence = 0;
  let stop = false;
  const writers = [0, 1].map(async (partition) => {
    while (!stop) {
      const values = Array.from({ length: 20 }, () => `p${partition}-${sequence++}`);
      try {
        await producer.send({ topic: "ledger", acks: -1, messages: values.map((value) => ({ value, partition })) });
        acknowledged.push(...values);
      } catch {
        return;
      }
    }
  });
  // Let a steady stream build up, then pull the plug without warning.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  first.child.kill("SIGKILL");
  stop = true;
  await Promise.all(writers);
  await producer.disconnect().catch(() => undefined);
  assert.ok(acknowledged.length > 100, `only ${acknowledged.length} messages were acknowledged before the kill`);

  const second = await startBrokerProcess(dataDir);
  t.after(() => second.child.kill("SIGKILL"));
  const reader = new Kafka({ brokers: [second.address], logLevel: logLevel.NOTHING });
  const consumer = reader.consumer({ groupId: "auditor", maxWaitTimeInMs: 100 });
  const admin2 = reader.admin();
  await admin2.connect();
  const offsets = await admin2.fetchTopicOffsets("ledger");
  await admin2.disconnect();
  const stored = offsets.reduce((sum, partition) => sum + Number(partition.high), 0);
  assert.ok(stored >= acknowledged.length, `stored ${stored} < acknowledged ${acknowledged.length}`);

  const seen: Array<{ partition: number; value: string }> = [];
  await consumer.connect();
  await consumer.subscribe({ topic: "ledger", fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ partition, message }) => void seen.push({ partition, value: message.value!.toString() }),
  });
  const deadline = Date.now() + 20_000;
  while (seen.length < stored && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  await consumer.disconnect();
  assert.equal(seen.length, stored, "the whole recovered log is readable");

  const seenValues = new Set(seen.map((entry) => entry.value));
  const missing = acknowledged.filter((value) => !seenValues.has(value));
  assert.deepEqual(missing, [], "no acknowledged message was lost");
  for (const partition of [0, 1]) {
    const sequences = seen
      .filter((entry) => entry.partition === partition)
      .map((entry) => Number(entry.value.split("-")[1]));
    assert.deepEqual(
      sequences,
      [...sequences].sort((a, b) => a - b),
      `partition ${partition} kept its order`,
    );
  }
  second.child.kill("SIGTERM");
});
