import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ErrorCode } from "../../../src/kafka/protocol/error-codes.js";
import type {
  DescribeConfigsRequest,
  DescribeConfigsResource,
} from "../../../src/kafka/protocol/messages/describe-configs-request.js";
import type { DescribeConfigsResourceResult } from "../../../src/kafka/protocol/messages/describe-configs-response.js";
import type { Broker } from "../../../src/broker/broker.js";
import { TOPIC_CONFIGS } from "../../../src/broker/topic-config.js";
import describeConfigs, {
  ConfigResourceType,
  ConfigSource,
  ConfigType,
  DESCRIBE_CONFIGS_RESOURCES_MAX,
} from "../../../src/broker/handlers/32-describe-configs.js";
import { call, errorResponses, NODE_ID, openBroker, servedVersions } from "./admin-harness.js";

const LOWEST = 0;
const HIGHEST = 4;
const RETENTION_MS = 1_234_567;
const SEGMENT_BYTES_MAX = 4 * 1024 * 1024;

function resource(resourceType: number, resourceName: string, configurationKeys: string[] | null = null) {
  return { resourceType, resourceName, configurationKeys };
}

function request(resources: DescribeConfigsResource[], includeSynonyms = false): DescribeConfigsRequest {
  return { resources, includeSynonyms, includeDocumentation: false };
}

function byName(configs: DescribeConfigsResourceResult[]): Map<string, DescribeConfigsResourceResult> {
  return new Map(configs.map((config) => [config.name, config]));
}

