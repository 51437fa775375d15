// Topic administration through Sluice's client against the embedded broker, at the newest versions both speak and,
// through versionCaps, at the older shapes of CreateTopics and DeleteTopics.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { KafkaBrokerError, KafkaConfigError, KafkaTopicUnknownError } from "../../../../src/kafka/client/index.js";
import { brokerForTest } from "../../../helpers/broker.js";
import { clientFor } from "../support.js";

function errorName(error: KafkaBrokerError | null): string | null {
  return error === null ? null : error.errorName;
}

describe("topics", () => {
  test("create with configs, list, describe and delete; each topic of a batch gets its own result", async (t) => {
    const broker = await brokerForTest(t, { autoCreateTopics: false });
    const client = clientFor(t, broker);
    const created = await client.admin.createTopics([
      { name: "orders", partitions: 3, configs: { "retention.ms": "3600000", "cleanup.policy": "delete" } },
      { name: "audit", partitions: 1, replicationFactor: 1 },
      { name: "bad-config", partitions: 1, configs: { "no.such.config": "1" } },
    ]);
    assert.deepEqual(
      created.map((result) => [result.name, errorName(result.error), result.partitions]),
      [
        ["orders", null, 3],
        ["audit", null, 1],
        ["bad-config", "INVALID_CONFIG", -1],
      ],
    );
    assert.match(created[0]!.topicId ?? "", /^[0-9a-f]{32}$/);

    const again = await client.admin.createTopics([{ name: "orders", partitions: 3 }]);
    assert.equal(again[0]!.error?.errorName, "TOPIC_ALREADY_EXISTS");
    assert.equal(again[0]!.error?.retriable, false);

    assert.deepEqual(
      (await client.admin.listTopics()).map((topic) => [topic.name, topic.partitionCount]),
      [
        ["audit", 1],
        ["orders", 3],
      ],
    );
    const [orders] = await client.admin.describeTopics(["orders"]);
    assert.deepEqual(
      orders!.partitions.map((partition) => [partition.partition, partition.leader, partition.replicas, partition.isr]),
      [
        [0, 1, [1], [1]],
        [1, 1, [1], [1]],
        [2, 1, [1], [1]],
      ],
    );
    const [configs] = await client.admin.describeConfigs([{ type: "topic", name: "orders", keys: ["retention.ms"] }]);
    assert.deepEqual(
      configs!.configs.map((entry) => [entry.name, entry.value, entry.isDefault]),
      [["retention.ms", "3600000", false]],
    );

    const deleted = await client.admin.deleteTopics(["audit", "never-was"]);
    assert.deepEqual(
      deleted.map((result) => [result.name, errorName(result.error)]),
      [
        ["audit", null],
        ["never-was", "UNKNOWN_TOPIC_OR_PARTITION"],
      ],
    );
    await assert.rejects(client.admin.describeTopics(["audit"]), KafkaTopicUnknownError);
  });

  test("validateOnly checks a topic without creating it", async (t) => {
    const broker = await brokerForTest(t, { autoCreateTopics: false });
    const client = clientFor(t, broker);
    const [result] = await client.admin.createTopics([{ name: "dry-run", partitions: 2 }], { validateOnly: true });
    assert.equal(result!.error, null);
    assert.deepEqual(await client.admin.listTopics(), []);
  });

  test("partitions grow, never shrink", async (t) => {
    const broker = await brokerForTest(t);
    const client = clientFor(t, broker);
    await client.admin.createTopics([{ name: "growing", partitions: 1 }]);
    const [grown] = await client.admin.createPartitions([{ topic: "growing", count: 4 }]);
    assert.equal(grown!.error, null);
    assert.equal((await client.admin.describeTopics(["growing"]))[0]!.partitions.length, 4);
    const [shrunk] = await client.admin.createPartitions([{ topic: "growing", count: 2 }]);
    assert.equal(shrunk!.error?.errorName, "INVALID_PARTITIONS");
  });

  test("bad arguments are refused before anything is sent", async (t) => {
    const broker = await brokerForTest(t);
    const client = clientFor(t, broker);
    await assert.rejects(client.admin.createTopics([{ name: "bad name!", partitions: 1 }]), KafkaConfigError);
    await assert.rejects(
      client.admin.createTopics([{ name: "zero", partitions: 0 }]),
      /partitions: must be an integer of at least 1/,
    );
    await assert.rejects(client.admin.createPartitions([{ topic: "t", count: 0 }]), KafkaConfigError);
  });

  for (const [label, caps] of [
    ["CreateTopics v3 and DeleteTopics v5 (topic names only)", { 19: 3, 20: 5 }],
    ["CreateTopics v4 and DeleteTopics v1", { 19: 4, 20: 1 }],
  ] as const) {
    test(`older versions work the same: ${label}`, async (t) => {
      const broker = await brokerForTest(t, { autoCreateTopics: false });
      const client = clientFor(t, broker, { versionCaps: caps });
      const [created] = await client.admin.createTopics([{ name: "old-shape", partitions: 2, replicationFactor: 1 }]);
      assert.equal(created!.error, null);
      assert.equal((await client.admin.describeTopics(["old-shape"]))[0]!.partitions.length, 2);
      const [deleted] = await client.admin.deleteTopics(["old-shape"]);
      assert.equal(deleted!.error, null);
      assert.deepEqual(await client.admin.listTopics(), []);
    });
  }

  test("before CreateTopics v4 the partition count and replication factor must be given", async (t) => {
    const broker = await brokerForTest(t);
    const client = clientFor(t, broker, { versionCaps: { 19: 3 } });
    await assert.rejects(client.admin.createTopics([{ name: "defaults" }]), /needs partitions and replicationFactor/);
    const [created] = await clientFor(t, broker).admin.createTopics([{ name: "defaults" }]);
    assert.equal(created!.error, null, "v4+ takes the broker's defaults");
  });
});
