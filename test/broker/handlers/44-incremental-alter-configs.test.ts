import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ErrorCode } from "../../../src/kafka/protocol/error-codes.js";
import type {
  AlterConfigsResource,
  IncrementalAlterConfigsRequest,
} from "../../../src/kafka/protocol/messages/incremental-alter-configs-request.js";
import type { Broker } from "../../../src/broker/broker.js";
import { ConfigResourceType } from "../../../src/broker/handlers/32-describe-configs.js";
import incrementalAlterConfigs, { ConfigOperation } from "../../../src/broker/handlers/44-incremental-alter-configs.js";
import { call, errorResponses, NODE_ID, openBroker, servedVersions } from "./admin-harness.js";

const LOWEST = 0;
const HIGHEST = 1;

type Change = [name: string, operation: number, value: string | null];

function topicResource(name: string, ...changes: Change[]): AlterConfigsResource {
  return {
    resourceType: ConfigResourceType.TOPIC,
    resourceName: name,
    configs: changes.map(([key, configOperation, value]) => ({ name: key, configOperation, value })),
  };
}

function request(resources: AlterConfigsResource[], validateOnly = false): IncrementalAlterConfigsRequest {
  return { resources, validateOnly };
}

describe("IncrementalAlterConfigs", () => {
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

  test("serves versions 0 and 1", () => {
    assert.deepEqual(incrementalAlterConfigs.versions, [LOWEST, HIGHEST]);
  });

  test("SET and DELETE patch the overrides and keep the rest, at v0 and v1", async () => {
    for (const version of [LOWEST, HIGHEST]) {
      const name = `patch-v${version}`;
      tuned(name);
      const response = await call(
        broker,
        incrementalAlterConfigs,
        version,
        request([
          topicResource(
            name,
            ["retention.bytes", ConfigOperation.SET, "2048"],
            ["segment.ms", ConfigOperation.DELETE, null],
          ),
        ]),
      );
      assert.deepEqual(response.responses, [
        { errorCode: ErrorCode.NONE, errorMessage: null, resourceType: ConfigResourceType.TOPIC, resourceName: name },
      ]);
      assert.deepEqual(overrides(name), { "retention.ms": "60000", "retention.bytes": "2048" });
    }
  });

  test("APPEND and SUBTRACT change list configs, starting from the default, and refuse other configs", async () => {
    tuned("lists");
    const patch = async (...changes: Array<[string, number, string | null]>) =>
      (await call(broker, incrementalAlterConfigs, HIGHEST, request([topicResource("lists", ...changes)])))
        .responses[0]!;
    assert.equal((await patch(["cleanup.policy", ConfigOperation.APPEND, "compact"])).errorCode, ErrorCode.NONE);
    assert.equal(overrides("lists")["cleanup.policy"], "delete,compact");
    assert.equal((await patch(["cleanup.policy", ConfigOperation.APPEND, "compact"])).errorCode, ErrorCode.NONE);
    assert.equal(overrides("lists")["cleanup.policy"], "delete,compact", "an item already there is not added twice");
    assert.equal((await patch(["cleanup.policy", ConfigOperation.SUBTRACT, "delete"])).errorCode, ErrorCode.NONE);
    assert.equal(overrides("lists")["cleanup.policy"], "compact");
    const notList = await patch(["retention.ms", ConfigOperation.APPEND, "1"]);
    assert.deepEqual(
      [notList.errorCode, notList.errorMessage],
      [ErrorCode.INVALID_CONFIG, "Config value append is not allowed for config key: retention.ms"],
    );
    const badItem = await patch(["cleanup.policy", ConfigOperation.APPEND, "shred"]);
    assert.deepEqual(
      [badItem.errorCode, badItem.errorMessage],
      [
        ErrorCode.INVALID_CONFIG,
        "Invalid value compact,shred for configuration cleanup.policy: String must be one of: compact, delete",
      ],
    );
    assert.equal(overrides("lists")["cleanup.policy"], "compact");
  });

  test("an unknown operation, SET without a value and a config named twice are INVALID_REQUEST", async () => {
    tuned("odd");
    const response = await call(
      broker,
      incrementalAlterConfigs,
      LOWEST,
      request([
        topicResource("odd", ["retention.ms", 9, "1"]),
        topicResource("odd-set-null", ["retention.ms", ConfigOperation.SET, null]),
        topicResource(
          "odd-twice",
          ["retention.ms", ConfigOperation.SET, "1"],
          ["retention.ms", ConfigOperation.DELETE, null],
        ),
      ]),
    );
    assert.deepEqual(
      response.responses.map((r) => r.errorCode),
      [ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST],
    );
    for (const result of response.responses) assert.ok(result.errorMessage, result.resourceName);
    assert.deepEqual(overrides("odd"), { "retention.ms": "60000", "segment.ms": "5000" });
  });

  test("a bad value or an unknown config refuses the whole resource with INVALID_CONFIG", async () => {
    tuned("atomic");
    const response = await call(
      broker,
      incrementalAlterConfigs,
      HIGHEST,
      request([
        topicResource(
          "atomic",
          ["retention.bytes", ConfigOperation.SET, "1"],
          ["segment.ms", ConfigOperation.SET, "0"],
        ),
      ]),
    );
    assert.equal(response.responses[0]!.errorCode, ErrorCode.INVALID_CONFIG);
    assert.match(response.responses[0]!.errorMessage!, /segment\.ms/);
    assert.deepEqual(overrides("atomic"), { "retention.ms": "60000", "segment.ms": "5000" });

    const unknown = await call(
      broker,
      incrementalAlterConfigs,
      HIGHEST,
      request([topicResource("atomic", ["no.such.config", ConfigOperation.DELETE, null])]),
    );
    assert.equal(unknown.responses[0]!.errorCode, ErrorCode.INVALID_CONFIG);
  });

  test("validateOnly checks and changes nothing", async () => {
    tuned("dry-run");
    const response = await call(
      broker,
      incrementalAlterConfigs,
      HIGHEST,
      request([topicResource("dry-run", ["retention.ms", ConfigOperation.SET, "1"])], true),
    );
    assert.equal(response.responses[0]!.errorCode, ErrorCode.NONE);
    assert.deepEqual(overrides("dry-run"), { "retention.ms": "60000", "segment.ms": "5000" });
  });

  test("this broker's dynamic configs and the root logger's level change; read-only configs are refused", async () => {
    const patchBroker = async (resourceType: number, name: string, operation: number, value: string | null) =>
      (
        await call(broker, incrementalAlterConfigs, LOWEST, {
          resources: [
            { resourceType, resourceName: String(NODE_ID), configs: [{ name, configOperation: operation, value }] },
          ],
          validateOnly: false,
        })
      ).responses[0]!;
    const readOnly = await patchBroker(ConfigResourceType.BROKER, "broker.id", ConfigOperation.SET, "9");
    assert.deepEqual(
      [readOnly.errorCode, readOnly.errorMessage],
      [ErrorCode.INVALID_REQUEST, "Cannot update these configs dynamically: Set(broker.id)"],
    );
    const set = await patchBroker(ConfigResourceType.BROKER, "log.cleanup.policy", ConfigOperation.APPEND, "compact");
    assert.equal(set.errorCode, ErrorCode.NONE);
    assert.equal(broker.settings.perBroker.get("log.cleanup.policy"), "delete,compact");
    const removed = await patchBroker(ConfigResourceType.BROKER, "log.cleanup.policy", ConfigOperation.DELETE, null);
    assert.equal(removed.errorCode, ErrorCode.NONE);
    assert.equal(broker.settings.perBroker.has("log.cleanup.policy"), false);

    const level = await patchBroker(ConfigResourceType.BROKER_LOGGER, "root", ConfigOperation.SET, "DEBUG");
    assert.equal(level.errorCode, ErrorCode.NONE);
    assert.equal(broker.logger.level, "debug");
    const badLevel = await patchBroker(ConfigResourceType.BROKER_LOGGER, "root", ConfigOperation.SET, "LOUD");
    assert.equal(badLevel.errorCode, ErrorCode.INVALID_CONFIG);
    const unknownLogger = await patchBroker(ConfigResourceType.BROKER_LOGGER, "kafka", ConfigOperation.SET, "INFO");
    assert.deepEqual(
      [unknownLogger.errorCode, unknownLogger.errorMessage],
      [ErrorCode.INVALID_CONFIG, "Logger kafka does not exist!"],
    );
    broker.logger.level = "silent";
  });

  test("every served version patches a topic, and the error response encodes at each", async () => {
    for (const version of servedVersions(incrementalAlterConfigs)) {
      const name = `every-${version}`;
      tuned(name);
      const response = await call(
        broker,
        incrementalAlterConfigs,
        version,
        request([topicResource(name, ["retention.ms", ConfigOperation.SET, "7"])]),
      );
      assert.equal(response.responses[0]!.errorCode, ErrorCode.NONE, `v${version}`);
      assert.equal(overrides(name)["retention.ms"], "7");
    }
    for (const { response } of errorResponses(incrementalAlterConfigs, request([topicResource("a")]), 7)) {
      assert.deepEqual(response.responses, [
        { errorCode: 7, errorMessage: null, resourceType: ConfigResourceType.TOPIC, resourceName: "a" },
      ]);
    }
  });
});
