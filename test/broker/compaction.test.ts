// Log compaction through the broker: kafkajs produces to a compacted topic, the cleaner runs, and a consumer from
// offset 0 sees the latest value of every key at the offset Kafka gives it; keyless records are refused as Kafka
// refuses them; and a topic of 1,000,000 records over 1,000 keys compacts to exactly the latest record per key.

import assert from "node:assert/strict";
import { test } from "node:test";
import { brokerForTest, eventually, kafkaFor } from "../helpers/broker.js";
import { buildRecordBatch, validateProducedBatch } from "../../src/kafka/protocol/record-batch.js";
import { readAll } from "./log/compaction-helpers.js";

test("kafkajs: a consumer from offset 0 sees each key's latest value at its original offset", async (t) => {
  const running = await brokerForTest(t, { logCleanerBackoffMs: 50 });
  const kafka = kafkaFor(running);
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    topics: [
      {
        topic: "accounts",
        numPartitions: 1,
        configEntries: [
          { name: "cleanup.policy", value: "compact" },
          { name: "segment.bytes", value: "1024" },
          { name: "min.cleanable.dirty.ratio", value: "0.01" },
        ],
      },
    ],
  });
  const producer = kafka.producer();
  await producer.connect();
  const written: Array<{ offset: number; key: string; value: string | null }> = [];
  for (let round = 0; round < 30; round++) {
    const messages = Array.from({ length: 8 }, (_, key) => ({
      key: `account-${key}`,
      value: round === 29 && key === 5 ? null : `balance-${key}-${round}`,
    }));
    const [result] = await producer.send({ topic: "accounts", messages });
    messages.forEach((message, i) =>
      written.push({ offset: Number(result!.baseOffset) + i, key: message.key, value: message.value }),
    );
  }
  // One more batch starts a new active segment, so that every round above is in sealed, cleanable segments.
  await producer.send({ topic: "accounts", messages: [{ key: "account-0", value: "final" }] });
  written.push({ offset: written.length, key: "account-0", value: "final" });

  const log = running.broker.topics.partition("accounts", 0)!.log;
  // The background cleaner gets to every sealed segment: below the active one, one record per key is left.
  const cleanedOnce = (): boolean => {
    const activeBase = log.segmentBaseOffsets().at(-1)!;
    const below = readAll(log).filter((record) => record.offset < activeBase);
    return new Set(below.map((record) => record.key)).size === below.length;
  };
  assert.ok(await eventually(cleanedOnce, 20_000), "the background cleaner compacted the topic");
  assert.ok(running.broker.cleaner.stats.runs > 0);

  const seen: Array<{ offset: number; key: string; value: string | null }> = [];
  const consumer = kafka.consumer({ groupId: "compaction-reader", maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic: "accounts", fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) =>
      void seen.push({
        offset: Number(message.offset),
        key: message.key!.toString(),
        value: message.value === null ? null : message.value.toString(),
      }),
  });
  const latest = new Map<string, (typeof written)[number]>();
  for (const record of written) latest.set(record.key, record);
  // What Kafka would serve: the latest record of each key, at its offset, in offset order (the tombstone of
  // account-5 included: delete.retention.ms has not passed), plus account-0's earlier value, which sits in the
  // cleaned segments while its newer value is still in the active segment.
  assert.ok(await eventually(() => seen.some((record) => record.value === "final"), 20_000));
  await consumer.stop();
  const activeBase = log.segmentBaseOffsets().at(-1)!;
  const latestCleaned = new Map<string, (typeof written)[number]>();
  for (const record of written) if (record.offset < activeBase) latestCleaned.set(record.key, record);
  const expected = [...latestCleaned.values(), ...written.filter((record) => record.offset >= activeBase)].sort(
    (a, b) => a.offset - b.offset,
  );
  assert.deepEqual(seen, expected);
  assert.equal(latest.get("account-5")!.value, null);
  assert.ok(
    seen.some((record) => record.key === "account-5" && record.value === null),
    "the tombstone is served",
  );
  const offsets = await admin.fetchTopicOffsets("accounts");
  assert.equal(offsets[0]!.low, "0", "the log start stays at 0, as in Kafka");
  assert.equal(offsets[0]!.high, String(written.length));
});

