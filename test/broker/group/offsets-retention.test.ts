// Expiry of committed offsets (Kafka's offsets.retention.minutes, KIP-211) on a clock the test moves: offsets of
// simple consumers and of empty groups go a retention after the later of their commit and the group emptying,
// an active group keeps the offsets of topics it subscribes to, and expiry is persisted.

import assert from "node:assert/strict";
import { test } from "node:test";
import { ErrorCode } from "../../../src/kafka/protocol/error-codes.js";
import type { GroupCoordinator } from "../../../src/broker/group/coordinator.js";
import { assignment, harness, joinInput, temporaryDir, type Harness } from "./harness.js";

const RETENTION_MS = 60_000;
const CHECK_INTERVAL_MS = 1_000;
const HEARTBEAT_EVERY_MS = 5_000;

const retention = { config: { offsetsRetentionMs: RETENTION_MS, offsetsRetentionCheckIntervalMs: CHECK_INTERVAL_MS } };

function commit(
  coordinator: GroupCoordinator,
  groupId: string,
  offsets: Array<{ topic: string; partition: number; offset: number }>,
  member: { generationId: number; memberId: string } = { generationId: -1, memberId: "" },
): void {
  const results = coordinator.commitOffsets({
    groupId,
    ...member,
    groupInstanceId: null,
    offsets: offsets.map((entry) => ({ ...entry, leaderEpoch: -1, metadata: null })),
  });
  for (const result of results) assert.equal(result.errorCode, ErrorCode.NONE);
}

function committedTopics(coordinator: GroupCoordinator, groupId: string): string[] {
  return coordinator.fetchOffsets(groupId, null).topics.map((topic) => topic.topic);
}

/** Completes a lone member's join (subscribed to "orders") with its sync, and returns who it is. */
async function stableMember(h: Harness, join: ReturnType<GroupCoordinator["joinGroup"]>) {
  const joined = await join;
  const member = { groupId: "app", generationId: joined.generationId, memberId: joined.memberId };
  const synced = await h.coordinator.syncGroup({
    ...member,
    groupInstanceId: null,
    protocolType: null,
    protocolName: null,
    assignments: [{ memberId: joined.memberId, assignment: assignment([{ topic: "orders", partitions: [0] }]) }],
  });
  assert.equal(synced.errorCode, ErrorCode.NONE);
  return member;
}

/** Moves the clock in steps, heartbeating the member so that its session stays alive. */
function advanceAlive(h: Harness, ms: number, member: { groupId: string; generationId: number; memberId: string }) {
  for (let passed = 0; passed < ms; passed += HEARTBEAT_EVERY_MS) {
    h.advance(Math.min(HEARTBEAT_EVERY_MS, ms - passed));
    assert.equal(h.coordinator.heartbeat({ ...member, groupInstanceId: null }), ErrorCode.NONE);
  }
}

test("a simple consumer's offsets expire a retention after the commit, and its group with them", (t) => {
  const h = harness(t, retention);
  commit(h.coordinator, "standalone", [{ topic: "orders", partition: 0, offset: 5 }]);
  h.advance(RETENTION_MS / 2);
  commit(h.coordinator, "standalone", [{ topic: "orders", partition: 1, offset: 9 }]);
  h.advance(RETENTION_MS / 2);
  // Partition 0 is a retention old; partition 1, committed later, is not.
  const left = h.coordinator.fetchOffsets("standalone", null).topics[0]!.partitions.map((p) => p.partition);
  assert.deepEqual(left, [1]);
  assert.equal(h.coordinator.groupState("standalone"), "Empty");
  h.advance(RETENTION_MS / 2);
  assert.deepEqual(committedTopics(h.coordinator, "standalone"), []);
  assert.equal(h.coordinator.groupState("standalone"), "Dead", "the group went with its last offset");
});

test("an active group keeps offsets of topics it subscribes to; after it empties they last one retention", async (t) => {
  const h = harness(t, retention);
  const member = await stableMember(h, h.coordinator.joinGroup(joinInput("app")));
  commit(
    h.coordinator,
    "app",
    [
      { topic: "orders", partition: 0, offset: 3 },
      { topic: "payments", partition: 0, offset: 4 },
    ],
    member,
  );

  advanceAlive(h, 2 * RETENTION_MS, member);
  assert.deepEqual(committedTopics(h.coordinator, "app"), ["orders"], "payments is not subscribed, so it expired");
  assert.equal(h.coordinator.groupState("app"), "Stable");

  h.coordinator.leaveGroup("app", [{ memberId: member.memberId, groupInstanceId: null }]);
  assert.equal(h.coordinator.groupState("app"), "Empty");
  // The commit is two retentions old, but the clock for an empty group starts when it emptied.
  h.advance(RETENTION_MS - CHECK_INTERVAL_MS);
  assert.deepEqual(committedTopics(h.coordinator, "app"), ["orders"]);
  h.advance(2 * CHECK_INTERVAL_MS);
  assert.deepEqual(committedTopics(h.coordinator, "app"), []);
  assert.equal(h.coordinator.groupState("app"), "Dead");
});

