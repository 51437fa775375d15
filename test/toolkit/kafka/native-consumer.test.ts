// The toolkit's group consumer on Sluice's client, side by side with the kafkajs one: the same contract (batches per
// partition, commits only when told, unmarked records fetched again, pause and resume, join events, one start, a
// clean leave on stop) on both.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ToolkitError } from "../../../src/toolkit/errors.js";
import { createKafkaClient, KAFKA_CLIENT_LIBRARIES } from "../../../src/toolkit/kafka/connection.js";
import type { GroupAssignment } from "../../../src/toolkit/kafka/consumer.js";
import { brokerForTest, eventually, kafkaFor } from "../../helpers/broker.js";

const FAST = { sessionTimeoutMs: 3_000, heartbeatIntervalMs: 200, rebalanceTimeoutMs: 3_000, fetchWaitMs: 100 };

describe("toolkit group consumer", () => {
  for (const library of KAFKA_CLIENT_LIBRARIES) {
    test(`${library}: batches, commits, redelivery of unmarked records, pause and resume, leave`, async (t) => {
      const broker = await brokerForTest(t);
      const client = createKafkaClient({ brokers: [broker.address], library, env: {} });
      const kafkajsAdmin = kafkaFor(broker).admin();
      await kafkajsAdmin.connect();
      await kafkajsAdmin.createTopics({ topics: [{ topic: "jobs", numPartitions: 2 }] });
      const producer = kafkaFor(broker).producer();
      await producer.connect();
      await producer.send({
        topic: "jobs",
        messages: [0, 1, 2, 3].map((index) => ({ value: `job-${index}`, partition: index % 2 })),
      });
      const consumer = client.consumer({ groupId: "workers", ...FAST });
      t.after(() => consumer.stop());
      const joins: GroupAssignment[] = [];
      consumer.onJoin((assignment) => joins.push(assignment));
      const seen: string[] = [];
      let refusedOnce = false;
      let pausedOnce = false;
      await consumer.start({
        topics: ["jobs"],
        fromBeginning: true,
        concurrency: 2,
        eachBatch: async (batch) => {
          // Partition 1's first batch pauses it and marks nothing: its records wait for resume().
          if (batch.partition === 1 && !pausedOnce) {
            pausedOnce = true;
            consumer.pause("jobs", 1);
            return;
          }
          for (const record of batch.records) {
            if (!batch.active()) break;
            // The first delivery of job-2 is left unmarked: it must come again.
            if (record.value!.toString() === "job-2" && !refusedOnce) {
              refusedOnce = true;
              break;
            }
            seen.push(record.value!.toString());
            batch.markDone(record.offset);
            await batch.commit(String(Number(record.offset) + 1));
          }
          await batch.heartbeat();
        },
      });
      assert.ok(await eventually(() => seen.length === 2 && pausedOnce, 15_000), seen.join(","));
      await new Promise((resolve) => setTimeout(resolve, 500));
      assert.deepEqual(seen, ["job-0", "job-2"], "partition 1 is paused; job-2 came again");
      assert.ok(await eventually(() => joins.length > 0));
      assert.deepEqual(joins[0]!.partitions, { jobs: [0, 1] });
      consumer.resume("jobs", 1);
      assert.ok(await eventually(() => seen.length === 4, 15_000), seen.join(","));
      assert.deepEqual([...seen].sort(), ["job-0", "job-1", "job-2", "job-3"], "each record once");
      await assert.rejects(
        consumer.start({ topics: ["jobs"], fromBeginning: true, concurrency: 1, eachBatch: async () => undefined }),
        ToolkitError,
      );
      await consumer.stop();
      const [group] = (await kafkajsAdmin.describeGroups(["workers"])).groups;
      assert.equal(group!.state, "Empty", "the member left the group");
      const [offsets] = await kafkajsAdmin.fetchOffsets({ groupId: "workers", topics: ["jobs"] });
      assert.deepEqual(offsets!.partitions.map((entry) => entry.offset).sort(), ["2", "2"]);
    });
  }
});
