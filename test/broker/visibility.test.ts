// When a record becomes visible to consumers on a broker that fsyncs (flush "always", the default): once it is
// written, before its fsync, as on a single Kafka node, where the high watermark is the log end. acks=-1 is what
// waits for the fsync; docs/kafka-client.md ("When a record is visible") says why visibility does not.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { clientFor } from "../kafka/client/support.js";
import { brokerForTest } from "../helpers/broker.js";

test("a written record is fetchable before its fsync; an acks=-1 answer comes only after it", async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), "sluice-visibility-"));
  const running = await brokerForTest(t, { dataDir });
  // After the broker's own teardown, which writes its indexes on close.
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const client = clientFor(t, running);
  await client.admin.createTopics([{ name: "visible", partitions: 1 }]);
  const log = running.broker.topics.get("visible")!.partitions[0]!.log;

  // acks=1 is answered once written; nothing has asked for an fsync yet.
  await client.produce({ topic: "visible", partition: 0, acks: 1, records: [{ value: "written" }] });
  assert.equal(log.logEndOffset, 1);
  assert.equal(log.lastSyncedOffset, 0, "the record is not yet durable");
  const [fetched] = await client.fetch([{ topic: "visible", partition: 0, offset: 0 }], { maxWaitMs: 10 });
  assert.deepEqual(
    fetched!.records.map((record) => record.value!.toString()),
    ["written"],
  );
  assert.equal(fetched!.highWatermark, 1, "the high watermark is the log end, not the durable end");

  // acks=-1 answers only once everything written so far is durable.
  await client.produce({ topic: "visible", partition: 0, records: [{ value: "durable" }] });
  assert.equal(log.lastSyncedOffset, 2);
});
