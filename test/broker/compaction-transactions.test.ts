// Transactions on a compacted topic, as Kafka's cleaner treats them (here in its worker thread, the topic being on
// disk): an aborted transaction's records are removed, committed transactions' records are compacted by key like
// any others, and a marker is removed once nothing of its transaction is left and delete.retention.ms has passed,
// the aborted transaction it ended being forgotten by the partition (also across a restart). Consumers of both
// isolation levels then see each key's latest committed value at its original offset.

import assert from "node:assert/strict";
import { test } from "node:test";
import type { Kafka } from "kafkajs";
import { brokerForTest, eventually, kafkaFor } from "../helpers/broker.js";
import { temporaryDir } from "../helpers/environment.js";
import type { RunningBroker } from "../../src/broker/index.js";
import { decodeRecordBatch, isControlBatch, iterateBatches } from "../../src/kafka/protocol/record-batch.js";

const TOPIC = "ledger";

interface Stored {
  offset: number;
  key: string;
  value: string;
}

/** The records and the markers the partition's log holds, read straight from it. */
function contents(running: RunningBroker): { records: Stored[]; markers: number[] } {
  const log = running.broker.topics.partition(TOPIC, 0)!.log;
  const records: Stored[] = [];
  const markers: number[] = [];
  let offset = log.logStartOffset;
  while (offset < log.logEndOffset) {
    const read = log.read(offset, 1024 * 1024);
    if (read.records.length === 0) break;
    for (const { bytes } of iterateBatches(read.records)) {
      const batch = decodeRecordBatch(bytes);
      offset = batch.header.baseOffset + batch.header.lastOffsetDelta + 1;
      if (isControlBatch(batch.header)) markers.push(batch.header.baseOffset);
      else {
        for (const record of batch.records) {
          records.push({
            offset: record.offset,
            key: record.key!.toString(),
            value: record.value!.toString(),
          });
        }
      }
    }
  }
  return { records, markers };
}

/** Plain records of other keys: they fill segments, so that what came before lies in sealed, cleanable ones. */
async function fill(kafka: Kafka, round: number): Promise<void> {
  const plain = kafka.producer();
  await plain.connect();
  for (let i = 0; i < 30; i++) {
    await plain.send({ topic: TOPIC, messages: [{ key: `filler-${round}-${i}`, value: "x".repeat(100) }] });
  }
  await plain.disconnect();
}

async function consumeAll(kafka: Kafka, readUncommitted: boolean, lastKey: string): Promise<Stored[]> {
  const seen: Stored[] = [];
  const consumer = kafka.consumer({
    groupId: `reader-${readUncommitted ? "uncommitted" : "committed"}`,
    readUncommitted,
    maxWaitTimeInMs: 100,
  });
  await consumer.connect();
  await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) =>
      void seen.push({
        offset: Number(message.offset),
        key: message.key!.toString(),
        value: message.value!.toString(),
      }),
  });
  assert.ok(await eventually(() => seen.some((record) => record.key === lastKey), 20_000), "the consumer caught up");
  await consumer.stop();
  await consumer.disconnect();
  return seen;
}

