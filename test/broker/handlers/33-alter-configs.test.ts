import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ErrorCode } from "../../../src/kafka/protocol/error-codes.js";
import type {
  AlterConfigsRequest,
  AlterConfigsResource,
} from "../../../src/kafka/protocol/messages/alter-configs-request.js";
import type { Broker } from "../../../src/broker/broker.js";
import alterConfigs, { ALTER_CONFIGS_RESOURCES_MAX } from "../../../src/broker/handlers/33-alter-configs.js";
import describeConfigs, { ConfigResourceType, ConfigSource } from "../../../src/broker/handlers/32-describe-configs.js";
import { call, errorResponses, NODE_ID, openBroker, servedVersions, tempDir } from "./admin-harness.js";

const LOWEST = 0;
const HIGHEST = 2;

function topicResource(name: string, configs: Record<string, string | null>): AlterConfigsResource {
  return {
    resourceType: ConfigResourceType.TOPIC,
    resourceName: name,
    configs: Object.entries(configs).map(([key, value]) => ({ name: key, value })),
  };
}

function request(resources: AlterConfigsResource[], validateOnly = false): AlterConfigsRequest {
  return { resources, validateOnly };
}

describe("AlterConfigs", () => {
  let broker: Broker;
  before(async () => {
    broker = await openBroker();
  });
  after(() => broker.close());

  function tuned(name: string): void {
    broker.topics.create(
      name,
      1,
      new Map([
        ["retention.ms", "60000"],
        ["segment.ms", "5000"],
      ]),
    );
  }

  const overrides = (name: string) => Object.fromEntries(broker.topics.get(name)!.configs);

  test("serves versions 0 to 2", () => {
    assert.deepEqual(alterConfigs.versions, [LOWEST, HIGHEST]);
  });

  test("replaces the whole set of overrides, at v0 and v2", async () => {
    for (const version of [LOWEST, HIGHEST]) {
      const name = `replace-v${version}`;
      tuned(name);
      const response = await call(
        broker,
        alterConfigs,
        version,
        request([topicResource(name, { "retention.bytes": "2048", "segment.ms": "9000" })]),
      );
      assert.deepEqual(response.responses, [
        { errorCode: ErrorCode.NONE, errorMessage: null, resourceType: ConfigResourceType.TOPIC, resourceName: name },
      ]);
      assert.deepEqual(overrides(name), { "retention.bytes": "2048", "segment.ms": "9000" });
    }
  });

  test("DescribeConfigs sees the new values and sources", async () => {
    tuned("described");
    await call(broker, alterConfigs, HIGHEST, request([topicResource("described", { "retention.ms": "1000" })]));
    const described = await call(broker, describeConfigs, 4, {
      resources: [
        {
          resourceType: ConfigResourceType.TOPIC,
          resourceName: "described",
          configurationKeys: ["retention.ms", "segment.ms"],
        },
      ],
      includeSynonyms: false,
      includeDocumentation: false,
    });
    assert.deepEqual(
      described.results[0]!.configs.map((c) => [c.name, c.value, c.configSource]),
      [
        ["retention.ms", "1000", ConfigSource.TOPIC_CONFIG],
        ["segment.ms", String(broker.config.segmentMs), ConfigSource.DEFAULT_CONFIG],
      ],
    );
  });

  test("a null value leaves the config at its default", async () => {
    tuned("nulled");
    const response = await call(
      broker,
      alterConfigs,
      LOWEST,
      request([topicResource("nulled", { "retention.ms": null, "retention.bytes": "1" })]),
    );
    assert.equal(response.responses[0]!.errorCode, ErrorCode.NONE);
    assert.deepEqual(overrides("nulled"), { "retention.bytes": "1" });
  });

  test("validateOnly checks and changes nothing", async () => {
    tuned("dry-run");
    const response = await call(
      broker,
      alterConfigs,
      HIGHEST,
      request([topicResource("dry-run", { "retention.ms": "1" }), topicResource("dry-run-bad", {})], true),
    );
    assert.deepEqual(
      response.responses.map((r) => r.errorCode),
      [ErrorCode.NONE, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
    );
    assert.deepEqual(overrides("dry-run"), { "retention.ms": "60000", "segment.ms": "5000" });
  });

  test("one bad config refuses the whole resource with INVALID_CONFIG and a message", async () => {
    tuned("atomic");
    const response = await call(
      broker,
      alterConfigs,
      HIGHEST,
      request([topicResource("atomic", { "retention.bytes": "4096", "segment.bytes": "banana" })]),
    );
    assert.equal(response.responses[0]!.errorCode, ErrorCode.INVALID_CONFIG);
    assert.match(response.responses[0]!.errorMessage!, /segment\.bytes/);
    assert.deepEqual(overrides("atomic"), { "retention.ms": "60000", "segment.ms": "5000" });
  });

  test("read-only broker configs, broker loggers and unknown resource types are INVALID_REQUEST", async () => {
    const response = await call(broker, alterConfigs, LOWEST, {
      resources: [
        {
          resourceType: ConfigResourceType.BROKER,
          resourceName: String(NODE_ID),
          configs: [
            { name: "num.partitions", value: "3" },
            { name: "log.retention.ms", value: "1" },
          ],
        },
        { resourceType: ConfigResourceType.BROKER_LOGGER, resourceName: String(NODE_ID), configs: [] },
        { resourceType: 42, resourceName: "x", configs: [] },
      ],
      validateOnly: false,
    });
    assert.deepEqual(
      response.responses.map((r) => r.errorCode),
      [ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST],
    );
    assert.equal(response.responses[0]!.errorMessage, "Cannot update these configs dynamically: Set(num.partitions)");
    assert.match(response.responses[1]!.errorMessage!, /IncrementalAlterConfigs/);
    assert.equal(broker.settings.perBroker.size, 0);
  });

  test("a dynamic broker config reaches every topic without an override, and goes back when removed", async () => {
    tuned("follows-broker");
    const brokerResource = (value: string | null) => ({
      resources: [
        {
          resourceType: ConfigResourceType.BROKER,
          resourceName: "",
          configs: value === null ? [] : [{ name: "log.retention.bytes", value }],
        },
      ],
      validateOnly: false,
    });
    const retentionBytes = async () => {
      const described = await call(broker, describeConfigs, 4, {
        resources: [
          {
            resourceType: ConfigResourceType.TOPIC,
            resourceName: "follows-broker",
            configurationKeys: ["retention.bytes"],
          },
        ],
        includeSynonyms: true,
        includeDocumentation: false,
      });
      const [config] = described.results[0]!.configs;
      return [config!.value, config!.configSource, config!.synonyms![0]!.source];
    };
    const set = await call(broker, alterConfigs, HIGHEST, brokerResource("4096"));
    assert.equal(set.responses[0]!.errorCode, ErrorCode.NONE);
    assert.deepEqual(await retentionBytes(), [
      "4096",
      ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG,
      ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG,
    ]);
    assert.equal(broker.topics.logConfig(broker.topics.get("follows-broker")!.configs).retentionBytes, 4096);
    await call(broker, alterConfigs, HIGHEST, brokerResource(null));
    assert.deepEqual(await retentionBytes(), ["-1", ConfigSource.DEFAULT_CONFIG, ConfigSource.DEFAULT_CONFIG]);
  });

  test("a topic named twice, or a config named twice, is INVALID_REQUEST and changes nothing", async () => {
    tuned("twice");
    const response = await call(
      broker,
      alterConfigs,
      HIGHEST,
      request([topicResource("twice", { "retention.ms": "1" }), topicResource("twice", { "retention.ms": "2" })]),
    );
    assert.deepEqual(
      response.responses.map((r) => r.errorCode),
      [ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST],
    );
    const sameKey = await call(broker, alterConfigs, HIGHEST, {
      resources: [
        {
          resourceType: ConfigResourceType.TOPIC,
          resourceName: "twice",
          configs: [
            { name: "retention.ms", value: "1" },
            { name: "retention.ms", value: "2" },
          ],
        },
      ],
      validateOnly: false,
    });
    assert.equal(sameKey.responses[0]!.errorCode, ErrorCode.INVALID_REQUEST);
    assert.deepEqual(overrides("twice"), { "retention.ms": "60000", "segment.ms": "5000" });
  });

  test("resources past ALTER_CONFIGS_RESOURCES_MAX are refused", async () => {
    const resources = Array.from({ length: ALTER_CONFIGS_RESOURCES_MAX + 1 }, (_, i) =>
      topicResource(`absent-${i}`, {}),
    );
    const response = await call(broker, alterConfigs, HIGHEST, request(resources, true));
    assert.equal(response.responses.length, resources.length);
    assert.equal(response.responses[0]!.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    assert.equal(response.responses[ALTER_CONFIGS_RESOURCES_MAX]!.errorCode, ErrorCode.INVALID_REQUEST);
  });

  test("every served version alters a topic, and the error response encodes at each", async () => {
    for (const version of servedVersions(alterConfigs)) {
      const name = `every-${version}`;
      tuned(name);
      const response = await call(
        broker,
        alterConfigs,
        version,
        request([topicResource(name, { "retention.ms": "7" })]),
      );
      assert.equal(response.responses[0]!.errorCode, ErrorCode.NONE, `v${version}`);
      assert.deepEqual(overrides(name), { "retention.ms": "7" });
    }
    for (const { response } of errorResponses(alterConfigs, request([topicResource("a", {})]), 7)) {
      assert.deepEqual(response.responses, [
        { errorCode: 7, errorMessage: null, resourceType: ConfigResourceType.TOPIC, resourceName: "a" },
      ]);
    }
  });
});

test("altered topic and broker configs survive a broker restart", async () => {
  const dir = tempDir();
  try {
    const first = await openBroker({ dataDir: dir.path });
    first.topics.create("durable-configs", 1, new Map([["retention.ms", "60000"]]));
    await call(first, alterConfigs, HIGHEST, request([topicResource("durable-configs", { "retention.bytes": "99" })]));
    await call(first, alterConfigs, HIGHEST, {
      resources: [
        {
          resourceType: ConfigResourceType.BROKER,
          resourceName: String(NODE_ID),
          configs: [{ name: "log.segment.bytes", value: "1048576" }],
        },
      ],
      validateOnly: false,
    });
    await first.close();
    const second = await openBroker({ dataDir: dir.path });
    try {
      assert.deepEqual(Object.fromEntries(second.topics.get("durable-configs")!.configs), { "retention.bytes": "99" });
      assert.equal(second.topics.logConfig(new Map()).segmentBytesMax, 1048576);
    } finally {
      await second.close();
    }
  } finally {
    dir.remove();
  }
});
