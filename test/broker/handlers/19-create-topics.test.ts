import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ErrorCode } from "../../../src/kafka/protocol/error-codes.js";
import type {
  CreatableTopic,
  CreateTopicsRequest,
} from "../../../src/kafka/protocol/messages/create-topics-request.js";
import type { Broker } from "../../../src/broker/broker.js";
import createTopics, {
  CREATE_TOPICS_PARTITIONS_MAX,
  CREATE_TOPICS_TOPICS_MAX,
} from "../../../src/broker/handlers/19-create-topics.js";
import {
  call,
  DEFAULT_PARTITIONS,
  errorResponses,
  NODE_ID,
  openBroker,
  servedVersions,
  tempDir,
} from "./admin-harness.js";

const LOWEST = 0;
const HIGHEST = 7;

function topic(name: string, fields: Partial<CreatableTopic> = {}): CreatableTopic {
  return { name, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [], ...fields };
}

function request(topics: CreatableTopic[], validateOnly = false): CreateTopicsRequest {
  return { topics, timeoutMs: 1000, validateOnly };
}

describe("CreateTopics", () => {
  let broker: Broker;
  before(async () => {
    broker = await openBroker();
  });
  after(() => broker.close());

  test("serves versions 0 to 7", () => {
    assert.deepEqual(createTopics.versions, [LOWEST, HIGHEST]);
  });

  test("v0 creates a topic with the partitions asked for and no error message on the wire", async () => {
    const response = await call(broker, createTopics, LOWEST, request([topic("v0-orders", { numPartitions: 3 })]));
    assert.deepEqual(
      response.topics.map((t) => [t.name, t.errorCode, t.errorMessage]),
      [["v0-orders", ErrorCode.NONE, null]],
    );
    assert.equal(broker.topics.get("v0-orders")?.partitions.length, 3);
  });

  test("v0 answers TOPIC_ALREADY_EXISTS for an existing name and leaves the topic alone", async () => {
    await call(broker, createTopics, LOWEST, request([topic("v0-twice", { numPartitions: 2 })]));
    const response = await call(broker, createTopics, LOWEST, request([topic("v0-twice", { numPartitions: 5 })]));
    assert.equal(response.topics[0]!.errorCode, ErrorCode.TOPIC_ALREADY_EXISTS);
    assert.equal(broker.topics.get("v0-twice")?.partitions.length, 2);
  });

  test("numPartitions and replicationFactor -1 take the broker defaults at v0 (as kafkajs sends them) and at v7", async () => {
    for (const version of [LOWEST, HIGHEST]) {
      const name = `defaults-v${version}`;
      const response = await call(
        broker,
        createTopics,
        version,
        request([topic(name, { numPartitions: -1, replicationFactor: -1 })]),
      );
      assert.equal(response.topics[0]!.errorCode, ErrorCode.NONE);
      assert.equal(broker.topics.get(name)?.partitions.length, DEFAULT_PARTITIONS);
    }
  });

  test("v7 answers the topic id, partition count, replication factor and effective configs", async () => {
    const response = await call(
      broker,
      createTopics,
      HIGHEST,
      request([topic("v7-configs", { numPartitions: 4, configs: [{ name: "retention.ms", value: "60000" }] })]),
    );
    const [result] = response.topics;
    assert.equal(result!.errorCode, ErrorCode.NONE);
    assert.equal(result!.errorMessage, null);
    assert.equal(result!.numPartitions, 4);
    assert.equal(result!.replicationFactor, 1);
    const created = broker.topics.get("v7-configs")!;
    assert.ok(result!.topicId!.equals(created.id));
    assert.notDeepEqual(result!.topicId, Buffer.alloc(16));
    const configs = new Map(result!.configs!.map((c) => [c.name, c]));
    assert.deepEqual(configs.get("retention.ms"), {
      name: "retention.ms",
      value: "60000",
      readOnly: false,
      configSource: 1,
      isSensitive: false,
    });
    assert.equal(configs.get("segment.bytes")?.value, String(broker.config.segmentBytesMax));
    assert.equal(configs.get("segment.bytes")?.configSource, 5);
    assert.equal(created.configs.get("retention.ms"), "60000");
  });

  test("a replication factor other than 1 or -1 is INVALID_REPLICATION_FACTOR with a message", async () => {
    const response = await call(broker, createTopics, HIGHEST, request([topic("rf3", { replicationFactor: 3 })]));
    assert.equal(response.topics[0]!.errorCode, ErrorCode.INVALID_REPLICATION_FACTOR);
    assert.match(response.topics[0]!.errorMessage!, /one broker/);
    assert.equal(response.topics[0]!.numPartitions, -1);
    assert.equal(response.topics[0]!.configs, null);
    assert.equal(broker.topics.get("rf3"), undefined);
  });

  test("a manual assignment placing every partition on this broker alone is accepted", async () => {
    const assignments = [
      { partitionIndex: 1, brokerIds: [NODE_ID] },
      { partitionIndex: 0, brokerIds: [NODE_ID] },
    ];
    const response = await call(
      broker,
      createTopics,
      LOWEST,
      request([topic("manual", { numPartitions: -1, replicationFactor: -1, assignments })]),
    );
    assert.equal(response.topics[0]!.errorCode, ErrorCode.NONE);
    assert.equal(broker.topics.get("manual")?.partitions.length, 2);
  });

  test("manual assignments naming another broker, a gap or a count are refused", async () => {
    const cases: Array<[string, Partial<CreatableTopic>, number]> = [
      [
        "other-broker",
        { numPartitions: -1, replicationFactor: -1, assignments: [{ partitionIndex: 0, brokerIds: [NODE_ID + 1] }] },
        ErrorCode.INVALID_REPLICA_ASSIGNMENT,
      ],
      [
        "two-replicas",
        {
          numPartitions: -1,
          replicationFactor: -1,
          assignments: [{ partitionIndex: 0, brokerIds: [NODE_ID, NODE_ID] }],
        },
        ErrorCode.INVALID_REPLICA_ASSIGNMENT,
      ],
      [
        "gap",
        {
          numPartitions: -1,
          replicationFactor: -1,
          assignments: [
            { partitionIndex: 0, brokerIds: [NODE_ID] },
            { partitionIndex: 2, brokerIds: [NODE_ID] },
          ],
        },
        ErrorCode.INVALID_REPLICA_ASSIGNMENT,
      ],
      [
        "count-and-assignment",
        { numPartitions: 1, replicationFactor: -1, assignments: [{ partitionIndex: 0, brokerIds: [NODE_ID] }] },
        ErrorCode.INVALID_REQUEST,
      ],
    ];
    for (const [name, fields, errorCode] of cases) {
      const response = await call(broker, createTopics, HIGHEST, request([topic(name, fields)]));
      assert.equal(response.topics[0]!.errorCode, errorCode, name);
      assert.ok(response.topics[0]!.errorMessage, name);
      assert.equal(broker.topics.get(name), undefined, name);
    }
  });

  test("bad names, partition counts and configs get the registry's error codes and messages", async () => {
    const response = await call(
      broker,
      createTopics,
      HIGHEST,
      request([
        topic("bad name!"),
        topic("zero-partitions", { numPartitions: 0 }),
        topic("unknown-config", { configs: [{ name: "retention.weeks", value: "1" }] }),
        topic("bad-policy", { configs: [{ name: "cleanup.policy", value: "compact,shred" }] }),
        topic("config-twice", {
          configs: [
            { name: "retention.ms", value: "1" },
            { name: "retention.ms", value: "2" },
          ],
        }),
      ]),
    );
    assert.deepEqual(
      response.topics.map((t) => [t.name, t.errorCode]),
      [
        ["bad name!", ErrorCode.INVALID_TOPIC_EXCEPTION],
        ["zero-partitions", ErrorCode.INVALID_PARTITIONS],
        ["unknown-config", ErrorCode.INVALID_CONFIG],
        ["bad-policy", ErrorCode.INVALID_CONFIG],
        ["config-twice", ErrorCode.INVALID_REQUEST],
      ],
    );
    assert.equal(response.topics[2]!.errorMessage, "Unknown topic config name: retention.weeks");
    assert.equal(
      response.topics[3]!.errorMessage,
      "Invalid value compact,shred for configuration cleanup.policy: String must be one of: compact, delete",
    );
    for (const result of response.topics) assert.equal(broker.topics.get(result.name), undefined);
  });

  test("validateOnly checks everything and creates nothing, at v1 and v7", async () => {
    for (const version of [1, HIGHEST]) {
      const response = await call(
        broker,
        createTopics,
        version,
        request(
          [
            topic(`dry-run-${version}`, { numPartitions: 3 }),
            topic(`dry-run-bad-${version}`, { replicationFactor: 2 }),
          ],
          true,
        ),
      );
      assert.deepEqual(
        response.topics.map((t) => t.errorCode),
        [ErrorCode.NONE, ErrorCode.INVALID_REPLICATION_FACTOR],
      );
      assert.equal(broker.topics.get(`dry-run-${version}`), undefined);
    }
    const v7 = await call(
      broker,
      createTopics,
      HIGHEST,
      request([topic("dry-run-answer", { numPartitions: 3 })], true),
    );
    assert.equal(v7.topics[0]!.numPartitions, 3);
    assert.deepEqual(v7.topics[0]!.topicId, Buffer.alloc(16));
  });

  test("a name given twice is answered once with INVALID_REQUEST and not created", async () => {
    const response = await call(
      broker,
      createTopics,
      HIGHEST,
      request([topic("dup"), topic("not-dup"), topic("dup", { numPartitions: 3 })]),
    );
    assert.deepEqual(
      response.topics.map((t) => [t.name, t.errorCode]),
      [
        ["dup", ErrorCode.INVALID_REQUEST],
        ["not-dup", ErrorCode.NONE],
      ],
    );
    assert.equal(broker.topics.get("dup"), undefined);
    assert.ok(broker.topics.get("not-dup"));
  });

  test("one request may create at most CREATE_TOPICS_PARTITIONS_MAX partitions in all", async () => {
    const half = CREATE_TOPICS_PARTITIONS_MAX / 2;
    const response = await call(
      broker,
      createTopics,
      HIGHEST,
      request(
        [
          topic("budget-a", { numPartitions: half }),
          topic("budget-b", { numPartitions: half }),
          topic("budget-c", { numPartitions: 1 }),
        ],
        true,
      ),
    );
    assert.deepEqual(
      response.topics.map((t) => t.errorCode),
      [ErrorCode.NONE, ErrorCode.NONE, ErrorCode.POLICY_VIOLATION],
    );
    assert.match(response.topics[2]!.errorMessage!, /another request/);
  });

  test("topics past CREATE_TOPICS_TOPICS_MAX in one request are refused", async () => {
    const topics = Array.from({ length: CREATE_TOPICS_TOPICS_MAX + 2 }, (_, i) => topic(`many-${i}`));
    const response = await call(broker, createTopics, HIGHEST, request(topics, true));
    assert.equal(response.topics.length, topics.length);
    assert.equal(response.topics[CREATE_TOPICS_TOPICS_MAX - 1]!.errorCode, ErrorCode.NONE);
    assert.equal(response.topics[CREATE_TOPICS_TOPICS_MAX]!.errorCode, ErrorCode.INVALID_REQUEST);
    assert.equal(response.topics[CREATE_TOPICS_TOPICS_MAX + 1]!.errorCode, ErrorCode.INVALID_REQUEST);
  });

  test("the error response encodes at every served version", () => {
    for (const { version, response } of errorResponses(createTopics, request([topic("a"), topic("a")]), 7)) {
      assert.deepEqual(
        response.topics.map((t) => [t.name, t.errorCode]),
        [["a", 7]],
        `v${version}`,
      );
    }
  });

  test("every served version creates a topic", async () => {
    for (const version of servedVersions(createTopics)) {
      const response = await call(broker, createTopics, version, request([topic(`every-${version}`)]));
      assert.equal(response.topics[0]!.errorCode, ErrorCode.NONE, `v${version}`);
      assert.ok(broker.topics.get(`every-${version}`), `v${version}`);
    }
  });
});

test("a created topic and its configs survive a broker restart", async () => {
  const dir = tempDir();
  try {
    const first = await openBroker({ dataDir: dir.path });
    const response = await call(
      first,
      createTopics,
      HIGHEST,
      request([topic("durable", { numPartitions: 3, configs: [{ name: "retention.bytes", value: "4096" }] })]),
    );
    await first.close();
    const second = await openBroker({ dataDir: dir.path });
    try {
      const restored = second.topics.get("durable");
      assert.ok(restored);
      assert.equal(restored.partitions.length, 3);
      assert.equal(restored.configs.get("retention.bytes"), "4096");
      assert.ok(restored.id.equals(response.topics[0]!.topicId!));
    } finally {
      await second.close();
    }
  } finally {
    dir.remove();
  }
});
