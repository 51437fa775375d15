import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ErrorCode } from "../../../src/kafka/protocol/error-codes.js";
import type { DeleteRecordsRequest } from "../../../src/kafka/protocol/messages/delete-records-request.js";
import { buildRecordBatch, readBatchHeader } from "../../../src/kafka/protocol/record-batch.js";
import type { Broker } from "../../../src/broker/broker.js";
import deleteRecords, { DELETE_RECORDS_PARTITIONS_MAX } from "../../../src/broker/handlers/21-delete-records.js";
import { call, errorResponses, openBroker, servedVersions, tempDir } from "./admin-harness.js";

const LOWEST = 0;
const HIGHEST = 2;
const BATCHES = 3;
const RECORDS_PER_BATCH = 2;
const END_OFFSET = BATCHES * RECORDS_PER_BATCH;

/** Creates a one-partition topic holding offsets 0 to END_OFFSET - 1. */
function topicWithRecords(broker: Broker, name: string): void {
  const topic = broker.topics.create(name, 1, new Map());
  for (let batch = 0; batch < BATCHES; batch++) {
    const records = Array.from({ length: RECORDS_PER_BATCH }, (_, i) => ({ key: `k${batch}-${i}`, value: "v" }));
    const bytes = buildRecordBatch({ records, timestamp: 1_700_000_000_000 + batch });
    topic.partitions[0]!.log.append(bytes, readBatchHeader(bytes));
  }
  assert.equal(topic.partitions[0]!.log.logEndOffset, END_OFFSET);
}

function deleting(name: string, ...partitions: Array<[partitionIndex: number, offset: number]>): DeleteRecordsRequest {
  return {
    topics: [{ name, partitions: partitions.map(([partitionIndex, offset]) => ({ partitionIndex, offset })) }],
    timeoutMs: 1000,
  };
}

