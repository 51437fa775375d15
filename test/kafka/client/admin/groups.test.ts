// Consumer groups seen through Sluice's client: a live kafkajs group described with its members' subscriptions and
// assignments, offsets read, reset from outside and deleted, groups listed and deleted, at the newest versions and at
// the older single-group shapes of FindCoordinator and OffsetFetch.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { KafkaBrokerError, type SluiceKafkaClient } from "../../../../src/kafka/client/index.js";
import { ErrorCode } from "../../../../src/kafka/protocol/error-codes.js";
import { brokerForTest, eventually, kafkaFor } from "../../../helpers/broker.js";
import { clientFor } from "../support.js";

async function seed(client: SluiceKafkaClient, topic: string, partitions: number, perPartition: number): Promise<void> {
  await client.admin.createTopics([{ name: topic, partitions }]);
  for (let partition = 0; partition < partitions; partition++) {
    await client.produce({
      topic,
      partition,
      records: Array.from({ length: perPartition }, (_, index) => ({ key: `k${index}`, value: `v${index}` })),
    });
  }
}

describe("groups", () => {
  test("a live kafkajs group: listed, described with subscriptions and assignments, not deletable", async (t) => {
    const broker = await brokerForTest(t);
    const client = clientFor(t, broker);
    await seed(client, "watched", 2, 3);
    const consumer = kafkaFor(broker).consumer({ groupId: "watchers", maxWaitTimeInMs: 50 });
    await consumer.connect();
    await consumer.subscribe({ topic: "watched", fromBeginning: true });
    let seen = 0;
    await consumer.run({ eachMessage: async () => void seen++ });
    assert.ok(await eventually(() => seen === 6), `consumed ${seen} of 6`);

    const listed = await client.admin.listGroups();
    assert.deepEqual(
      listed.map((group) => [group.groupId, group.protocolType, group.state]),
      [["watchers", "consumer", "Stable"]],
    );
    assert.deepEqual(await client.admin.listGroups({ states: ["Empty"] }), []);

    const [described] = await client.admin.describeGroups(["watchers"]);
    assert.equal(described!.error, null);
    assert.equal(described!.state, "Stable");
    assert.equal(described!.protocolType, "consumer");
    assert.equal(described!.members.length, 1);
    const [member] = described!.members;
    assert.deepEqual(member!.subscribedTopics, ["watched"]);
    assert.deepEqual(member!.assignment, [
      { topic: "watched", partition: 0 },
      { topic: "watched", partition: 1 },
    ]);
    assert.equal(member!.clientId, "sluice-test");

    const [refused] = await client.admin.deleteGroups(["watchers"]);
    assert.equal(refused!.error?.errorName, "NON_EMPTY_GROUP");
    await consumer.disconnect();
    assert.ok(await eventually(async () => (await client.admin.describeGroups(["watchers"]))[0]!.state === "Empty"));
    const offsets = await client.admin.fetchGroupOffsets("watchers");
    assert.deepEqual(
      offsets.map((entry) => [entry.topic, entry.partition, entry.offset]),
      [
        ["watched", 0, 3],
        ["watched", 1, 3],
      ],
    );
    const [deleted] = await client.admin.deleteGroups(["watchers"]);
    assert.equal(deleted!.error, null);
    assert.deepEqual(await client.admin.listGroups(), []);
  });

  for (const [label, caps] of [
    ["newest versions (FindCoordinator v4, OffsetFetch v8)", {}],
    ["single-group shapes (FindCoordinator v3, OffsetFetch v7, OffsetCommit v7)", { 10: 3, 9: 7, 8: 7 }],
    ["oldest shapes this client speaks (FindCoordinator v0, OffsetFetch v2, OffsetCommit v2)", { 10: 0, 9: 2, 8: 2 }],
  ] as const) {
    test(`offsets reset from outside the group, read back and deleted: ${label}`, async (t) => {
      const broker = await brokerForTest(t);
      const client = clientFor(t, broker, { versionCaps: caps });
      await seed(client, "reset-a", 2, 4);
      await seed(client, "reset-b", 1, 2);
      await client.admin.commitGroupOffsets("resetters", [
        { topic: "reset-a", partition: 0, offset: 1, metadata: "by admin" },
        { topic: "reset-a", partition: 1, offset: 4 },
        { topic: "reset-b", partition: 0, offset: 2 },
      ]);
      const all = await client.admin.fetchGroupOffsets("resetters");
      assert.deepEqual(
        all.map((entry) => [entry.topic, entry.partition, entry.offset]),
        [
          ["reset-a", 0, 1],
          ["reset-a", 1, 4],
          ["reset-b", 0, 2],
        ],
      );
      assert.equal(all[0]!.metadata, "by admin");
      const some = await client.admin.fetchGroupOffsets("resetters", [{ topic: "reset-a", partitions: [1] }]);
      assert.deepEqual(
        some.map((entry) => [entry.topic, entry.partition, entry.offset]),
        [["reset-a", 1, 4]],
      );
      await client.admin.deleteGroupOffsets("resetters", [{ topic: "reset-a", partition: 0 }]);
      const afterDelete = await client.admin.fetchGroupOffsets("resetters", [{ topic: "reset-a" }]);
      assert.deepEqual(
        afterDelete.map((entry) => [entry.partition, entry.offset]),
        [
          [0, -1],
          [1, 4],
        ],
      );
    });
  }

  test("a coordinator that moved is found again and the request retried", async (t) => {
    const broker = await brokerForTest(t);
    const client = clientFor(t, broker);
    await seed(client, "moved", 1, 1);
    await client.admin.commitGroupOffsets("movers", [{ topic: "moved", partition: 0, offset: 1 }]);
    let lookups = 0;
    broker.injectFault({ apiKey: 10, action: { kind: "delay", delayMs: 0 }, match: () => (lookups++, false) });
    broker.injectFault({ apiKey: 9, action: { kind: "error", errorCode: ErrorCode.NOT_COORDINATOR }, times: 1 });
    const offsets = await client.admin.fetchGroupOffsets("movers");
    assert.equal(offsets[0]!.offset, 1);
    assert.equal(lookups, 1, "the coordinator was looked up again after NOT_COORDINATOR");
  });

  test("describing a group that does not exist reports it dead; deleting it reports GROUP_ID_NOT_FOUND", async (t) => {
    const broker = await brokerForTest(t);
    const client = clientFor(t, broker);
    const [described] = await client.admin.describeGroups(["nobody"]);
    assert.equal(described!.state, "Dead");
    assert.deepEqual(described!.members, []);
    const [deleted] = await client.admin.deleteGroups(["nobody"]);
    assert.ok(deleted!.error instanceof KafkaBrokerError);
    assert.equal(deleted!.error.errorName, "GROUP_ID_NOT_FOUND");
  });
});
