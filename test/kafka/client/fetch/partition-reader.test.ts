// Following partitions without a consumer group: starting at an offset, the earliest or latest offset, or a time;
// new records as they arrive; seeking; and a position that retention or DeleteRecords took away.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { KafkaBrokerError, type FetchedRecord, type PartitionReader } from "../../../../src/kafka/client/index.js";
import { brokerForTest } from "../../../helpers/broker.js";
import { clientFor } from "../support.js";

const BASE_TIME = 1_700_000_000_000;

/** Reads until `count` records have arrived (each read long-polls at most maxWaitMs). */
async function readAtLeast(reader: PartitionReader, count: number, roundsMax = 50): Promise<FetchedRecord[]> {
  const records: FetchedRecord[] = [];
  for (let round = 0; round < roundsMax && records.length < count; round++) records.push(...(await reader.read()));
  return records;
}

const values = (records: readonly FetchedRecord[]): string[] => records.map((record) => record.value!.toString());

describe("PartitionReader", () => {
  test("each partition starts where asked and follows new records", async (t) => {
    const broker = await brokerForTest(t);
    const client = clientFor(t, broker);
    await client.admin.createTopics([{ name: "followed", partitions: 4 }]);
    for (const partition of [0, 1, 2, 3]) {
      for (let second = 0; second < 3; second++) {
        await client.produce({
          topic: "followed",
          partition,
          records: [{ value: `${partition}@${second}`, timestamp: BASE_TIME + second * 1000 }],
        });
      }
    }
    const reader = client.reader({
      maxWaitMs: 100,
      partitions: [
        { topic: "followed", partition: 0, from: "earliest" },
        { topic: "followed", partition: 1, from: "latest" },
        { topic: "followed", partition: 2, from: { timestamp: BASE_TIME + 1500 } },
        { topic: "followed", partition: 3, from: { offset: 1 } },
      ],
    });
    const existing = await readAtLeast(reader, 6);
    assert.deepEqual(values(existing).sort(), ["0@0", "0@1", "0@2", "2@2", "3@1", "3@2"]);
    assert.deepEqual(
      reader.partitions().map((state) => [state.partition, state.position, state.highWatermark]),
      [
        [0, 3, 3],
        [1, 3, 3],
        [2, 3, 3],
        [3, 3, 3],
      ],
    );

    await client.produce({ topic: "followed", partition: 1, records: [{ value: "1@new" }] });
    assert.deepEqual(values(await readAtLeast(reader, 1)), ["1@new"]);
    assert.deepEqual(await reader.read(), [], "nothing new: the read long-polls and comes back empty");
  });

  test("a time after the last record waits at the end; seek and unassign move and drop partitions", async (t) => {
    const broker = await brokerForTest(t);
    const client = clientFor(t, broker);
    await client.admin.createTopics([{ name: "sought", partitions: 2 }]);
    await client.produce({ topic: "sought", partition: 0, records: [{ value: "a" }, { value: "b" }, { value: "c" }] });
    await client.produce({ topic: "sought", partition: 1, records: [{ value: "z" }] });
    const reader = client.reader({
      maxWaitMs: 50,
      partitions: [{ topic: "sought", partition: 0, from: { timestamp: Date.now() + 3_600_000 } }],
    });
    assert.deepEqual(await reader.read(), []);
    assert.equal(reader.partitions()[0]!.position, 3);
    reader.seek("sought", 0, { offset: 1 });
    assert.deepEqual(values(await readAtLeast(reader, 2)), ["b", "c"]);
    reader.assign([{ topic: "sought", partition: 1, from: "earliest" }]);
    reader.unassign([{ topic: "sought", partition: 0 }]);
    assert.deepEqual(values(await readAtLeast(reader, 1)), ["z"]);
    assert.throws(() => reader.seek("sought", 0, "earliest"), /not assigned/);
  });

  test("a position deleted from under the reader restarts at the earliest offset, or fails when asked to", async (t) => {
    const broker = await brokerForTest(t);
    const client = clientFor(t, broker);
    await client.admin.createTopics([{ name: "trimmed", partitions: 1 }]);
    await client.produce({ topic: "trimmed", partition: 0, records: ["a", "b", "c", "d"].map((value) => ({ value })) });
    const lenient = client.reader({
      maxWaitMs: 50,
      partitions: [{ topic: "trimmed", partition: 0, from: { offset: 1 } }],
    });
    const strict = client.reader({
      maxWaitMs: 50,
      outOfRange: "error",
      partitions: [{ topic: "trimmed", partition: 0, from: { offset: 1 } }],
    });
    await client.admin.deleteRecords([{ topic: "trimmed", partition: 0, beforeOffset: 3 }]);
    assert.deepEqual(values(await readAtLeast(lenient, 1)), ["d"]);
    await assert.rejects(
      strict.read(),
      (error: unknown) => error instanceof KafkaBrokerError && error.errorName === "OFFSET_OUT_OF_RANGE",
    );
  });

  test("iterates with for await until closed", async (t) => {
    const broker = await brokerForTest(t);
    const client = clientFor(t, broker);
    await client.admin.createTopics([{ name: "iterated", partitions: 1 }]);
    const reader = client.reader({
      maxWaitMs: 50,
      partitions: [{ topic: "iterated", partition: 0, from: "earliest" }],
    });
    const producing = (async () => {
      for (let index = 0; index < 5; index++) {
        await client.produce({ topic: "iterated", partition: 0, records: [{ value: `m${index}` }] });
      }
    })();
    const seen: string[] = [];
    for await (const records of reader) {
      seen.push(...values(records));
      if (seen.length >= 5) reader.close();
    }
    await producing;
    assert.deepEqual(seen, ["m0", "m1", "m2", "m3", "m4"]);
    assert.deepEqual(await reader.read(), [], "a closed reader reads nothing");
  });
});
