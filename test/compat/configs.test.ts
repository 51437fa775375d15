// Topic and broker configs through real admin clients, as Kafka answers them: CreateTopics with configs Kafka
// accepts (and a per-topic INVALID_CONFIG for an unknown one), DescribeConfigs with every topic config, synonyms and
// documentation, broker and broker-logger resources, AlterConfigs on the broker reaching topics, and the
// incremental APPEND/SUBTRACT of list configs. Driven by @platformatic/kafka (flexible versions) and kafkajs.

import assert from "node:assert/strict";
import { test } from "node:test";
import { Admin, ConfigResourceTypes, IncrementalAlterConfigOperationTypes } from "@platformatic/kafka";
import { TOPIC_CONFIGS } from "../../src/broker/configs/topic-configs.js";
import { ErrorCode } from "../../src/kafka/protocol/error-codes.js";
import { brokerForTest, kafkaFor } from "../helpers/broker.js";

const REQUEST_TIMEOUT_MS = 5000;
const NODE_ID = 1;

function platformaticAdmin(address: string): Admin {
  return new Admin({ clientId: "configs-admin", bootstrapBrokers: [address], retries: 0, timeout: REQUEST_TIMEOUT_MS });
}

/** The errorMessage fields of the responses inside a platformatic error, however deeply nested. */
function errorMessagesOf(error: unknown): string[] {
  const messages: string[] = [];
  const visit = (value: unknown): void => {
    if (value === null || typeof value !== "object") return;
    const record = value as Record<string, unknown>;
    if (typeof record.errorMessage === "string") messages.push(record.errorMessage);
    for (const key of Object.getOwnPropertyNames(record)) if (key !== "stack") visit(record[key]);
  };
  visit(error);
  return messages;
}

async function topicConfigs(admin: Admin, topic: string, includeSynonyms = false) {
  const [described] = await admin.describeConfigs({
    resources: [{ resourceType: ConfigResourceTypes.TOPIC, resourceName: topic }],
    includeSynonyms,
    includeDocumentation: true,
  });
  return new Map((described?.configs ?? []).map((config) => [config.name, config]));
}

test("CreateTopics takes every config Kafka accepts and refuses an unknown one for that topic only", async (t) => {
  const broker = await brokerForTest(t);
  const admin = kafkaFor(broker).admin();
  await admin.connect();
  const creating = admin.createTopics({
    topics: [
      {
        topic: "configs-good",
        numPartitions: 1,
        configEntries: [
          { name: "cleanup.policy", value: "compact,delete" },
          { name: "segment.jitter.ms", value: "100" },
          { name: "min.cleanable.dirty.ratio", value: "0.25" },
          { name: "compression.type", value: "zstd" },
        ],
      },
      { topic: "configs-bad", numPartitions: 1, configEntries: [{ name: "retention.fortnights", value: "2" }] },
    ],
  });
  await assert.rejects(creating, (error: Error & { errors?: Array<{ type: string; message: string }> }) => {
    assert.deepEqual(
      error.errors?.map((each) => each.type),
      ["INVALID_CONFIG"],
    );
    return true;
  });
  assert.deepEqual(await admin.listTopics(), ["configs-good"]);

  const { resources } = await admin.describeConfigs({
    includeSynonyms: true,
    resources: [{ type: ConfigResourceTypes.TOPIC, name: "configs-good" }],
  });
  const entries = new Map(resources[0]!.configEntries.map((entry) => [entry.configName, entry]));
  assert.deepEqual([...entries.keys()].sort(), [...TOPIC_CONFIGS.keys()].sort());
  assert.equal(entries.get("cleanup.policy")?.configValue, "compact,delete");
  assert.equal(entries.get("cleanup.policy")?.isDefault, false);
  assert.equal(entries.get("segment.jitter.ms")?.configValue, "100");
  assert.equal(entries.get("delete.retention.ms")?.configValue, "86400000");
  assert.deepEqual(
    entries.get("delete.retention.ms")?.configSynonyms.map((synonym) => synonym.configName),
    ["log.cleaner.delete.retention.ms"],
  );
});

