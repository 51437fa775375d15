// The cluster-level admin APIs through @platformatic/kafka: DescribeLogDirs (the data dir and every partition's
// size), AlterClientQuotas and DescribeClientQuotas (stored, persisted and reported), and DescribeTopicPartitions
// with its partition limit and cursor.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { Admin, Connection, describeTopicPartitionsV0 } from "@platformatic/kafka";
import type { RunningBroker } from "../../src/broker/index.js";
import { brokerForTest, kafkaFor } from "../helpers/broker.js";

function adminFor(t: { after: (fn: () => Promise<void>) => void }, broker: RunningBroker): Admin {
  const admin = new Admin({ clientId: "cluster-admin", bootstrapBrokers: [broker.address], retries: 0 });
  t.after(() => admin.close());
  return admin;
}

test("DescribeLogDirs reports the data dir and each partition's size", async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), "sluice-logdirs-"));
  const broker = await brokerForTest(t, { dataDir });
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const producer = kafkaFor(broker).producer();
  await producer.connect();
  await producer.send({ topic: "logdirs", messages: [{ value: "x".repeat(1000) }] });
  const admin = adminFor(t, broker);

  const [described] = await admin.describeLogDirs({ topics: [{ name: "logdirs", partitions: [0] }] });
  const [logDir] = described!.results;
  assert.equal(logDir!.logDir, dataDir);
  assert.ok(Number(logDir!.totalBytes) > 0 && Number(logDir!.usableBytes) > 0);
  const [partition] = logDir!.topics.find((topic) => topic.name === "logdirs")!.partitions;
  assert.ok(Number(partition!.partitionSize) > 1000, String(partition!.partitionSize));
});

test("client quotas are stored, reported by filter and kept across a restart", async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), "sluice-quotas-"));
  const broker = await brokerForTest(t, { dataDir });
  const admin = adminFor(t, broker);
  await admin.alterClientQuotas({
    entries: [
      {
        entities: [{ entityType: "user", entityName: "alice" }],
        ops: [{ key: "producer_byte_rate", value: 1024, remove: false }],
      },
      {
        entities: [{ entityType: "client-id", entityName: null }],
        ops: [{ key: "request_percentage", value: 50, remove: false }],
      },
    ],
  });
  const alice = await admin.describeClientQuotas({
    components: [{ entityType: "user", matchType: 0, match: "alice" }],
  });
  assert.deepEqual(alice, [
    { entity: [{ entityType: "user", entityName: "alice" }], values: [{ key: "producer_byte_rate", value: 1024 }] },
  ]);
  await assert.rejects(
    admin.alterClientQuotas({
      entries: [
        {
          entities: [{ entityType: "ip" as never, entityName: "1.2.3.4" }],
          ops: [{ key: "producer_byte_rate", value: 1, remove: false }],
        },
      ],
    }),
  );
  await admin.close();
  await broker.close();

  const restarted = await brokerForTest(t, { dataDir });
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const again = adminFor(t, restarted);
  const defaults = await again.describeClientQuotas({ components: [{ entityType: "client-id", matchType: 1 }] });
  assert.deepEqual(defaults, [
    { entity: [{ entityType: "client-id", entityName: null }], values: [{ key: "request_percentage", value: 50 }] },
  ]);
});

test("DescribeTopicPartitions pages through partitions with a cursor", async (t) => {
  const broker = await brokerForTest(t);
  const admin = kafkaFor(broker).admin();
  await admin.connect();
  await admin.createTopics({
    topics: [
      { topic: "paged-a", numPartitions: 3 },
      { topic: "paged-b", numPartitions: 2 },
    ],
  });
  const connection = new Connection("cluster-admin");
  await connection.connect(broker.host, broker.port);
  t.after(() => connection.close());

  const first = await describeTopicPartitionsV0.api.async(connection, [{ name: "paged-b" }, { name: "paged-a" }], 4);
  assert.deepEqual(
    first.topics.map((topic) => [topic.name, topic.partitions.map((p) => p.partitionIndex)]),
    [
      ["paged-a", [0, 1, 2]],
      ["paged-b", [0]],
    ],
  );
  assert.deepEqual(first.nextCursor, { topicName: "paged-b", partitionIndex: 1 });
  const second = await describeTopicPartitionsV0.api.async(
    connection,
    [{ name: "paged-b" }, { name: "paged-a" }],
    4,
    first.nextCursor!,
  );
  assert.deepEqual(
    second.topics.map((topic) => [topic.name, topic.partitions.map((p) => p.partitionIndex)]),
    [["paged-b", [1]]],
  );
  assert.equal(second.nextCursor ?? null, null);
});