test("kafkajs: a compacted topic refuses records without a key with INVALID_RECORD", async (t) => {
  const running = await brokerForTest(t);
  const kafka = kafkaFor(running, { retry: { retries: 0 } });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    topics: [{ topic: "profiles", configEntries: [{ name: "cleanup.policy", value: "compact,delete" }] }],
  });
  const producer = kafka.producer({ retry: { retries: 0 } });
  await producer.connect();
  await assert.rejects(
    producer.send({ topic: "profiles", messages: [{ key: "a", value: "1" }, { value: "no key" }] }),
    (error: Error & { type?: string }) => error.type === "INVALID_RECORD",
  );
  await producer.send({ topic: "profiles", messages: [{ key: "a", value: "1" }] });
  assert.equal(running.broker.topics.partition("profiles", 0)!.log.logEndOffset, 1, "the refused batch left no trace");
});

test("1,000,000 records over 1,000 keys compact to the latest record of every key at its offset", async (t) => {
  const running = await brokerForTest(t);
  const { broker } = running;
  broker.topics.create(
    "million",
    1,
    new Map([
      ["cleanup.policy", "compact"],
      ["segment.bytes", String(4 * 1024 * 1024)],
    ]),
  );
  const log = broker.topics.partition("million", 0)!.log;
  const keys = 1000;
  const total = 1_000_000;
  const batchSize = 5000;
  // A seeded shuffle of keys, so that each key's last write lands at an offset no formula gives away.
  let seed = 0x2545f491;
  const random = (): number => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 0x100000000;
  };
  const latestOffset = new Int32Array(keys).fill(-1);
  const keyNames = Array.from({ length: keys }, (_, key) => `key-${String(key).padStart(4, "0")}`);
  // Produced through the broker's in-process API in large batches, exactly as the Produce handler appends them.
  for (let base = 0; base < total; base += batchSize) {
    const records = Array.from({ length: batchSize }, (_, i) => {
      const key = Math.floor(random() * keys);
      latestOffset[key] = base + i;
      return { key: keyNames[key]!, value: `v${base + i}` };
    });
    const batch = buildRecordBatch({ records, timestamp: 1_700_000_000_000 });
    const validation = validateProducedBatch(batch, 10 * 1024 * 1024);
    assert.ok("header" in validation);
    assert.equal(log.append(batch, validation.header).baseOffset, base);
  }
  // A last small batch rolls nothing by itself; roll by hand so that every record above is in a sealed segment.
  const closing = buildRecordBatch({ records: [{ key: "closing", value: "x" }], timestamp: 1_700_000_000_000 });
  const validation = validateProducedBatch(closing, 10 * 1024 * 1024);
  assert.ok("header" in validation);
  broker.topics.alterConfigs("million", new Map([["segment.ms", "1"]]), true, false);
  await new Promise((resolve) => setTimeout(resolve, 5));
  log.append(closing, validation.header);
  assert.ok(log.segmentCount > 2);

  const started = Date.now();
  assert.equal(await broker.cleaner.cleanNow(), 1);
  const elapsedMs = Date.now() - started;
  t.diagnostic(`compacted ${total} records in ${elapsedMs} ms (${log.segmentCount} segments left)`);

  const records = readAll(log).filter((record) => record.key !== "closing");
  assert.equal(records.length, keys, "one record per key");
  for (const record of records) {
    const key = Number(record.key!.slice(4));
    assert.equal(record.offset, latestOffset[key], `offset kept for ${record.key}`);
    assert.equal(record.value, `v${latestOffset[key]}`, `latest value of ${record.key}`);
  }
  assert.equal(log.logStartOffset, 0);
  assert.equal(log.logEndOffset, total + 1);
});