describe("DeleteRecords", () => {
  let broker: Broker;
  before(async () => {
    broker = await openBroker();
  });
  after(() => broker.close());

  const logOf = (name: string) => broker.topics.partition(name, 0)!.log;

  test("serves versions 0 to 2", () => {
    assert.deepEqual(deleteRecords.versions, [LOWEST, HIGHEST]);
  });

  test("moves the log start to the given offset and answers it as the low watermark, at v0 and v2", async () => {
    for (const version of [LOWEST, HIGHEST]) {
      const name = `cut-v${version}`;
      topicWithRecords(broker, name);
      const response = await call(broker, deleteRecords, version, deleting(name, [0, 3]));
      assert.deepEqual(response.topics, [{ name, partitions: [{ partitionIndex: 0, lowWatermark: 3, errorCode: 0 }] }]);
      assert.equal(logOf(name).logStartOffset, 3);
      assert.equal(logOf(name).logEndOffset, END_OFFSET);
    }
  });

  test("-1 deletes up to the high watermark", async () => {
    topicWithRecords(broker, "to-the-end");
    const response = await call(broker, deleteRecords, HIGHEST, deleting("to-the-end", [0, -1]));
    assert.equal(response.topics[0]!.partitions[0]!.lowWatermark, END_OFFSET);
    assert.equal(logOf("to-the-end").logStartOffset, END_OFFSET);
  });

  test("an offset past the high watermark is OFFSET_OUT_OF_RANGE and changes nothing", async () => {
    topicWithRecords(broker, "too-far");
    const response = await call(broker, deleteRecords, HIGHEST, deleting("too-far", [0, END_OFFSET + 1], [0, -2]));
    assert.deepEqual(response.topics[0]!.partitions, [
      { partitionIndex: 0, lowWatermark: -1, errorCode: ErrorCode.OFFSET_OUT_OF_RANGE },
      { partitionIndex: 0, lowWatermark: -1, errorCode: ErrorCode.OFFSET_OUT_OF_RANGE },
    ]);
    assert.equal(logOf("too-far").logStartOffset, 0);
  });

  test("an offset below the log start changes nothing and answers the current low watermark", async () => {
    topicWithRecords(broker, "behind");
    await call(broker, deleteRecords, LOWEST, deleting("behind", [0, 4]));
    const response = await call(broker, deleteRecords, LOWEST, deleting("behind", [0, 2]));
    assert.equal(response.topics[0]!.partitions[0]!.lowWatermark, 4);
    assert.equal(logOf("behind").logStartOffset, 4);
  });

  test("an unknown topic or partition is UNKNOWN_TOPIC_OR_PARTITION", async () => {
    topicWithRecords(broker, "one-partition");
    const response = await call(broker, deleteRecords, HIGHEST, {
      topics: [
        { name: "one-partition", partitions: [{ partitionIndex: 1, offset: 1 }] },
        { name: "no-such-topic", partitions: [{ partitionIndex: 0, offset: 1 }] },
      ],
      timeoutMs: 1000,
    });
    assert.deepEqual(
      response.topics.map((t) => [t.name, t.partitions[0]!.errorCode, t.partitions[0]!.lowWatermark]),
      [
        ["one-partition", ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1],
        ["no-such-topic", ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1],
      ],
    );
  });

  test("a fetch waiting on the partition is woken when records are deleted", async () => {
    topicWithRecords(broker, "watched");
    let woken = 0;
    broker.topics.partition("watched", 0)!.wait(() => woken++);
    await call(broker, deleteRecords, HIGHEST, deleting("watched", [0, 2]));
    assert.equal(woken, 1);
  });

  test("partitions past DELETE_RECORDS_PARTITIONS_MAX are refused", async () => {
    topicWithRecords(broker, "crowded");
    const entries = Array.from({ length: DELETE_RECORDS_PARTITIONS_MAX + 1 }, (_, i): [number, number] => [
      0,
      i === DELETE_RECORDS_PARTITIONS_MAX ? 5 : 1,
    ]);
    const response = await call(broker, deleteRecords, HIGHEST, deleting("crowded", ...entries));
    const results = response.topics[0]!.partitions;
    assert.equal(results.length, entries.length);
    assert.equal(results[DELETE_RECORDS_PARTITIONS_MAX - 1]!.errorCode, ErrorCode.NONE);
    assert.equal(results[DELETE_RECORDS_PARTITIONS_MAX]!.errorCode, ErrorCode.INVALID_REQUEST);
    assert.equal(logOf("crowded").logStartOffset, 1);
  });

  test("every served version deletes records, and the error response encodes at each", async () => {
    for (const version of servedVersions(deleteRecords)) {
      const name = `every-${version}`;
      topicWithRecords(broker, name);
      const response = await call(broker, deleteRecords, version, deleting(name, [0, 1]));
      assert.equal(response.topics[0]!.partitions[0]!.lowWatermark, 1, `v${version}`);
    }
    for (const { response } of errorResponses(deleteRecords, deleting("x", [0, 1], [3, 1]), 7)) {
      assert.deepEqual(response.topics[0]!.partitions, [
        { partitionIndex: 0, lowWatermark: -1, errorCode: 7 },
        { partitionIndex: 3, lowWatermark: -1, errorCode: 7 },
      ]);
    }
  });
});

test("deleted records stay deleted after a restart", async () => {
  const dir = tempDir();
  try {
    const first = await openBroker({ dataDir: dir.path });
    topicWithRecords(first, "durable-cut");
    const response = await call(first, deleteRecords, HIGHEST, deleting("durable-cut", [0, 4]));
    assert.equal(response.topics[0]!.partitions[0]!.lowWatermark, 4);
    await first.close();
    const second = await openBroker({ dataDir: dir.path });
    try {
      const log = second.topics.partition("durable-cut", 0)!.log;
      assert.equal(log.logStartOffset, 4);
      assert.equal(log.logEndOffset, END_OFFSET);
    } finally {
      await second.close();
    }
  } finally {
    dir.remove();
  }
});
