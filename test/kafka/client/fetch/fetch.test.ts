// One-shot fetches by manual assignment: several partitions at once, the long-poll, byte limits that still return a
// whole first batch, an offset outside the log, and records written by another client (kafkajs) read the same.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { KafkaBrokerError, KafkaConfigError } from "../../../../src/kafka/client/index.js";
import { brokerForTest, kafkaFor } from "../../../helpers/broker.js";
import { clientFor } from "../support.js";

describe("fetch", () => {
  test("several partitions in one call, each from its own offset", async (t) => {
    const broker = await brokerForTest(t);
    const client = clientFor(t, broker);
    await client.admin.createTopics([{ name: "spread", partitions: 3 }]);
    for (const partition of [0, 1, 2]) {
      await client.produce({
        topic: "spread",
        partition,
        records: Array.from({ length: 4 }, (_, index) => ({ key: `p${partition}`, value: `${partition}:${index}` })),
      });
    }
    const fetched = await client.fetch(
      [
        { topic: "spread", partition: 0, offset: 0 },
        { topic: "spread", partition: 1, offset: 3 },
        { topic: "spread", partition: 2, offset: 4 },
      ],
      { maxWaitMs: 10 },
    );
    assert.deepEqual(
      fetched.map((partition) => [
        partition.partition,
        partition.records.map((record) => record.value!.toString()),
        partition.nextOffset,
        partition.highWatermark,
      ]),
      [
        [0, ["0:0", "0:1", "0:2", "0:3"], 4, 4],
        [1, ["1:3"], 4, 4],
        [2, [], 4, 4],
      ],
    );
  });

  test("a fetch at the end waits for the next record instead of answering empty at once", async (t) => {
    const broker = await brokerForTest(t);
    const client = clientFor(t, broker);
    await client.admin.createTopics([{ name: "awaited", partitions: 1 }]);
    const pending = client.fetch([{ topic: "awaited", partition: 0, offset: 0 }], { maxWaitMs: 10_000 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    await client.produce({ topic: "awaited", partition: 0, records: [{ value: "worth the wait" }] });
    const [fetched] = await pending;
    assert.equal(fetched!.records[0]!.value!.toString(), "worth the wait");

    const [empty] = await client.fetch([{ topic: "awaited", partition: 0, offset: 1 }], { maxWaitMs: 50 });
    assert.deepEqual([empty!.records.length, empty!.nextOffset], [0, 1]);
  });

  test("a small partitionMaxBytes still returns one whole batch, and the next fetch the next one", async (t) => {
    const broker = await brokerForTest(t);
    const client = clientFor(t, broker);
    await client.admin.createTopics([{ name: "chunked", partitions: 1 }]);
    for (let batch = 0; batch < 3; batch++) {
      await client.produce({
        topic: "chunked",
        partition: 0,
        records: Array.from({ length: 5 }, (_, index) => ({ value: "x".repeat(200) + `${batch}.${index}` })),
      });
    }
    let offset = 0;
    const sizes: number[] = [];
    while (offset < 15) {
      const [fetched] = await client.fetch([{ topic: "chunked", partition: 0, offset }], {
        maxWaitMs: 10,
        partitionMaxBytes: 100,
      });
      sizes.push(fetched!.records.length);
      offset = fetched!.nextOffset;
    }
    assert.deepEqual(sizes, [5, 5, 5]);
  });

  test("an offset past the end is OFFSET_OUT_OF_RANGE; bad positions are refused before sending", async (t) => {
    const broker = await brokerForTest(t);
    const client = clientFor(t, broker);
    await client.admin.createTopics([{ name: "bounded", partitions: 1 }]);
    await assert.rejects(
      client.fetch([{ topic: "bounded", partition: 0, offset: 5 }], { maxWaitMs: 10 }),
      (error: unknown) => error instanceof KafkaBrokerError && error.errorName === "OFFSET_OUT_OF_RANGE",
    );
    await assert.rejects(client.fetch([{ topic: "bounded", partition: 0, offset: -1 }]), KafkaConfigError);
    await assert.rejects(
      client.fetch([
        { topic: "bounded", partition: 0, offset: 0 },
        { topic: "bounded", partition: 0, offset: 0 },
      ]),
      /appears twice/,
    );
    await assert.rejects(
      client.fetch([{ topic: "bounded", partition: 0, offset: 0 }], { maxWaitMs: 60_000 }),
      /maxWaitMs/,
    );
  });

  test("records kafkajs wrote (with headers, gzip) read the same", async (t) => {
    const broker = await brokerForTest(t);
    const client = clientFor(t, broker);
    const producer = kafkaFor(broker).producer();
    await producer.connect();
    await producer.send({
      topic: "from-kafkajs",
      compression: 1,
      messages: [
        { key: "a", value: "first", headers: { source: "kafkajs" }, timestamp: "1600000000000" },
        { key: "b", value: "second" },
      ],
    });
    const [fetched] = await client.fetch([{ topic: "from-kafkajs", partition: 0, offset: 0 }], { maxWaitMs: 10 });
    assert.deepEqual(
      fetched!.records.map((record) => [record.offset, record.key!.toString(), record.value!.toString()]),
      [
        [0, "a", "first"],
        [1, "b", "second"],
      ],
    );
    assert.equal(fetched!.records[0]!.timestamp, 1_600_000_000_000);
    assert.deepEqual(
      fetched!.records[0]!.headers.map((header) => [header.key, header.value!.toString()]),
      [["source", "kafkajs"]],
    );
  });
});
