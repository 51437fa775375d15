// Reading and changing topic and broker configs through Sluice's client: whole-set AlterConfigs, incremental changes,
// validateOnly, per-resource errors, and DescribeConfigs at its oldest version this client speaks.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { SluiceKafkaClient } from "../../../../src/kafka/client/index.js";
import { brokerForTest } from "../../../helpers/broker.js";
import { clientFor } from "../support.js";

async function topicConfig(client: SluiceKafkaClient, topic: string, name: string): Promise<[string | null, boolean]> {
  const [described] = await client.admin.describeConfigs([{ type: "topic", name: topic, keys: [name] }]);
  const entry = described!.configs.find((config) => config.name === name)!;
  return [entry.value, entry.isDefault];
}

describe("configs", () => {
  test("a topic's configs, with their sources, types and synonyms", async (t) => {
    const broker = await brokerForTest(t);
    const client = clientFor(t, broker);
    await client.admin.createTopics([{ name: "described", partitions: 1, configs: { "retention.ms": "60000" } }]);
    const [described] = await client.admin.describeConfigs([{ type: "topic", name: "described" }], {
      includeSynonyms: true,
    });
    assert.equal(described!.error, null);
    const retention = described!.configs.find((entry) => entry.name === "retention.ms")!;
    assert.equal(retention.value, "60000");
    assert.equal(retention.source, "DYNAMIC_TOPIC_CONFIG");
    assert.equal(retention.isDefault, false);
    assert.equal(retention.type, "LONG");
    assert.ok(retention.synonyms.some((synonym) => synonym.name === "retention.ms" && synonym.value === "60000"));
    const cleanup = described!.configs.find((entry) => entry.name === "cleanup.policy")!;
    assert.equal(cleanup.isDefault, true);
  });

  test("AlterConfigs replaces the whole set; IncrementalAlterConfigs changes single configs", async (t) => {
    const broker = await brokerForTest(t);
    const client = clientFor(t, broker);
    await client.admin.createTopics([
      { name: "altered", partitions: 1, configs: { "retention.ms": "60000", "segment.ms": "120000" } },
    ]);
    const [replaced] = await client.admin.alterConfigs([
      { type: "topic", name: "altered", configs: { "retention.ms": "90000" } },
    ]);
    assert.equal(replaced!.error, null);
    assert.deepEqual(await topicConfig(client, "altered", "retention.ms"), ["90000", false]);
    assert.equal((await topicConfig(client, "altered", "segment.ms"))[1], true, "left out of the set: back to default");

    const [changed] = await client.admin.incrementalAlterConfigs([
      {
        type: "topic",
        name: "altered",
        changes: [
          { name: "segment.ms", operation: "set", value: "300000" },
          { name: "retention.ms", operation: "delete" },
        ],
      },
    ]);
    assert.equal(changed!.error, null);
    assert.deepEqual(await topicConfig(client, "altered", "segment.ms"), ["300000", false]);
    assert.equal((await topicConfig(client, "altered", "retention.ms"))[1], true);

    const [validated] = await client.admin.incrementalAlterConfigs(
      [{ type: "topic", name: "altered", changes: [{ name: "segment.ms", operation: "set", value: "1" }] }],
      { validateOnly: true },
    );
    assert.equal(validated!.error, null);
    assert.deepEqual(
      await topicConfig(client, "altered", "segment.ms"),
      ["300000", false],
      "validateOnly changes nothing",
    );
  });

  test("errors are per resource: an unknown topic and a bad value do not fail the others", async (t) => {
    const broker = await brokerForTest(t, { autoCreateTopics: false });
    const client = clientFor(t, broker);
    await client.admin.createTopics([{ name: "known", partitions: 1 }]);
    const described = await client.admin.describeConfigs([
      { type: "topic", name: "known" },
      { type: "topic", name: "unknown" },
    ]);
    assert.equal(described[0]!.error, null);
    assert.equal(described[1]!.error?.errorName, "UNKNOWN_TOPIC_OR_PARTITION");
    const altered = await client.admin.incrementalAlterConfigs([
      { type: "topic", name: "known", changes: [{ name: "retention.ms", operation: "set", value: "not-a-number" }] },
    ]);
    assert.equal(altered[0]!.error?.errorName, "INVALID_CONFIG");
    assert.match(altered[0]!.error?.message ?? "", /retention\.ms/);
  });

  test("a broker's own configs are asked of that broker", async (t) => {
    const broker = await brokerForTest(t);
    const client = clientFor(t, broker);
    const { brokers } = await client.admin.describeCluster();
    const [described] = await client.admin.describeConfigs([{ type: "broker", name: String(brokers[0]!.nodeId) }]);
    assert.equal(described!.error, null);
    assert.ok(described!.configs.some((entry) => entry.name === "log.message.timestamp.type"));
    await assert.rejects(
      client.admin.describeConfigs([{ type: "broker", name: "not-a-node" }]),
      /a broker resource is named by its node id/,
    );
  });

  test("DescribeConfigs v1 reads the same configs", async (t) => {
    const broker = await brokerForTest(t);
    const client = clientFor(t, broker, { versionCaps: { 32: 1, 44: 0, 33: 0 } });
    await client.admin.createTopics([{ name: "v1", partitions: 1, configs: { "retention.ms": "70000" } }]);
    assert.deepEqual(await topicConfig(client, "v1", "retention.ms"), ["70000", false]);
    await client.admin.alterConfigs([{ type: "topic", name: "v1", configs: { "retention.ms": "80000" } }]);
    await client.admin.incrementalAlterConfigs([
      { type: "topic", name: "v1", changes: [{ name: "segment.ms", operation: "set", value: "900000" }] },
    ]);
    assert.deepEqual(await topicConfig(client, "v1", "retention.ms"), ["80000", false]);
    assert.deepEqual(await topicConfig(client, "v1", "segment.ms"), ["900000", false]);
  });
});