test("expired offsets stay gone after a restart; offsets loaded from disk get a full retention", async (t) => {
  const dataDir = temporaryDir(t);
  const first = harness(t, { ...retention, dataDir });
  await first.coordinator.load();
  commit(first.coordinator, "old", [{ topic: "orders", partition: 0, offset: 1 }]);
  first.advance(RETENTION_MS / 2);
  commit(first.coordinator, "recent", [{ topic: "orders", partition: 0, offset: 2 }]);
  first.advance(RETENTION_MS / 2 + CHECK_INTERVAL_MS);
  assert.deepEqual(committedTopics(first.coordinator, "old"), []);
  await first.coordinator.sync();
  await first.coordinator.close();

  const second = harness(t, { ...retention, dataDir, startMs: first.nowMs() });
  await second.coordinator.load();
  assert.deepEqual(committedTopics(second.coordinator, "old"), []);
  assert.equal(second.coordinator.groupState("old"), "Dead");
  // "recent" was committed half a retention ago, but the restart starts its group's retention again.
  second.advance(RETENTION_MS - CHECK_INTERVAL_MS);
  assert.deepEqual(committedTopics(second.coordinator, "recent"), ["orders"]);
  second.advance(2 * CHECK_INTERVAL_MS);
  assert.deepEqual(committedTopics(second.coordinator, "recent"), []);
});

test("the default retention is Kafka's: seven days", (t) => {
  const h = harness(t);
  assert.equal(h.config.offsetsRetentionMs, 7 * 24 * 60 * 60 * 1000);
  commit(h.coordinator, "g", [{ topic: "orders", partition: 0, offset: 1 }]);
  h.advance(h.config.offsetsRetentionMs - 1);
  assert.equal(h.coordinator.expireOffsets(), 0);
  h.advance(1);
  assert.equal(h.coordinator.expireOffsets(), 1);
  assert.deepEqual(committedTopics(h.coordinator, "g"), []);
});

test("a group rebalancing after a long empty spell keeps offsets older than the retention", async (t) => {
  const h = harness(t, { config: { ...retention.config, groupInitialRebalanceDelayMs: 3_000 } });
  const first = h.coordinator.joinGroup(joinInput("app"));
  h.advance(3_000);
  const member = await stableMember(h, first);
  commit(h.coordinator, "app", [{ topic: "orders", partition: 0, offset: 8 }], member);
  advanceAlive(h, RETENTION_MS / 5, member);
  h.coordinator.leaveGroup("app", [{ memberId: member.memberId, groupInstanceId: null }]);
  // Empty for 0.9 of the retention; the commit is 1.1 retentions old.
  h.advance((RETENTION_MS * 9) / 10);
  assert.deepEqual(committedTopics(h.coordinator, "app"), ["orders"]);

  const rejoin = h.coordinator.joinGroup(joinInput("app"));
  h.advance(2_000);
  assert.equal(h.coordinator.groupState("app"), "PreparingRebalance");
  assert.deepEqual(committedTopics(h.coordinator, "app"), ["orders"], "no subscriptions are known mid-rebalance");
  h.advance(1_000);
  assert.equal((await rejoin).errorCode, ErrorCode.NONE);
  assert.deepEqual(committedTopics(h.coordinator, "app"), ["orders"]);
});

test("an empty group that never committed is forgotten a retention after it emptied", async (t) => {
  const h = harness(t, retention);
  const joined = await h.coordinator.joinGroup(joinInput("passing"));
  h.coordinator.leaveGroup("passing", [{ memberId: joined.memberId, groupInstanceId: null }]);
  assert.equal(h.coordinator.groupState("passing"), "Empty");
  h.advance(RETENTION_MS - CHECK_INTERVAL_MS);
  assert.equal(h.coordinator.groupState("passing"), "Empty");
  h.advance(2 * CHECK_INTERVAL_MS);
  assert.equal(h.coordinator.groupState("passing"), "Dead");
});
