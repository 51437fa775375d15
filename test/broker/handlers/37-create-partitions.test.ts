import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ErrorCode } from "../../../src/kafka/protocol/error-codes.js";
import type {
  CreatePartitionsRequest,
  CreatePartitionsTopic,
} from "../../../src/kafka/protocol/messages/create-partitions-request.js";
import type { Broker } from "../../../src/broker/broker.js";
import createPartitions, {
  CREATE_PARTITIONS_PARTITIONS_MAX,
  CREATE_PARTITIONS_TOPICS_MAX,
} from "../../../src/broker/handlers/37-create-partitions.js";
import { call, errorResponses, NODE_ID, openBroker, servedVersions, tempDir } from "./admin-harness.js";

const LOWEST = 0;
const HIGHEST = 3;

function grow(name: string, count: number, assignments: number[][] | null = null): CreatePartitionsTopic {
  return { name, count, assignments: assignments === null ? null : assignments.map((brokerIds) => ({ brokerIds })) };
}

function request(topics: CreatePartitionsTopic[], validateOnly = false): CreatePartitionsRequest {
  return { topics, timeoutMs: 1000, validateOnly };
}

describe("CreatePartitions", () => {
  let broker: Broker;
  before(async () => {
    broker = await openBroker();
  });
  after(() => broker.close());

  const countOf = (name: string) => broker.topics.get(name)?.partitions.length;

  test("serves versions 0 to 3", () => {
    assert.deepEqual(createPartitions.versions, [LOWEST, HIGHEST]);
  });

  test("grows a topic to the count asked for, at v0 and v3", async () => {
    for (const version of [LOWEST, HIGHEST]) {
      const name = `grow-v${version}`;
      broker.topics.create(name, 1, new Map());
      const response = await call(broker, createPartitions, version, request([grow(name, 3)]));
      assert.deepEqual(response.results, [{ name, errorCode: ErrorCode.NONE, errorMessage: null }]);
      assert.equal(countOf(name), 3);
      assert.deepEqual(
        broker.topics.get(name)!.partitions.map((p) => p.index),
        [0, 1, 2],
      );
    }
  });

  test("a count that does not grow the topic is INVALID_PARTITIONS with a message", async () => {
    broker.topics.create("shrink", 3, new Map());
    const response = await call(
      broker,
      createPartitions,
      HIGHEST,
      request([grow("shrink", 2), grow("never-created", 3)]),
    );
    assert.equal(response.results[0]!.errorCode, ErrorCode.INVALID_PARTITIONS);
    assert.match(response.results[0]!.errorMessage!, /3 partitions/);
    assert.equal(response.results[1]!.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    assert.equal(countOf("shrink"), 3);
  });

  test("validateOnly checks and grows nothing", async () => {
    broker.topics.create("dry-run", 1, new Map());
    const response = await call(
      broker,
      createPartitions,
      LOWEST,
      request([grow("dry-run", 4), grow("dry-run", 1)], true),
    );
    assert.deepEqual(
      response.results.map((r) => r.errorCode),
      [ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST],
    );
    const alone = await call(broker, createPartitions, LOWEST, request([grow("dry-run", 4)], true));
    assert.equal(alone.results[0]!.errorCode, ErrorCode.NONE);
    assert.equal(countOf("dry-run"), 1);
  });

  test("assignments are accepted only one per new partition, each on this broker alone", async () => {
    broker.topics.create("assigned", 1, new Map());
    const response = await call(
      broker,
      createPartitions,
      HIGHEST,
      request([grow("assigned", 3, [[NODE_ID], [NODE_ID]])]),
    );
    assert.equal(response.results[0]!.errorCode, ErrorCode.NONE);
    assert.equal(countOf("assigned"), 3);

    const refused = await Promise.all(
      [
        grow("assigned", 4, [[NODE_ID + 1]]),
        grow("assigned", 4, [[NODE_ID, NODE_ID]]),
        grow("assigned", 5, [[NODE_ID]]),
      ].map((topic) => call(broker, createPartitions, HIGHEST, request([topic]))),
    );
    for (const answer of refused) {
      assert.equal(answer.results[0]!.errorCode, ErrorCode.INVALID_REPLICA_ASSIGNMENT);
      assert.ok(answer.results[0]!.errorMessage);
    }
    assert.equal(countOf("assigned"), 3);
  });

  test("an empty assignment list means automatic placement, as kafkajs sends it", async () => {
    broker.topics.create("auto", 1, new Map());
    const response = await call(broker, createPartitions, LOWEST, request([grow("auto", 2, [])]));
    assert.equal(response.results[0]!.errorCode, ErrorCode.NONE);
    assert.equal(countOf("auto"), 2);
  });

  test("one request may add at most CREATE_PARTITIONS_PARTITIONS_MAX partitions in all", async () => {
    broker.topics.create("budget-a", 1, new Map());
    broker.topics.create("budget-b", 1, new Map());
    const response = await call(
      broker,
      createPartitions,
      HIGHEST,
      request([grow("budget-a", CREATE_PARTITIONS_PARTITIONS_MAX), grow("budget-b", 3)], true),
    );
    assert.deepEqual(
      response.results.map((r) => r.errorCode),
      [ErrorCode.NONE, ErrorCode.POLICY_VIOLATION],
    );
    assert.match(response.results[1]!.errorMessage!, /another request/);
  });

  test("topics past CREATE_PARTITIONS_TOPICS_MAX are refused", async () => {
    const topics = Array.from({ length: CREATE_PARTITIONS_TOPICS_MAX + 1 }, (_, i) => grow(`absent-${i}`, 2));
    const response = await call(broker, createPartitions, HIGHEST, request(topics, true));
    assert.equal(response.results.length, topics.length);
    assert.equal(response.results[0]!.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    assert.equal(response.results[CREATE_PARTITIONS_TOPICS_MAX]!.errorCode, ErrorCode.INVALID_REQUEST);
  });

  test("every served version grows a topic, and the error response encodes at each", async () => {
    for (const version of servedVersions(createPartitions)) {
      const name = `every-${version}`;
      broker.topics.create(name, 1, new Map());
      const response = await call(broker, createPartitions, version, request([grow(name, 2)]));
      assert.equal(response.results[0]!.errorCode, ErrorCode.NONE, `v${version}`);
      assert.equal(countOf(name), 2);
    }
    for (const { response } of errorResponses(createPartitions, request([grow("a", 2), grow("b", 2)]), 7)) {
      assert.deepEqual(response.results, [
        { name: "a", errorCode: 7, errorMessage: null },
        { name: "b", errorCode: 7, errorMessage: null },
      ]);
    }
  });
});

test("added partitions survive a broker restart", async () => {
  const dir = tempDir();
  try {
    const first = await openBroker({ dataDir: dir.path });
    first.topics.create("durable-growth", 1, new Map());
    const response = await call(first, createPartitions, HIGHEST, request([grow("durable-growth", 4)]));
    assert.equal(response.results[0]!.errorCode, ErrorCode.NONE);
    await first.close();
    const second = await openBroker({ dataDir: dir.path });
    try {
      assert.equal(second.topics.get("durable-growth")?.partitions.length, 4);
    } finally {
      await second.close();
    }
  } finally {
    dir.remove();
  }
});