test("DescribeConfigs answers documentation, broker and broker-logger resources as Kafka does", async (t) => {
  const broker = await brokerForTest(t);
  const admin = platformaticAdmin(broker.address);
  t.after(() => admin.close());
  await admin.createTopics({ topics: ["configs-described"], partitions: 1, replicas: 1 });

  const configs = await topicConfigs(admin, "configs-described", true);
  assert.equal(configs.size, TOPIC_CONFIGS.size);
  const retention = configs.get("retention.ms")!;
  assert.equal(retention.value, String(broker.broker.config.retentionMs));
  assert.equal(retention.readOnly, false);
  assert.equal(retention.isSensitive, false);
  assert.match(retention.documentation ?? "", /retention|deleted/);
  assert.deepEqual(
    retention.synonyms.map((synonym) => [synonym.name, synonym.value, synonym.source]),
    [["log.retention.hours", "168", 5]],
  );

  const [brokerResult, loggerResult] = await admin.describeConfigs({
    resources: [
      { resourceType: ConfigResourceTypes.BROKER, resourceName: String(NODE_ID) },
      { resourceType: ConfigResourceTypes.BROKER_LOGGER, resourceName: String(NODE_ID) },
    ],
  });
  const brokerConfigs = new Map(brokerResult!.configs.map((config) => [config.name, config]));
  assert.equal(brokerConfigs.get("broker.id")?.value, String(NODE_ID));
  assert.equal(brokerConfigs.get("broker.id")?.readOnly, true);
  assert.equal(brokerConfigs.get("log.cleanup.policy")?.value, "delete");
  assert.equal(brokerConfigs.get("log.cleanup.policy")?.readOnly, false);
  assert.deepEqual(
    loggerResult!.configs.map((config) => config.name),
    ["root"],
  );
});

test("a dynamic broker config reaches topics, and APPEND/SUBTRACT edit a list config", async (t) => {
  const broker = await brokerForTest(t);
  const admin = platformaticAdmin(broker.address);
  t.after(() => admin.close());
  await admin.createTopics({ topics: ["configs-dynamic"], partitions: 1, replicas: 1 });

  await admin.alterConfigs({
    resources: [
      {
        resourceType: ConfigResourceTypes.BROKER,
        resourceName: String(NODE_ID),
        configs: [{ name: "log.retention.ms", value: "3600000" }],
      },
    ],
  });
  const retention = (await topicConfigs(admin, "configs-dynamic")).get("retention.ms")!;
  assert.deepEqual([retention.value, retention.configSource], ["3600000", 2]);

  // A read-only broker config is refused with Kafka's message, and nothing changes.
  await assert.rejects(
    admin.alterConfigs({
      resources: [
        {
          resourceType: ConfigResourceTypes.BROKER,
          resourceName: String(NODE_ID),
          configs: [{ name: "num.partitions", value: "4" }],
        },
      ],
    }),
    (error: Error) => {
      assert.deepEqual(errorMessagesOf(error), ["Cannot update these configs dynamically: Set(num.partitions)"]);
      return true;
    },
  );

  await admin.incrementalAlterConfigs({
    resources: [
      {
        resourceType: ConfigResourceTypes.TOPIC,
        resourceName: "configs-dynamic",
        configs: [
          { name: "cleanup.policy", configOperation: IncrementalAlterConfigOperationTypes.APPEND, value: "compact" },
        ],
      },
    ],
  });
  assert.equal((await topicConfigs(admin, "configs-dynamic")).get("cleanup.policy")?.value, "delete,compact");
  await admin.incrementalAlterConfigs({
    resources: [
      {
        resourceType: ConfigResourceTypes.TOPIC,
        resourceName: "configs-dynamic",
        configs: [
          { name: "cleanup.policy", configOperation: IncrementalAlterConfigOperationTypes.SUBTRACT, value: "delete" },
        ],
      },
    ],
  });
  assert.equal((await topicConfigs(admin, "configs-dynamic")).get("cleanup.policy")?.value, "compact");
});

test("min.insync.replicas above 1 makes acks=all produces fail with NOT_ENOUGH_REPLICAS, as on a one-replica Kafka topic", async (t) => {
  const broker = await brokerForTest(t);
  const kafka = kafkaFor(broker, { retry: { retries: 0 } });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    topics: [{ topic: "configs-isr", configEntries: [{ name: "min.insync.replicas", value: "2" }] }],
  });
  const producer = kafka.producer({ retry: { retries: 0 } });
  await producer.connect();
  await assert.rejects(
    producer.send({ topic: "configs-isr", acks: -1, messages: [{ value: "x" }] }),
    (error: Error) => {
      assert.match(`${error.message} ${String((error as { type?: string }).type)}`, /replicas|NOT_ENOUGH_REPLICAS/i);
      return true;
    },
  );
  const [sent] = await producer.send({ topic: "configs-isr", acks: 1, messages: [{ value: "y" }] });
  assert.equal(sent?.errorCode, ErrorCode.NONE);
});