test("the cleaner compacts committed transactions by key, removes aborted ones, then their markers", async (t) => {
  const dataDir = temporaryDir(t);
  let running = await brokerForTest(t, { dataDir, logCleanerBackoffMs: 3_600_000 });
  let kafka = kafkaFor(running);
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    topics: [
      {
        topic: TOPIC,
        numPartitions: 1,
        configEntries: [
          { name: "cleanup.policy", value: "compact" },
          { name: "segment.bytes", value: "1024" },
          { name: "min.cleanable.dirty.ratio", value: "0.01" },
          { name: "delete.retention.ms", value: "0" },
        ],
      },
    ],
  });
  await admin.disconnect();
  const producer = kafka.producer({ transactionalId: "ledger-writer", maxInFlightRequests: 1, idempotent: true });
  await producer.connect();
  const aborted = await producer.transaction();
  await aborted.send({
    topic: TOPIC,
    messages: [
      { key: "a", value: "aborted-a" },
      { key: "b", value: "aborted-b" },
    ],
  });
  await aborted.abort();
  // The first committed transaction is entirely replaced: c by the second transaction, a by a plain record.
  const replaced = await producer.transaction();
  await replaced.send({
    topic: TOPIC,
    messages: [
      { key: "c", value: "committed-c-1" },
      { key: "a", value: "committed-a" },
    ],
  });
  await replaced.commit();
  const kept = await producer.transaction();
  await kept.send({ topic: TOPIC, messages: [{ key: "c", value: "committed-c-2" }] });
  await kept.commit();
  await producer.disconnect();
  const plain = kafka.producer();
  await plain.connect();
  await plain.send({ topic: TOPIC, messages: [{ key: "a", value: "plain-a" }] });
  await plain.disconnect();
  await fill(kafka, 0);

  const partition = (): NonNullable<ReturnType<typeof running.broker.topics.partition>> =>
    running.broker.topics.partition(TOPIC, 0)!;
  const before = contents(running);
  // The offset of each key's latest record as written.
  const written = new Map(before.records.map((record) => [record.key, record.offset]));
  assert.equal(before.markers.length, 3);
  const keptMarker = before.markers[2];
  assert.equal(partition().txns.abortedBetween(0, Number.MAX_SAFE_INTEGER).length, 1);

  // First cleaning: the aborted records go, and so do the replaced committed ones; every marker stays, each
  // transaction having had records in the log when the cleaner reached its marker.
  assert.equal(await running.broker.cleaner.cleanNow(), 1);
  let after = contents(running);
  const values = (): string[] => after.records.map((record) => record.value);
  assert.ok(!values().includes("aborted-a") && !values().includes("aborted-b"), "aborted records removed");
  assert.ok(!values().includes("committed-c-1") && !values().includes("committed-a"), "replaced records compacted");
  assert.ok(values().includes("committed-c-2") && values().includes("plain-a"));
  assert.deepEqual(after.markers, before.markers, "markers kept while their transactions had records");

  // Second cleaning (new data makes the log dirty again): the markers of the aborted and the replaced transaction
  // have nothing left and get their delete horizon; with delete.retention.ms=0 the third cleaning removes them.
  await fill(kafka, 1);
  for (const record of contents(running).records) if (!written.has(record.key)) written.set(record.key, record.offset);
  assert.equal(await running.broker.cleaner.cleanNow(), 1);
  assert.deepEqual(contents(running).markers, before.markers, "markers kept until their delete horizon");
  assert.equal(await running.broker.cleaner.cleanNow(), 1);
  after = contents(running);
  assert.deepEqual(after.markers, [keptMarker], "only the marker of the transaction with records left stays");
  assert.deepEqual(partition().txns.abortedBetween(0, Number.MAX_SAFE_INTEGER), [], "the aborted range is forgotten");

  // Every kept record is at its original offset, and the forgotten aborted range stays forgotten after a restart.
  for (const record of after.records) assert.equal(record.offset, written.get(record.key), record.key);
  await running.close();
  running = await brokerForTest(t, { dataDir, logCleanerBackoffMs: 3_600_000 });
  kafka = kafkaFor(running);
  assert.deepEqual(partition().txns.abortedBetween(0, Number.MAX_SAFE_INTEGER), []);
  assert.deepEqual(contents(running), after);

  // Both isolation levels see each key's latest committed value once, at its offset.
  const expected = after.records;
  const lastKey = expected.at(-1)!.key;
  for (const readUncommitted of [false, true]) {
    const seen = await consumeAll(kafka, readUncommitted, lastKey);
    assert.deepEqual(seen, expected, `readUncommitted=${readUncommitted}`);
    assert.equal(seen.find((record) => record.key === "a")?.value, "plain-a");
    assert.equal(seen.find((record) => record.key === "c")?.value, "committed-c-2");
    assert.ok(!seen.some((record) => record.key === "b"));
  }
  await running.close();
});

test("the cleaner leaves an open transaction's segments alone: its records may still be aborted", async (t) => {
  const running = await brokerForTest(t, { dataDir: temporaryDir(t), logCleanerBackoffMs: 3_600_000 });
  const kafka = kafkaFor(running);
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    topics: [
      {
        topic: TOPIC,
        numPartitions: 1,
        configEntries: [
          { name: "cleanup.policy", value: "compact" },
          { name: "segment.bytes", value: "1024" },
          { name: "min.cleanable.dirty.ratio", value: "0.01" },
        ],
      },
    ],
  });
  await admin.disconnect();
  const plain = kafka.producer();
  await plain.connect();
  await plain.send({ topic: TOPIC, messages: [{ key: "a", value: "first-a" }] });
  await fill(kafka, 0);
  const producer = kafka.producer({ transactionalId: "ledger-writer", maxInFlightRequests: 1, idempotent: true });
  await producer.connect();
  const open = await producer.transaction();
  await open.send({ topic: TOPIC, messages: [{ key: "a", value: "open-a" }] });
  await fill(kafka, 1);
  await plain.disconnect();

  // Cleaned while the transaction is open, then aborted: the committed value must survive.
  assert.equal(await running.broker.cleaner.cleanNow(), 1);
  await open.abort();
  await producer.disconnect();
  await fill(kafka, 2);
  assert.equal(await running.broker.cleaner.cleanNow(), 1);
  const values = contents(running).records.map((record) => record.value);
  assert.ok(values.includes("first-a"), "the committed value of a is kept");
  assert.ok(!values.includes("open-a"), "the aborted value of a is removed");
  await running.close();
});
