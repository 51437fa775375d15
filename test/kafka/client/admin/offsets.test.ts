// Offset lookups and record deletion through Sluice's client: earliest, latest and by time, DeleteRecords, the errors
// for missing topics and partitions, and a retry after the leader is reported to have moved.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  KafkaPartitionUnknownError,
  KafkaTopicUnknownError,
  type SluiceKafkaClient,
} from "../../../../src/kafka/client/index.js";
import { ErrorCode } from "../../../../src/kafka/protocol/error-codes.js";
import { brokerForTest } from "../../../helpers/broker.js";
import { clientFor } from "../support.js";

const BASE_TIME = 1_700_000_000_000;

/** Three batches of two records, a second apart: offsets 0–5 at times BASE, BASE, BASE+1s, BASE+1s, BASE+2s, BASE+2s. */
async function produceTimed(client: SluiceKafkaClient, topic: string): Promise<void> {
  for (let second = 0; second < 3; second++) {
    await client.produce({
      topic,
      partition: 0,
      records: [0, 1].map((index) => ({
        key: `k${index}`,
        value: `v${second}.${index}`,
        timestamp: BASE_TIME + second * 1000,
      })),
    });
  }
}

describe("offsets", () => {
  test("earliest, latest and the first offset at or after a time", async (t) => {
    const broker = await brokerForTest(t);
    const client = clientFor(t, broker);
    await client.admin.createTopics([{ name: "timed", partitions: 2 }]);
    await produceTimed(client, "timed");
    const answers = await client.admin.listOffsets([
      { topic: "timed", partition: 0, spec: "earliest" },
      { topic: "timed", partition: 0, spec: "latest" },
      { topic: "timed", partition: 0, spec: { timestamp: BASE_TIME + 500 } },
      { topic: "timed", partition: 0, spec: { timestamp: BASE_TIME + 2000 } },
      { topic: "timed", partition: 0, spec: { timestamp: BASE_TIME + 5000 } },
      { topic: "timed", partition: 1, spec: "latest" },
    ]);
    assert.deepEqual(
      answers.map((answer) => [answer.partition, answer.offset, answer.timestamp]),
      [
        [0, 0, -1],
        [0, 6, -1],
        [0, 2, BASE_TIME + 1000],
        [0, 4, BASE_TIME + 2000],
        [0, -1, -1],
        [1, 0, -1],
      ],
    );
    assert.deepEqual(await client.admin.topicOffsets("timed"), [
      { partition: 0, earliest: 0, latest: 6 },
      { partition: 1, earliest: 0, latest: 0 },
    ]);
  });

  test("DeleteRecords moves the log start; -1 deletes up to the high watermark", async (t) => {
    const broker = await brokerForTest(t);
    const client = clientFor(t, broker);
    await client.admin.createTopics([{ name: "trimmed", partitions: 1 }]);
    await produceTimed(client, "trimmed");
    const [first] = await client.admin.deleteRecords([{ topic: "trimmed", partition: 0, beforeOffset: 4 }]);
    assert.equal(first!.lowWatermark, 4);
    assert.deepEqual(await client.admin.topicOffsets("trimmed"), [{ partition: 0, earliest: 4, latest: 6 }]);
    const [all] = await client.admin.deleteRecords([{ topic: "trimmed", partition: 0, beforeOffset: -1 }]);
    assert.equal(all!.lowWatermark, 6);
    await assert.rejects(
      client.admin.deleteRecords([{ topic: "trimmed", partition: 0, beforeOffset: 99 }]),
      (error: unknown) => error instanceof Error && /OFFSET_OUT_OF_RANGE/.test(error.message),
    );
  });

  test("a missing topic or partition is a clear error, not a retry loop", async (t) => {
    const broker = await brokerForTest(t, { autoCreateTopics: false });
    const client = clientFor(t, broker);
    await client.admin.createTopics([{ name: "two", partitions: 2 }]);
    await assert.rejects(
      client.admin.listOffsets([{ topic: "missing", partition: 0, spec: "latest" }]),
      KafkaTopicUnknownError,
    );
    await assert.rejects(
      client.admin.listOffsets([{ topic: "two", partition: 2, spec: "latest" }]),
      (error: unknown) =>
        error instanceof KafkaPartitionUnknownError &&
        /has 2 partitions \(0 to 1\); partition 2 does not exist/.test(error.message),
    );
  });

  test("a leader reported as moved is looked up again and the lookup retried", async (t) => {
    const broker = await brokerForTest(t);
    const client = clientFor(t, broker);
    await client.admin.createTopics([{ name: "moving", partitions: 1 }]);
    await client.admin.listOffsets([{ topic: "moving", partition: 0, spec: "latest" }]);
    let metadataRequests = 0;
    broker.injectFault({ apiKey: 3, action: { kind: "delay", delayMs: 0 }, match: () => (metadataRequests++, false) });
    broker.injectFault({ apiKey: 2, action: { kind: "error", errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER }, times: 2 });
    const [answer] = await client.admin.listOffsets([{ topic: "moving", partition: 0, spec: "latest" }]);
    assert.equal(answer!.offset, 0);
    assert.equal(metadataRequests, 2, "the leader was looked up again after each NOT_LEADER_OR_FOLLOWER");
  });
});
