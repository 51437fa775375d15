// A member's life against the embedded broker: two members splitting a topic, the first told to rejoin by its
// heartbeat when the second arrives, a coordinator that is briefly unavailable, and a member removed behind its back
// (its session expired) joining again as a new one.

import assert from "node:assert/strict";
import { test } from "node:test";
import type { TopicPartition } from "../../../../src/kafka/client/index.js";
import { GroupMember } from "../../../../src/kafka/client/group/member.js";
import { resolveGroupOptions } from "../../../../src/kafka/client/group/options.js";
import { brokerForTest, eventually } from "../../../helpers/broker.js";
import { clientFor } from "../support.js";

const JOIN_GROUP = 11;
const COORDINATOR_NOT_AVAILABLE = 15;

test("a second member makes the first rejoin; the partitions are split; leaving hands them back", async (t) => {
  const broker = await brokerForTest(t);
  const client = clientFor(t, broker);
  await client.admin.createTopics([{ name: "split", partitions: 4 }]);
  const options = resolveGroupOptions({
    groupId: "splitters",
    topics: ["split"],
    sessionTimeoutMs: 3_000,
    heartbeatIntervalMs: 100,
    rebalanceTimeoutMs: 3_000,
  });
  const reasons: string[] = [];
  const failures: string[] = [];
  const listener = (name: string) => ({
    rejoinNeeded: (reason: string) => reasons.push(`${name}: ${reason}`),
    failed: (error: Error) => failures.push(`${name}: ${error.message}`),
  });
  const first = new GroupMember(client.cluster, options, "group:1", listener("first"));
  const second = new GroupMember(client.cluster, options, "group:2", listener("second"));
  // The coordinator is not available for the first two joins: the member looks for it again and gets in.
  broker.injectFault({ apiKey: JOIN_GROUP, action: { kind: "error", errorCode: COORDINATOR_NOT_AVAILABLE }, times: 2 });
  assert.equal((await first.join()).length, 4);
  const secondJoin = second.join();
  assert.ok(await eventually(() => reasons.includes("first: REBALANCE_IN_PROGRESS")), reasons.join("; "));
  const [firstShare, secondShare] = await Promise.all([first.join(), secondJoin]);
  const names = (partitions: TopicPartition[]): number[] => partitions.map((entry) => entry.partition);
  assert.equal(firstShare.length, 2);
  assert.deepEqual([...names(firstShare), ...names(secondShare)].sort(), [0, 1, 2, 3]);
  assert.equal(first.generationId, second.generationId);
  assert.equal(first.protocolName, "roundrobin");

  await second.leave();
  assert.ok(await eventually(() => reasons.length === 2), reasons.join("; "));
  assert.equal((await first.join()).length, 4, "the partitions of the member that left came back");
  assert.deepEqual(failures, []);
  await first.leave();
});

test("a member whose session expired joins again as a new member", async (t) => {
  const broker = await brokerForTest(t);
  const client = clientFor(t, broker);
  await client.admin.createTopics([{ name: "expired", partitions: 1 }]);
  const options = resolveGroupOptions({
    groupId: "sleepers",
    topics: ["expired"],
    sessionTimeoutMs: 1_000,
    heartbeatIntervalMs: 100,
    rebalanceTimeoutMs: 2_000,
  });
  const reasons: string[] = [];
  const member = new GroupMember(client.cluster, options, "group:1", {
    rejoinNeeded: (reason) => reasons.push(reason),
    failed: () => undefined,
  });
  await member.join();
  const firstId = member.memberId;
  // No heartbeats for longer than the session: the coordinator removes the member.
  member.stopHeartbeats();
  assert.ok(
    await eventually(async () => (await client.admin.describeGroups(["sleepers"]))[0]!.members.length === 0, 10_000),
  );
  assert.equal((await member.join()).length, 1);
  assert.notEqual(member.memberId, firstId, "the coordinator gave it a new id");
  await member.leave();
});
