import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { ErrorCode } from "../../../src/kafka/protocol/error-codes.js";
import type { DeleteTopicsRequest } from "../../../src/kafka/protocol/messages/delete-topics-request.js";
import type { Broker } from "../../../src/broker/broker.js";
import deleteTopics, { DELETE_TOPICS_TOPICS_MAX } from "../../../src/broker/handlers/20-delete-topics.js";
import { call, errorResponses, openBroker, servedVersions, tempDir } from "./admin-harness.js";

const LOWEST = 0;
const HIGHEST = 6;
const ZERO_UUID = Buffer.alloc(16);

function byName(...topicNames: string[]): DeleteTopicsRequest {
  return { topics: [], topicNames, timeoutMs: 1000 };
}

function byState(...topics: Array<{ name: string | null; topicId: Buffer }>): DeleteTopicsRequest {
  return { topics, topicNames: [], timeoutMs: 1000 };
}

describe("DeleteTopics", () => {
  let broker: Broker;
  before(async () => {
    broker = await openBroker();
  });
  after(() => broker.close());

  function create(name: string): Buffer {
    return broker.topics.create(name, 2, new Map()).id;
  }

  test("serves versions 0 to 6", () => {
    assert.deepEqual(deleteTopics.versions, [LOWEST, HIGHEST]);
  });

  test("v0 deletes by name and answers UNKNOWN_TOPIC_OR_PARTITION for a name that does not exist", async () => {
    create("v0-gone");
    const response = await call(broker, deleteTopics, LOWEST, byName("v0-gone", "v0-never"));
    assert.deepEqual(
      response.responses.map((r) => [r.name, r.errorCode]),
      [
        ["v0-gone", ErrorCode.NONE],
        ["v0-never", ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
      ],
    );
    assert.equal(broker.topics.get("v0-gone"), undefined);
  });

  test("v6 deletes by id and reports the name it found", async () => {
    const id = create("v6-by-id");
    const response = await call(broker, deleteTopics, HIGHEST, byState({ name: null, topicId: id }));
    const [result] = response.responses;
    assert.equal(result!.errorCode, ErrorCode.NONE);
    assert.equal(result!.name, "v6-by-id");
    assert.ok(result!.topicId!.equals(id));
    assert.equal(result!.errorMessage, null);
    assert.equal(broker.topics.get("v6-by-id"), undefined);
  });

  test("v6 deletes by name and reports the topic's id", async () => {
    const id = create("v6-by-name");
    const response = await call(broker, deleteTopics, HIGHEST, byState({ name: "v6-by-name", topicId: ZERO_UUID }));
    assert.equal(response.responses[0]!.errorCode, ErrorCode.NONE);
    assert.ok(response.responses[0]!.topicId!.equals(id));
    assert.equal(broker.topics.get("v6-by-name"), undefined);
  });

  test("v6 refuses an unknown id, both a name and an id, and neither", async () => {
    const id = create("v6-kept");
    const unknownId = Buffer.alloc(16, 0xab);
    const response = await call(
      broker,
      deleteTopics,
      HIGHEST,
      byState(
        { name: null, topicId: unknownId },
        { name: "v6-kept", topicId: id },
        { name: null, topicId: ZERO_UUID },
        { name: "v6-missing", topicId: ZERO_UUID },
      ),
    );
    assert.deepEqual(
      response.responses.map((r) => [r.name, r.errorCode]),
      [
        [null, ErrorCode.UNKNOWN_TOPIC_ID],
        ["v6-kept", ErrorCode.INVALID_REQUEST],
        [null, ErrorCode.INVALID_REQUEST],
        ["v6-missing", ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
      ],
    );
    assert.ok(response.responses[0]!.topicId!.equals(unknownId));
    for (const result of response.responses) assert.ok(result.errorMessage, String(result.name));
    assert.ok(broker.topics.get("v6-kept"));
  });

  test("a topic mentioned twice, by name or by name and id, is refused for every mention and kept", async () => {
    create("twice-v0");
    const v0 = await call(broker, deleteTopics, LOWEST, byName("twice-v0", "twice-v0"));
    assert.deepEqual(
      v0.responses.map((r) => r.errorCode),
      [ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST],
    );
    assert.ok(broker.topics.get("twice-v0"));

    const id = create("twice-v6");
    const v6 = await call(
      broker,
      deleteTopics,
      HIGHEST,
      byState({ name: "twice-v6", topicId: ZERO_UUID }, { name: null, topicId: id }),
    );
    assert.deepEqual(
      v6.responses.map((r) => [r.name, r.errorCode]),
      [
        ["twice-v6", ErrorCode.INVALID_REQUEST],
        ["twice-v6", ErrorCode.INVALID_REQUEST],
      ],
    );
    assert.ok(broker.topics.get("twice-v6"));
  });

  test("names past DELETE_TOPICS_TOPICS_MAX are refused and their topics kept", async () => {
    const names = Array.from({ length: DELETE_TOPICS_TOPICS_MAX + 1 }, (_, i) => `bulk-${i}`);
    const last = names[names.length - 1]!;
    create(last);
    const response = await call(broker, deleteTopics, HIGHEST - 1, byName(...names));
    assert.equal(response.responses.length, names.length);
    assert.equal(response.responses[0]!.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    assert.equal(response.responses[DELETE_TOPICS_TOPICS_MAX]!.errorCode, ErrorCode.INVALID_REQUEST);
    assert.ok(broker.topics.get(last));
  });

  test("every served version deletes a topic", async () => {
    for (const version of servedVersions(deleteTopics)) {
      const name = `every-${version}`;
      create(name);
      const request = version >= 6 ? byState({ name, topicId: ZERO_UUID }) : byName(name);
      const response = await call(broker, deleteTopics, version, request);
      assert.deepEqual(
        response.responses.map((r) => [r.name, r.errorCode]),
        [[name, ErrorCode.NONE]],
        `v${version}`,
      );
      assert.equal(broker.topics.get(name), undefined, `v${version}`);
    }
  });

  test("the error response encodes at every served version", () => {
    for (const { version, response } of errorResponses(deleteTopics, byName("a", "b"), 7)) {
      if (version >= 6) continue;
      assert.deepEqual(
        response.responses.map((r) => [r.name, r.errorCode]),
        [
          ["a", 7],
          ["b", 7],
        ],
      );
    }
    for (const { version, response } of errorResponses(deleteTopics, byState({ name: "a", topicId: ZERO_UUID }), 7)) {
      if (version < 6) continue;
      assert.deepEqual(
        response.responses.map((r) => [r.name, r.errorCode]),
        [["a", 7]],
      );
    }
  });
});

test("deleting a topic removes its files before the response", async () => {
  const dir = tempDir();
  const broker = await openBroker({ dataDir: dir.path });
  try {
    broker.topics.create("on-disk", 3, new Map());
    broker.topics.create("neighbour", 1, new Map());
    const logs = join(dir.path, "logs");
    const before = readdirSync(logs);
    assert.equal(before.filter((entry) => entry.startsWith("on-disk~")).length, 1);
    const response = await call(broker, deleteTopics, HIGHEST, byState({ name: "on-disk", topicId: ZERO_UUID }));
    assert.equal(response.responses[0]!.errorCode, ErrorCode.NONE);
    const remaining = readdirSync(logs);
    assert.deepEqual(
      remaining.filter((entry) => entry.startsWith("on-disk~")),
      [],
    );
    assert.equal(remaining.filter((entry) => entry.startsWith("neighbour~")).length, 1);
  } finally {
    await broker.close();
    dir.remove();
  }
});
