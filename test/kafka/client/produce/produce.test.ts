// The simple produce of Sluice's client: acks -1, 1 and 0, keys, headers and timestamps as given, every compression
// this runtime has, LogAppendTime topics, and the errors that must not be retried (or must not be resent).

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  KafkaBrokerError,
  KafkaConfigError,
  KafkaConnectionError,
  KafkaPartitionUnknownError,
  KafkaTopicUnknownError,
  type CompressionName,
} from "../../../../src/kafka/client/index.js";
import { CompressionCodec, compressionAvailable } from "../../../../src/kafka/protocol/compression/index.js";
import { ErrorCode } from "../../../../src/kafka/protocol/error-codes.js";
import { brokerForTest, eventually } from "../../../helpers/broker.js";
import { clientFor } from "../support.js";

describe("produce", () => {
  test("acks -1, 1 and 0 each land the batch; offsets follow on", async (t) => {
    const broker = await brokerForTest(t);
    const client = clientFor(t, broker);
    await client.admin.createTopics([{ name: "acked", partitions: 1 }]);
    const durable = await client.produce({ topic: "acked", partition: 0, records: [{ value: "a" }, { value: "b" }] });
    assert.deepEqual([durable.baseOffset, durable.logStartOffset], [0, 0]);
    const written = await client.produce({ topic: "acked", partition: 0, acks: 1, records: [{ value: "c" }] });
    assert.equal(written.baseOffset, 2);
    const unanswered = await client.produce({ topic: "acked", partition: 0, acks: 0, records: [{ value: "d" }] });
    assert.equal(unanswered.baseOffset, -1);
    assert.ok(await eventually(async () => (await client.admin.topicOffsets("acked"))[0]!.latest === 4));
  });

  test("keys, values, headers and timestamps arrive as they were given", async (t) => {
    const broker = await brokerForTest(t);
    const client = clientFor(t, broker);
    await client.admin.createTopics([{ name: "shaped", partitions: 3 }]);
    await client.produce({
      topic: "shaped",
      partition: 2,
      records: [
        {
          key: "order-1",
          value: Buffer.from([0, 1, 2, 255]),
          timestamp: 1_600_000_000_123,
          headers: [
            { key: "traceparent", value: "00-abc-def-01" },
            { key: "dup", value: "one" },
            { key: "dup", value: Buffer.from("two") },
            { key: "empty", value: null },
          ],
        },
        { key: null, value: null },
      ],
    });
    const [fetched] = await client.fetch([{ topic: "shaped", partition: 2, offset: 0 }], { maxWaitMs: 10 });
    const [first, tombstone] = fetched!.records;
    assert.equal(first!.key!.toString(), "order-1");
    assert.deepEqual([...first!.value!], [0, 1, 2, 255]);
    assert.equal(first!.timestamp, 1_600_000_000_123);
    assert.deepEqual(
      first!.headers.map((header) => [header.key, header.value?.toString() ?? null]),
      [
        ["traceparent", "00-abc-def-01"],
        ["dup", "one"],
        ["dup", "two"],
        ["empty", null],
      ],
    );
    assert.deepEqual([tombstone!.offset, tombstone!.key, tombstone!.value], [1, null, null]);
  });

  const codecs: ReadonlyArray<[CompressionName, number]> = [
    ["gzip", CompressionCodec.Gzip],
    ["snappy", CompressionCodec.Snappy],
    ["lz4", CompressionCodec.Lz4],
    ["zstd", CompressionCodec.Zstd],
  ];
  for (const [name, codec] of codecs) {
    test(`${name}: compressed batches round-trip (or are refused in words where the runtime lacks ${name})`, async (t) => {
      const broker = await brokerForTest(t);
      const client = clientFor(t, broker);
      await client.admin.createTopics([{ name: `compressed-${name}`, partitions: 1 }]);
      const records = Array.from({ length: 50 }, (_, index) => ({
        key: `k${index}`,
        value: `a value that repeats itself, repeats itself ${index}`,
        headers: [{ key: "n", value: String(index) }],
      }));
      if (!compressionAvailable(codec)) {
        await assert.rejects(
          client.produce({ topic: `compressed-${name}`, partition: 0, compression: name, records }),
          (error: unknown) => error instanceof KafkaConfigError && /not available on Node/.test(error.message),
        );
        return;
      }
      await client.produce({ topic: `compressed-${name}`, partition: 0, compression: name, records });
      const [fetched] = await client.fetch([{ topic: `compressed-${name}`, partition: 0, offset: 10 }], {
        maxWaitMs: 10,
      });
      assert.equal(fetched!.records.length, 40, "records before the fetch offset are dropped from the batch");
      assert.equal(fetched!.records[0]!.offset, 10);
      assert.equal(fetched!.records[39]!.value!.toString(), records[49]!.value);
      assert.equal(fetched!.records[39]!.headers[0]!.value!.toString(), "49");
    });
  }

  test("a LogAppendTime topic answers with the broker's append time", async (t) => {
    const broker = await brokerForTest(t);
    const client = clientFor(t, broker);
    await client.admin.createTopics([
      { name: "appended", partitions: 1, configs: { "message.timestamp.type": "LogAppendTime" } },
    ]);
    const before = Date.now();
    const result = await client.produce({ topic: "appended", partition: 0, records: [{ value: "x", timestamp: 1 }] });
    assert.ok(result.logAppendTime >= before, `append time ${result.logAppendTime}`);
    const [fetched] = await client.fetch([{ topic: "appended", partition: 0, offset: 0 }], { maxWaitMs: 10 });
    assert.equal(fetched!.records[0]!.timestamp, result.logAppendTime);
  });

  test("errors that another try cannot fix are thrown at once", async (t) => {
    const broker = await brokerForTest(t, { autoCreateTopics: false, messageBytesMax: 1024 });
    const client = clientFor(t, broker);
    await client.admin.createTopics([{ name: "small", partitions: 1 }]);
    await assert.rejects(
      client.produce({ topic: "small", partition: 0, records: [{ value: Buffer.alloc(4096) }] }),
      (error: unknown) =>
        error instanceof KafkaBrokerError && error.errorName === "MESSAGE_TOO_LARGE" && !error.retriable,
    );
    await assert.rejects(
      client.produce({ topic: "absent", partition: 0, records: [{ value: "x" }] }),
      KafkaTopicUnknownError,
    );
    await assert.rejects(
      client.produce({ topic: "small", partition: 1, records: [{ value: "x" }] }),
      KafkaPartitionUnknownError,
    );
    await assert.rejects(client.produce({ topic: "small", partition: 0, records: [] }), KafkaConfigError);
    await assert.rejects(
      client.produce({ topic: "small", partition: 0, acks: 2 as 1, records: [{ value: "x" }] }),
      /acks: must be -1, 0 or 1/,
    );
  });

  test("a moved leader is asked again; a lost answer is not resent, so nothing is written twice", async (t) => {
    const broker = await brokerForTest(t);
    const client = clientFor(t, broker);
    await client.admin.createTopics([{ name: "careful", partitions: 1 }]);
    broker.injectFault({ apiKey: 0, action: { kind: "error", errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER }, times: 2 });
    const moved = await client.produce({ topic: "careful", partition: 0, records: [{ value: "once" }] });
    assert.equal(moved.baseOffset, 0);

    broker.injectFault({ apiKey: 0, action: { kind: "dropResponse" }, times: 1 });
    await assert.rejects(
      client.produce({ topic: "careful", partition: 0, records: [{ value: "maybe" }] }),
      (error: unknown) => {
        assert.ok(error instanceof KafkaConnectionError);
        assert.equal(error.requestSent, true);
        return true;
      },
    );
    assert.deepEqual(await client.admin.topicOffsets("careful"), [{ partition: 0, earliest: 0, latest: 2 }]);
  });
});
