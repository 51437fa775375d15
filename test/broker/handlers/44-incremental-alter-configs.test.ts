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

  test("APPEND and SUBTRACT are INVALID_REQUEST with a message pointing at SET", async () => {
    tuned("lists");
    for (const operation of [ConfigOperation.APPEND, ConfigOperation.SUBTRACT]) {
      const response = await call(
        broker,
        incrementalAlterConfigs,
        HIGHEST,
        request([topicResource("lists", ["cleanup.policy", operation, "delete"])]),
      );
      assert.equal(response.responses[0]!.errorCode, ErrorCode.INVALID_REQUEST);
      assert.match(response.responses[0]!.errorMessage!, /SET/);
    }
    assert.deepEqual(overrides("lists"), { "retention.ms": "60000", "segment.ms": "5000" });
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

  test("broker resources are refused with INVALID_REQUEST", async () => {
    const response = await call(broker, incrementalAlterConfigs, LOWEST, {
      resources: [
        {
          resourceType: ConfigResourceType.BROKER,
          resourceName: String(NODE_ID),
          configs: [{ name: "log.retention.ms", configOperation: ConfigOperation.SET, value: "1" }],
        },
      ],
      validateOnly: false,
    });
    assert.equal(response.responses[0]!.errorCode, ErrorCode.INVALID_REQUEST);
    assert.match(response.responses[0]!.errorMessage!, /flags at start/);
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
