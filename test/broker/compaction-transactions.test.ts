// Transactions on a compacted topic, as Kafka's cleaner treats them: the records of an aborted transaction are
// removed by the cleaner (here in its worker thread, the topic being on disk), those of a committed one stay, and
// both transactions' markers stay in the log.

import assert from "node:assert/strict";
import { test } from "node:test";
import { brokerForTest, kafkaFor } from "../helpers/broker.js";
import { temporaryDir } from "../helpers/environment.js";
import { decodeRecordBatch, isControlBatch, iterateBatches } from "../../src/kafka/protocol/record-batch.js";

test("the cleaner removes an aborted transaction's records and keeps the committed one's and both markers", async (t) => {
  const running = await brokerForTest(t, { dataDir: temporaryDir(t), logCleanerBackoffMs: 3_600_000 });
  const kafka = kafkaFor(running);
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    topics: [
      {
        topic: "ledger",
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
  const producer = kafka.producer({ transactionalId: "ledger-writer", maxInFlightRequests: 1, idempotent: true });
  await producer.connect();
  const aborted = await producer.transaction();
  await aborted.send({
    topic: "ledger",
    messages: [
      { key: "a", value: "aborted-a" },
      { key: "b", value: "aborted-b" },
    ],
  });
  await aborted.abort();
  const committed = await producer.transaction();
  await committed.send({ topic: "ledger", messages: [{ key: "c", value: "committed-c" }] });
  await committed.commit();
  await producer.disconnect();
  // Plain records of other keys fill segments, so that both transactions lie in sealed, cleanable segments.
  const plain = kafka.producer();
  await plain.connect();
  for (let i = 0; i < 40; i++) {
    await plain.send({ topic: "ledger", messages: [{ key: `filler-${i}`, value: "x".repeat(100) }] });
  }
  await plain.disconnect();

  const log = running.broker.topics.partition("ledger", 0)!.log;
  const contents = (): { values: string[]; markers: number } => {
    const values: string[] = [];
    let markers = 0;
    let offset = log.logStartOffset;
    while (offset < log.logEndOffset) {
      const { records } = log.read(offset, 1024 * 1024);
      if (records.length === 0) break;
      for (const { bytes } of iterateBatches(records)) {
        const batch = decodeRecordBatch(bytes);
        offset = batch.header.baseOffset + batch.header.lastOffsetDelta + 1;
        if (isControlBatch(batch.header)) markers++;
        else values.push(...batch.records.map((record) => record.value!.toString()));
      }
    }
    return { values, markers };
  };
  const before = contents();
  assert.ok(before.values.includes("aborted-a") && before.markers === 2);
  assert.ok(log.segmentCount > 2, `${log.segmentCount} segments`);

  assert.equal(await running.broker.cleaner.cleanNow(), 1);
  const after = contents();
  assert.ok(!after.values.includes("aborted-a") && !after.values.includes("aborted-b"), "aborted records removed");
  assert.ok(after.values.includes("committed-c"), "committed records kept");
  assert.equal(after.markers, 2, "both transaction markers kept");
  // Closed here, before the data dir (registered first) is removed.
  await running.close();
});