describe("DescribeConfigs", () => {
  let broker: Broker;
  before(async () => {
    broker = await openBroker({
      retentionMs: RETENTION_MS,
      segmentBytesMax: SEGMENT_BYTES_MAX,
      autoCreateTopics: false,
    });
    broker.topics.create("tuned", 1, new Map([["retention.ms", "60000"]]));
  });
  after(() => broker.close());

  test("serves versions 0 to 4", () => {
    assert.deepEqual(describeConfigs.versions, [LOWEST, HIGHEST]);
  });

  test("v0 lists every topic config with its value and isDefault", async () => {
    const response = await call(
      broker,
      describeConfigs,
      LOWEST,
      request([resource(ConfigResourceType.TOPIC, "tuned")]),
    );
    const [result] = response.results;
    assert.equal(result!.errorCode, ErrorCode.NONE);
    assert.equal(result!.errorMessage, null);
    assert.equal(result!.resourceName, "tuned");
    assert.deepEqual(
      result!.configs.map((c) => c.name),
      [...TOPIC_CONFIGS.keys()],
    );
    const configs = byName(result!.configs);
    assert.deepEqual([configs.get("retention.ms")!.value, configs.get("retention.ms")!.isDefault], ["60000", false]);
    // A value set by a flag counts as set, as one in server.properties does in Kafka.
    assert.deepEqual(
      [configs.get("segment.bytes")!.value, configs.get("segment.bytes")!.isDefault],
      [String(SEGMENT_BYTES_MAX), false],
    );
    assert.deepEqual(
      [configs.get("cleanup.policy")!.value, configs.get("cleanup.policy")!.isDefault],
      ["delete", true],
    );
    assert.equal(configs.get("segment.jitter.ms")!.value, "0");
    assert.equal(configs.get("retention.ms")!.readOnly, false);
  });

  test("v4 reports the source and type of each topic config", async () => {
    const response = await call(
      broker,
      describeConfigs,
      HIGHEST,
      request([resource(ConfigResourceType.TOPIC, "tuned")]),
    );
    const configs = byName(response.results[0]!.configs);
    const retention = configs.get("retention.ms")!;
    assert.deepEqual(
      [retention.configSource, retention.configType, retention.documentation, retention.synonyms],
      [ConfigSource.TOPIC_CONFIG, ConfigType.LONG, null, []],
    );
    const segment = configs.get("segment.bytes")!;
    assert.deepEqual([segment.configSource, segment.configType], [ConfigSource.STATIC_BROKER_CONFIG, ConfigType.INT]);
    assert.equal(configs.get("min.cleanable.dirty.ratio")!.configType, 6);
    assert.equal(configs.get("cleanup.policy")!.configType, ConfigType.LIST);
    assert.equal(configs.get("message.timestamp.type")!.configType, ConfigType.STRING);
  });

  test("synonyms show the override first and then the broker setting behind it (v1 and v4)", async () => {
    for (const version of [1, HIGHEST]) {
      const response = await call(
        broker,
        describeConfigs,
        version,
        request(
          [resource(ConfigResourceType.TOPIC, "tuned", ["retention.ms", "segment.bytes", "cleanup.policy"])],
          true,
        ),
      );
      const configs = byName(response.results[0]!.configs);
      assert.deepEqual(configs.get("retention.ms")!.synonyms, [
        { name: "retention.ms", value: "60000", source: ConfigSource.TOPIC_CONFIG },
        { name: "log.retention.ms", value: String(RETENTION_MS), source: ConfigSource.STATIC_BROKER_CONFIG },
        { name: "log.retention.hours", value: "168", source: ConfigSource.DEFAULT_CONFIG },
      ]);
      assert.deepEqual(configs.get("segment.bytes")!.synonyms, [
        { name: "log.segment.bytes", value: String(SEGMENT_BYTES_MAX), source: ConfigSource.STATIC_BROKER_CONFIG },
        { name: "log.segment.bytes", value: "1073741824", source: ConfigSource.DEFAULT_CONFIG },
      ]);
      assert.deepEqual(configs.get("cleanup.policy")!.synonyms, [
        { name: "log.cleanup.policy", value: "delete", source: ConfigSource.DEFAULT_CONFIG },
      ]);
    }
  });

  test("configurationKeys narrows the list and unknown keys are skipped", async () => {
    const response = await call(
      broker,
      describeConfigs,
      HIGHEST,
      request([resource(ConfigResourceType.TOPIC, "tuned", ["segment.ms", "no.such.config", "retention.ms"])]),
    );
    assert.deepEqual(
      response.results[0]!.configs.map((c) => c.name),
      ["retention.ms", "segment.ms"],
    );
  });

  test("an unknown topic is UNKNOWN_TOPIC_OR_PARTITION with a message, and is not created", async () => {
    const response = await call(
      broker,
      describeConfigs,
      LOWEST,
      request([resource(ConfigResourceType.TOPIC, "absent")]),
    );
    assert.equal(response.results[0]!.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    assert.match(response.results[0]!.errorMessage!, /absent/);
    assert.deepEqual(response.results[0]!.configs, []);
    assert.equal(broker.topics.get("absent"), undefined);
  });

  test("the broker resource lists its settings, set ones as static, at v0 and v4", async () => {
    for (const version of [LOWEST, HIGHEST]) {
      const response = await call(
        broker,
        describeConfigs,
        version,
        request([resource(ConfigResourceType.BROKER, String(NODE_ID))], version > 0),
      );
      const [result] = response.results;
      assert.equal(result!.errorCode, ErrorCode.NONE);
      const configs = byName(result!.configs);
      const expected: Array<[string, string]> = [
        ["message.max.bytes", String(broker.config.messageBytesMax)],
        ["num.partitions", String(broker.config.defaultPartitions)],
        ["auto.create.topics.enable", "false"],
        ["log.retention.ms", String(RETENTION_MS)],
        ["log.segment.bytes", String(SEGMENT_BYTES_MAX)],
        ["broker.id", String(NODE_ID)],
      ];
      for (const [name, value] of expected) {
        const config = configs.get(name);
        assert.ok(config, `${name} at v${version}`);
        assert.equal(config.value, value, name);
        if (version === LOWEST) assert.equal(config.isDefault, false, name);
        else {
          assert.equal(config.configSource, ConfigSource.STATIC_BROKER_CONFIG, name);
          assert.deepEqual(config.synonyms![0], { name, value, source: ConfigSource.STATIC_BROKER_CONFIG });
        }
      }
      // What Kafka lets change at run time is writable; the rest is read-only.
      assert.equal(configs.get("log.retention.ms")!.readOnly, false);
      assert.equal(configs.get("broker.id")!.readOnly, true);
      assert.equal(configs.get("num.partitions")!.readOnly, true);
      assert.equal(configs.get("log.dirs")!.value, null);
      // A flag left at Kafka's default reports the default, as an unset server.properties line does (v0 has isDefault).
      if (version === LOWEST) {
        assert.equal(configs.get("group.max.session.timeout.ms")!.isDefault, true);
        assert.equal(configs.get("log.cleanup.policy")!.isDefault, true);
      } else {
        assert.equal(configs.get("group.max.session.timeout.ms")!.configSource, ConfigSource.DEFAULT_CONFIG);
      }
    }
  });

  test("the broker resource honours configurationKeys", async () => {
    const response = await call(
      broker,
      describeConfigs,
      HIGHEST,
      request([resource(ConfigResourceType.BROKER, String(NODE_ID), ["log.retention.ms", "num.partitions"])]),
    );
    assert.deepEqual(
      response.results[0]!.configs.map((c) => [c.name, c.configType]),
      [
        ["log.retention.ms", ConfigType.LONG],
        ["num.partitions", ConfigType.INT],
      ],
    );
  });

  test("the empty broker name has no cluster-wide dynamic defaults; another broker id is INVALID_REQUEST", async () => {
    const response = await call(
      broker,
      describeConfigs,
      HIGHEST,
      request([resource(ConfigResourceType.BROKER, ""), resource(ConfigResourceType.BROKER, String(NODE_ID + 1))]),
    );
    assert.deepEqual(
      response.results.map((r) => [r.resourceName, r.errorCode, r.configs.length]),
      [
        ["", ErrorCode.NONE, 0],
        [String(NODE_ID + 1), ErrorCode.INVALID_REQUEST, 0],
      ],
    );
    assert.match(response.results[1]!.errorMessage!, new RegExp(String(NODE_ID)));
  });

  test("broker loggers list the root logger's level; unknown resource types are INVALID_REQUEST", async () => {
    const response = await call(
      broker,
      describeConfigs,
      LOWEST,
      request([resource(ConfigResourceType.BROKER_LOGGER, String(NODE_ID)), resource(99, "x")]),
    );
    assert.deepEqual(
      response.results.map((r) => [r.resourceType, r.errorCode]),
      [
        [ConfigResourceType.BROKER_LOGGER, ErrorCode.NONE],
        [99, ErrorCode.INVALID_REQUEST],
      ],
    );
    assert.deepEqual(
      response.results[0]!.configs.map((c) => [c.name, c.value]),
      [["root", "OFF"]],
    );
  });

  test("documentation is given only when asked, at v3 and later", async () => {
    const asked = await call(broker, describeConfigs, HIGHEST, {
      resources: [resource(ConfigResourceType.TOPIC, "tuned", ["retention.ms"])],
      includeSynonyms: false,
      includeDocumentation: true,
    });
    assert.match(asked.results[0]!.configs[0]!.documentation!, /segment/);
    const notAsked = await call(
      broker,
      describeConfigs,
      HIGHEST,
      request([resource(ConfigResourceType.TOPIC, "tuned")]),
    );
    assert.ok(notAsked.results[0]!.configs.every((c) => c.documentation === null));
  });

  test("resources past DESCRIBE_CONFIGS_RESOURCES_MAX are refused", async () => {
    const resources = Array.from({ length: DESCRIBE_CONFIGS_RESOURCES_MAX + 1 }, () =>
      resource(ConfigResourceType.TOPIC, "tuned", ["retention.ms"]),
    );
    const response = await call(broker, describeConfigs, HIGHEST, request(resources));
    assert.equal(response.results.length, resources.length);
    assert.equal(response.results[DESCRIBE_CONFIGS_RESOURCES_MAX - 1]!.errorCode, ErrorCode.NONE);
    assert.equal(response.results[DESCRIBE_CONFIGS_RESOURCES_MAX]!.errorCode, ErrorCode.INVALID_REQUEST);
  });

  test("every served version describes a topic, and the error response encodes at each", async () => {
    for (const version of servedVersions(describeConfigs)) {
      const response = await call(
        broker,
        describeConfigs,
        version,
        request([resource(ConfigResourceType.TOPIC, "tuned", ["retention.ms"])]),
      );
      assert.equal(response.results[0]!.configs[0]!.value, "60000", `v${version}`);
    }
    const failing = request([resource(ConfigResourceType.TOPIC, "a"), resource(ConfigResourceType.BROKER, "1")]);
    for (const { response } of errorResponses(describeConfigs, failing, 7)) {
      assert.deepEqual(
        response.results.map((r) => [r.resourceType, r.resourceName, r.errorCode]),
        [
          [ConfigResourceType.TOPIC, "a", 7],
          [ConfigResourceType.BROKER, "1", 7],
        ],
      );
    }
  });
});
