// The group consumer's offset commits go out in the background: under a slow broker (an OffsetCommit held back by an
// injected delay) the partition is fetched and handled again before its commit is answered, the commits queued
// meanwhile coalesce to the newest offset and reach the broker in order, and stop() waits for the last one.

import assert from "node:assert/strict";
import { test } from "node:test";
import { committedOffsets } from "../../../../src/kafka/client/group/commit.js";
import { brokerForTest, eventually } from "../../../helpers/broker.js";
import { clientFor } from "../support.js";

const OFFSET_COMMIT = 8;
const SLOW_COMMIT_MS = 15_000;

interface CommitRequest {
  groupId: string;
  topics: Array<{ partitions: Array<{ committedOffset: bigint | number }> }>;
}

test("a slow commit does not hold up fetching; queued commits coalesce, stay in order, and stop waits for them", async (t) => {
  const broker = await brokerForTest(t);
  const producer = clientFor(t, broker, { clientId: "producer" });
  await producer.admin.createTopics([{ name: "slow-commits", partitions: 1 }]);
  const groupId = "slow-committers";
  const committedByBroker: number[] = [];
  broker.injectFault({
    apiKey: OFFSET_COMMIT,
    action: { kind: "delay", delayMs: 0 },
    match: (request) => {
      const commit = request as CommitRequest;
      if (commit.groupId === groupId) committedByBroker.push(Number(commit.topics[0]!.partitions[0]!.committedOffset));
      return false;
    },
  });
  // Only the first commit is slow; heartbeats share its connection, so the session outlasts the delay.
  broker.injectFault({
    apiKey: OFFSET_COMMIT,
    action: { kind: "delay", delayMs: SLOW_COMMIT_MS },
    times: 1,
    match: (request) => (request as CommitRequest).groupId === groupId,
  });

  const client = clientFor(t, broker, { clientId: "member" });
  const consumer = client.groupConsumer({
    groupId,
    topics: ["slow-commits"],
    sessionTimeoutMs: SLOW_COMMIT_MS * 3,
    heartbeatIntervalMs: 500,
    rebalanceTimeoutMs: 10_000,
    maxWaitMs: 200,
    resetTo: "earliest",
  });
  let firstCommitAnswered = false;
  let batchesWhileFirstCommitWaited = 0;
  let batches = 0;
  let handled = 0;
  await consumer.start({
    eachBatch: async (batch) => {
      for (const record of batch.records) batch.markDone(record.offset);
      handled += batch.records.length;
      batches += 1;
      if (batches > 1 && !firstCommitAnswered) batchesWhileFirstCommitWaited += 1;
      const committing = batch.commit(batch.records[batch.records.length - 1]!.offset + 1);
      if (batches === 1) {
        const answered = (): void => {
          firstCommitAnswered = true;
        };
        committing.then(answered, answered);
      }
    },
  });

  const total = 6;
  for (let index = 0; index < total; index++) {
    await producer.produce({ topic: "slow-commits", partition: 0, records: [{ value: `job-${index}` }] });
    assert.ok(await eventually(() => handled === index + 1, 10_000), `record ${index} handled`);
  }
  assert.ok(batchesWhileFirstCommitWaited >= 2, "later batches were handled while the first commit waited");

  await consumer.stop();
  assert.ok(firstCommitAnswered, "stop waited for the commit in flight");
  const committed = await committedOffsets(producer.cluster, groupId, [{ topic: "slow-commits", partition: 0 }]);
  assert.deepEqual([...committed.values()], [total], "stop waited for the newest queued commit too");
  assert.ok(
    committedByBroker.length < batches,
    `commits coalesced: ${committedByBroker.length} for ${batches} batches`,
  );
  assert.deepEqual(
    committedByBroker,
    [...committedByBroker].sort((a, b) => a - b),
    `commits reached the broker in order: ${committedByBroker.join(", ")}`,
  );
  assert.equal(committedByBroker[committedByBroker.length - 1], total);
});
