// Changing a group's committed offsets through the admin path, as Kafka behaves: a commit outside a generation
// (generation -1, no member id) is accepted while the group is empty, a commit without metadata reads back as "",
// and OffsetDelete refuses the topics a live member subscribes to. Driven by @platformatic/kafka and kafkajs.

import assert from "node:assert/strict";
import { test } from "node:test";
import { Admin, MultipleErrors } from "@platformatic/kafka";
import { ErrorCode } from "../../src/kafka/protocol/error-codes.js";
import { brokerForTest, kafkaFor } from "../helpers/broker.js";

const REQUEST_TIMEOUT_MS = 5000;

function platformaticAdmin(address: string): Admin {
  return new Admin({ clientId: "offsets-admin", bootstrapBrokers: [address], retries: 0, timeout: REQUEST_TIMEOUT_MS });
}

/** The Kafka error codes a platformatic MultipleErrors carries, however deeply nested. */
function errorCodesOf(error: unknown): number[] {
  const codes: number[] = [];
  const visit = (value: unknown): void => {
    if (value === null || typeof value !== "object") return;
    const record = value as Record<string, unknown>;
    if (typeof record.apiCode === "number") codes.push(record.apiCode);
    if (Array.isArray(record.errors)) record.errors.forEach(visit);
    if (record.response !== undefined && typeof record.response === "object") {
      JSON.stringify(record.response, (key, inner: unknown) => {
        if (key === "errorCode" && typeof inner === "number" && inner !== 0) codes.push(inner);
        return typeof inner === "bigint" ? String(inner) : inner;
      });
    }
  };
  visit(error);
  return codes;
}

test("an admin commit without metadata reads back as the empty string, as Kafka stores it", async (t) => {
  const broker = await brokerForTest(t);
  const admin = platformaticAdmin(broker.address);
  t.after(() => admin.close());
  await admin.createTopics({ topics: ["offsets-metadata"], partitions: 2, replicas: 1 });

  await admin.alterConsumerGroupOffsets({
    groupId: "offsets-metadata-group",
    topics: [{ name: "offsets-metadata", partitionOffsets: [{ partition: 1, offset: 7n }] }],
  });
  const [group] = await admin.listConsumerGroupOffsets({ groups: ["offsets-metadata-group"] });
  const partition = group?.topics.find((topic) => topic.name === "offsets-metadata")?.partitions[0];
  assert.equal(partition?.committedOffset, 7n);
  assert.equal(partition?.metadata, "");

  // kafkajs commits through OffsetCommit v5 and reads through OffsetFetch v4, older encodings of the same field
  // (kafkajs itself turns an empty metadata string into null, so only the offsets are compared here).
  const kafkajsAdmin = kafkaFor(broker).admin();
  await kafkajsAdmin.connect();
  await kafkajsAdmin.setOffsets({
    groupId: "offsets-kafkajs-group",
    topic: "offsets-metadata",
    partitions: [{ partition: 0, offset: "3" }],
  });
  const [fetched] = await kafkajsAdmin.fetchOffsets({ groupId: "offsets-kafkajs-group", topics: ["offsets-metadata"] });
  assert.deepEqual(
    fetched?.partitions.sort((a, b) => a.partition - b.partition).map(({ partition, offset }) => [partition, offset]),
    [
      [0, "3"],
      [1, "-1"],
    ],
  );
});

test("OffsetDelete refuses a subscribed topic while a member consumes it and deletes it once the group is empty", async (t) => {
  const broker = await brokerForTest(t);
  const admin = platformaticAdmin(broker.address);
  t.after(() => admin.close());
  const kafka = kafkaFor(broker);
  const kafkajsAdmin = kafka.admin();
  await kafkajsAdmin.connect();
  await kafkajsAdmin.createTopics({ topics: [{ topic: "offsets-live", numPartitions: 1 }] });
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic: "offsets-live", messages: [{ value: "one" }, { value: "two" }] });

  const consumer = kafka.consumer({ groupId: "offsets-live-group", sessionTimeout: 6000, heartbeatInterval: 200 });
  await consumer.connect();
  await consumer.subscribe({ topic: "offsets-live", fromBeginning: true });
  let seen = 0;
  await consumer.run({ autoCommit: true, autoCommitThreshold: 1, eachMessage: async () => void seen++ });
  while (seen < 2) await new Promise((resolve) => setTimeout(resolve, 20));
  await consumer.commitOffsets([{ topic: "offsets-live", partition: 0, offset: "2" }]);

  // While the member is in the group, an admin commit (no member id, generation -1) is UNKNOWN_MEMBER_ID.
  const altering = admin.alterConsumerGroupOffsets({
    groupId: "offsets-live-group",
    topics: [{ name: "offsets-live", partitionOffsets: [{ partition: 0, offset: 0n }] }],
  });
  await assert.rejects(altering, (error: unknown) => {
    assert.ok(error instanceof MultipleErrors);
    assert.ok(errorCodesOf(error).includes(ErrorCode.UNKNOWN_MEMBER_ID), JSON.stringify(errorCodesOf(error)));
    return true;
  });
  const deleting = admin.deleteConsumerGroupOffsets({
    groupId: "offsets-live-group",
    topics: [{ name: "offsets-live", partitionIndexes: [0] }],
  });
  await assert.rejects(deleting, (error: unknown) => {
    assert.ok(errorCodesOf(error).includes(ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC), JSON.stringify(errorCodesOf(error)));
    return true;
  });

  await consumer.disconnect();
  await admin.deleteConsumerGroupOffsets({
    groupId: "offsets-live-group",
    topics: [{ name: "offsets-live", partitionIndexes: [0] }],
  });
  const [group] = await admin.listConsumerGroupOffsets({ groups: ["offsets-live-group"] });
  assert.deepEqual(group?.topics, []);
  // The group is still there, empty, and an admin commit is accepted again.
  await admin.alterConsumerGroupOffsets({
    groupId: "offsets-live-group",
    topics: [{ name: "offsets-live", partitionOffsets: [{ partition: 0, offset: 1n }] }],
  });
  const [after] = await admin.listConsumerGroupOffsets({ groups: ["offsets-live-group"] });
  assert.deepEqual(after?.topics, [
    {
      name: "offsets-live",
      partitions: [{ partitionIndex: 0, committedOffset: 1n, committedLeaderEpoch: -1, metadata: "" }],
    },
  ]);
});
