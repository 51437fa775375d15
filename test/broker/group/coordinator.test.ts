// The group coordinator's state machine, driven directly on a clock the test moves: joins, the leader's sync,
// leaves, session and rebalance timeouts, static membership, protocol selection and the errors clients react to.

import assert from "node:assert/strict";
import { test, type TestContext } from "node:test";
import { ErrorCode } from "../../../src/kafka/protocol/error-codes.js";
import type { JoinGroupResult } from "../../../src/broker/group/types.js";
import {
  REBALANCE_TIMEOUT_MS,
  SESSION_TIMEOUT_MS,
  assignment,
  harness,
  isSettled,
  joinInput,
  protocols,
  type Harness,
} from "./harness.js";

const INITIAL_DELAY_MS = 3000;

/** Joins `count` members within the initial rebalance delay, so they land in generation 1 together, and syncs them. */
async function stableGroup(
  h: Harness,
  groupId: string,
  count: number,
  overrides: (i: number) => Partial<Parameters<typeof joinInput>[1]> = () => ({}),
): Promise<JoinGroupResult[]> {
  const joins = Array.from({ length: count }, (_, i) =>
    h.coordinator.joinGroup(joinInput(groupId, { clientId: `c${i}`, ...overrides(i) })),
  );
  h.advance(INITIAL_DELAY_MS);
  const joined = await Promise.all(joins);
  const leader = joined.find((result) => result.memberId === result.leaderId)!;
  const syncs = joined.map((result) =>
    h.coordinator.syncGroup({
      groupId,
      generationId: result.generationId,
      memberId: result.memberId,
      groupInstanceId: null,
      protocolType: null,
      protocolName: null,
      assignments:
        result === leader
          ? joined.map((each, i) => ({
              memberId: each.memberId,
              assignment: assignment([{ topic: "orders", partitions: [i] }]),
            }))
          : [],
    }),
  );
  const synced = await Promise.all(syncs);
  for (const result of synced) assert.equal(result.errorCode, ErrorCode.NONE);
  assert.equal(h.coordinator.groupState(groupId), "Stable");
  return joined;
}

function withDelay(t: TestContext): Harness {
  return harness(t, { config: { groupInitialRebalanceDelayMs: INITIAL_DELAY_MS } });
}

test("three members join one generation: one leader gets everyone's metadata, followers wait for its sync", async (t) => {
  const h = withDelay(t);
  const { coordinator } = h;
  const joins = [0, 1, 2].map((i) =>
    coordinator.joinGroup(joinInput("g", { clientId: `c${i}`, protocols: protocols(["range"], [`topic-${i}`]) })),
  );
  // The initial rebalance delay holds the join phase open for members that start together.
  assert.equal(await isSettled(joins[0]!), false);
  h.advance(INITIAL_DELAY_MS);
  const joined = await Promise.all(joins);

  const generations = new Set(joined.map((result) => result.generationId));
  assert.deepEqual([...generations], [1]);
  const leaders = new Set(joined.map((result) => result.leaderId));
  assert.equal(leaders.size, 1);
  const leader = joined.find((result) => result.memberId === result.leaderId);
  assert.ok(leader, "one member is told it is the leader");
  assert.equal(new Set(joined.map((result) => result.memberId)).size, 3);
  for (const result of joined) {
    assert.equal(result.errorCode, ErrorCode.NONE);
    assert.equal(result.protocolName, "range");
    assert.match(result.memberId, /^c\d-[0-9a-f-]{36}$/);
    assert.equal(result.members.length, result === leader ? 3 : 0);
  }
  const metadataByMember = new Map(leader.members.map((member) => [member.memberId, member.metadata]));
  joined.forEach((result, i) => {
    assert.deepEqual(metadataByMember.get(result.memberId), protocols(["range"], [`topic-${i}`])[0]!.metadata);
  });
  assert.equal(coordinator.groupState("g"), "CompletingRebalance");

  const followers = joined.filter((result) => result !== leader);
  const followerSyncs = followers.map((follower) =>
    coordinator.syncGroup({
      groupId: "g",
      generationId: 1,
      memberId: follower.memberId,
      groupInstanceId: null,
      protocolType: null,
      protocolName: null,
      assignments: [],
    }),
  );
  assert.equal(await isSettled(followerSyncs[0]!), false, "a follower's SyncGroup waits for the leader's");
  const assignments = joined.map((result, i) => ({
    memberId: result.memberId,
    assignment: assignment([{ topic: "orders", partitions: [i] }]),
  }));
  const leaderSync = await coordinator.syncGroup({
    groupId: "g",
    generationId: 1,
    memberId: leader.memberId,
    groupInstanceId: null,
    protocolType: "consumer",
    protocolName: "range",
    assignments,
  });
  const followerResults = await Promise.all(followerSyncs);
  assert.equal(leaderSync.errorCode, ErrorCode.NONE);
  assert.deepEqual(leaderSync.assignment, assignments.find((a) => a.memberId === leader.memberId)!.assignment);
  followers.forEach((follower, i) => {
    assert.equal(followerResults[i]!.errorCode, ErrorCode.NONE);
    assert.deepEqual(
      followerResults[i]!.assignment,
      assignments.find((a) => a.memberId === follower.memberId)!.assignment,
    );
  });
  assert.equal(coordinator.groupState("g"), "Stable");

  const description = coordinator.describeGroup("g");
  assert.equal(description.members.length, 3);
  assert.equal(description.protocolName, "range");
  assert.equal(description.leaderId, leader.memberId);
});

test("a member that leaves starts a rebalance; the rest rejoin into the next generation", async (t) => {
  const h = withDelay(t);
  const { coordinator } = h;
  const [a, b, c] = await stableGroup(h, "g", 3);
  const left = coordinator.leaveGroup("g", [{ memberId: c!.memberId, groupInstanceId: null }]);
  assert.deepEqual(
    left.members.map((member) => member.errorCode),
    [ErrorCode.NONE],
  );
  assert.equal(coordinator.groupState("g"), "PreparingRebalance");

  const beat = (member: JoinGroupResult): number =>
    coordinator.heartbeat({ groupId: "g", generationId: 1, memberId: member.memberId, groupInstanceId: null });
  assert.equal(beat(a!), ErrorCode.REBALANCE_IN_PROGRESS);
  assert.equal(beat(c!), ErrorCode.UNKNOWN_MEMBER_ID);

  const rejoinA = coordinator.joinGroup(joinInput("g", { memberId: a!.memberId }));
  assert.equal(await isSettled(rejoinA), false, "the join phase waits for b as well");
  const rejoinB = coordinator.joinGroup(joinInput("g", { memberId: b!.memberId }));
  const [resultA, resultB] = await Promise.all([rejoinA, rejoinB]);
  assert.equal(resultA.generationId, 2);
  assert.equal(resultB.generationId, 2);
  const leader = [resultA, resultB].find((result) => result.memberId === result.leaderId)!;
  assert.deepEqual(leader.members.map((member) => member.memberId).sort(), [a!.memberId, b!.memberId].sort());
  assert.equal(coordinator.groupState("g"), "CompletingRebalance");
});

test("a member whose session expires is removed and the others rebalance without it", async (t) => {
  const h = withDelay(t);
  const { coordinator } = h;
  const [a, b] = await stableGroup(h, "g", 2);
  const beatA = (generationId: number): number =>
    coordinator.heartbeat({ groupId: "g", generationId, memberId: a!.memberId, groupInstanceId: null });

  // a heartbeats every few seconds; b goes silent.
  for (let elapsed = 0; elapsed < SESSION_TIMEOUT_MS - 1000; elapsed += 3000) {
    h.advance(3000);
    assert.equal(beatA(1), ErrorCode.NONE);
  }
  assert.equal(coordinator.groupState("g"), "Stable");
  h.advance(1500);
  assert.equal(coordinator.groupState("g"), "PreparingRebalance");
  assert.equal(beatA(1), ErrorCode.REBALANCE_IN_PROGRESS);
  assert.equal(
    coordinator.heartbeat({ groupId: "g", generationId: 1, memberId: b!.memberId, groupInstanceId: null }),
    ErrorCode.UNKNOWN_MEMBER_ID,
  );
  const rejoined = await coordinator.joinGroup(joinInput("g", { memberId: a!.memberId }));
  assert.equal(rejoined.errorCode, ErrorCode.NONE);
  assert.equal(rejoined.generationId, 2);
  assert.equal(rejoined.leaderId, a!.memberId);
  assert.deepEqual(
    rejoined.members.map((member) => member.memberId),
    [a!.memberId],
  );
});

test("members that do not rejoin within the rebalance timeout are dropped from the generation", async (t) => {
  const h = withDelay(t);
  const { coordinator } = h;
  const [a, b] = await stableGroup(h, "g", 2);
  const rejoinA = coordinator.joinGroup(joinInput("g", { memberId: a!.memberId }));
  // b keeps heartbeating (so its session never expires) but never rejoins.
  for (let elapsed = 0; elapsed < REBALANCE_TIMEOUT_MS - 3000; elapsed += 3000) {
    h.advance(3000);
    assert.equal(
      coordinator.heartbeat({ groupId: "g", generationId: 1, memberId: b!.memberId, groupInstanceId: null }),
      ErrorCode.REBALANCE_IN_PROGRESS,
    );
    assert.equal(await isSettled(rejoinA), false);
  }
  h.advance(3000);
  const result = await rejoinA;
  assert.equal(result.generationId, 2);
  assert.deepEqual(
    result.members.map((member) => member.memberId),
    [a!.memberId],
  );
  assert.equal(
    coordinator.heartbeat({ groupId: "g", generationId: 1, memberId: b!.memberId, groupInstanceId: null }),
    ErrorCode.UNKNOWN_MEMBER_ID,
  );
});

test("JoinGroup v4+: a first join gets MEMBER_ID_REQUIRED with an id, and joins with it", async (t) => {
  const h = harness(t);
  const { coordinator } = h;
  const first = await coordinator.joinGroup(joinInput("g", { clientId: "app", requireKnownMemberId: true }));
  assert.equal(first.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
  assert.match(first.memberId, /^app-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  assert.equal(coordinator.describeGroup("g").members.length, 0, "a pending member is not yet a member");

  const second = await coordinator.joinGroup(
    joinInput("g", { clientId: "app", memberId: first.memberId, requireKnownMemberId: true }),
  );
  assert.equal(second.errorCode, ErrorCode.NONE);
  assert.equal(second.memberId, first.memberId);
  assert.equal(second.leaderId, first.memberId);
  assert.equal(second.generationId, 1);

  // A pending member that never comes back is forgotten after its session timeout.
  const stray = await coordinator.joinGroup(joinInput("g", { requireKnownMemberId: true }));
  assert.equal(stray.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
  h.advance(SESSION_TIMEOUT_MS + 1);
  const late = await coordinator.joinGroup(joinInput("g", { memberId: stray.memberId, requireKnownMemberId: true }));
  assert.equal(late.errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
});

test("the protocol every member supports wins by votes; a member with none in common is refused", async (t) => {
  const h = withDelay(t);
  const { coordinator } = h;
  // The leader (the first to join) prefers roundrobin, but two of three members vote for range.
  const offers = [
    ["roundrobin", "range"],
    ["range", "roundrobin", "sticky"],
    ["range", "roundrobin"],
  ];
  const joins = offers.map((names, i) =>
    coordinator.joinGroup(joinInput("votes", { clientId: `c${i}`, protocols: protocols(names) })),
  );
  h.advance(INITIAL_DELAY_MS);
  for (const result of await Promise.all(joins)) assert.equal(result.protocolName, "range");

  // Only roundrobin is common to all three here, though two members prefer range.
  const narrowed = [["range", "roundrobin"], ["range", "roundrobin"], ["roundrobin"]].map((names, i) =>
    coordinator.joinGroup(joinInput("common", { clientId: `c${i}`, protocols: protocols(names) })),
  );
  h.advance(INITIAL_DELAY_MS);
  for (const result of await Promise.all(narrowed)) assert.equal(result.protocolName, "roundrobin");

  const outsider = await coordinator.joinGroup(joinInput("common", { protocols: protocols(["cooperative-sticky"]) }));
  assert.equal(outsider.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
  const otherType = await coordinator.joinGroup(joinInput("common", { protocolType: "connect" }));
  assert.equal(otherType.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
  const noProtocols = await coordinator.joinGroup(joinInput("fresh", { protocols: [] }));
  assert.equal(noProtocols.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
  assert.equal(coordinator.describeGroup("common").members.length, 3);
});

test("an old generation is ILLEGAL_GENERATION for heartbeat, sync and commit", async (t) => {
  const h = withDelay(t);
  const { coordinator } = h;
  const [a] = await stableGroup(h, "g", 1);
  const memberId = a!.memberId;
  assert.equal(coordinator.heartbeat({ groupId: "g", generationId: 0, memberId, groupInstanceId: null }), 22);
  const sync = await coordinator.syncGroup({
    groupId: "g",
    generationId: 7,
    memberId,
    groupInstanceId: null,
    protocolType: null,
    protocolName: null,
    assignments: [],
  });
  assert.equal(sync.errorCode, ErrorCode.ILLEGAL_GENERATION);
  const commit = coordinator.commitOffsets({
    groupId: "g",
    generationId: 5,
    memberId,
    groupInstanceId: null,
    offsets: [{ topic: "orders", partition: 0, offset: 10, leaderEpoch: -1, metadata: null }],
  });
  assert.deepEqual(
    commit.map((result) => result.errorCode),
    [ErrorCode.ILLEGAL_GENERATION],
  );
  assert.equal(coordinator.heartbeat({ groupId: "g", generationId: 1, memberId, groupInstanceId: null }), 0);
  assert.equal(
    coordinator.heartbeat({ groupId: "g", generationId: 1, memberId: "someone-else", groupInstanceId: null }),
    ErrorCode.UNKNOWN_MEMBER_ID,
  );
  assert.equal(
    coordinator.heartbeat({ groupId: "nope", generationId: 1, memberId, groupInstanceId: null }),
    ErrorCode.UNKNOWN_MEMBER_ID,
  );
});

test("a static member that restarts with unchanged metadata takes its place without a rebalance", async (t) => {
  const h = withDelay(t);
  const { coordinator } = h;
  const joined = await stableGroup(h, "g", 2, (i) => ({ groupInstanceId: `instance-${i}` }));
  const old = joined[1]!;
  const ownAssignment = coordinator.describeGroup("g").members.find((m) => m.memberId === old.memberId)!.assignment;

  const rejoined = await coordinator.joinGroup(joinInput("g", { clientId: "c1", groupInstanceId: "instance-1" }));
  assert.equal(rejoined.errorCode, ErrorCode.NONE);
  assert.notEqual(rejoined.memberId, old.memberId);
  assert.equal(rejoined.generationId, 1);
  assert.deepEqual(rejoined.members, []);
  assert.equal(coordinator.groupState("g"), "Stable", "no rebalance");

  assert.equal(
    coordinator.heartbeat({ groupId: "g", generationId: 1, memberId: old.memberId, groupInstanceId: "instance-1" }),
    ErrorCode.FENCED_INSTANCE_ID,
  );
  const sync = await coordinator.syncGroup({
    groupId: "g",
    generationId: 1,
    memberId: rejoined.memberId,
    groupInstanceId: "instance-1",
    protocolType: null,
    protocolName: null,
    assignments: [],
  });
  assert.equal(sync.errorCode, ErrorCode.NONE);
  assert.deepEqual(sync.assignment, ownAssignment);

  // The same instance rejoining with a different subscription does rebalance the group.
  const changed = coordinator.joinGroup(
    joinInput("g", { clientId: "c1", groupInstanceId: "instance-1", protocols: protocols(["range"], ["payments"]) }),
  );
  assert.equal(coordinator.groupState("g"), "PreparingRebalance");
  const leader = joined[0]!;
  const leaderRejoin = coordinator.joinGroup(
    joinInput("g", { memberId: leader.memberId, clientId: "c0", groupInstanceId: "instance-0" }),
  );
  const [changedResult, leaderResult] = await Promise.all([changed, leaderRejoin]);
  assert.equal(changedResult.generationId, 2);
  assert.equal(leaderResult.generationId, 2);
  assert.equal(leaderResult.members.length, 2);
});

test("a static leader that restarts is answered as a follower so it does not reassign a stable group", async (t) => {
  const h = withDelay(t);
  const { coordinator } = h;
  const joined = await stableGroup(h, "g", 2, (i) => ({ groupInstanceId: `instance-${i}` }));
  const oldLeader = joined.find((result) => result.memberId === result.leaderId)!;
  const index = joined.indexOf(oldLeader);
  const rejoined = await coordinator.joinGroup(
    joinInput("g", { clientId: `c${index}`, groupInstanceId: `instance-${index}` }),
  );
  assert.equal(rejoined.errorCode, ErrorCode.NONE);
  assert.equal(rejoined.leaderId, oldLeader.memberId);
  assert.notEqual(rejoined.memberId, rejoined.leaderId);
  assert.equal(coordinator.groupState("g"), "Stable");
  assert.equal(coordinator.describeGroup("g").leaderId, rejoined.memberId, "leadership passes to the new id");
});

test("JoinGroup checks the session timeout bounds, the group id and the group size limit", async (t) => {
  const h = harness(t, { limits: { groupMaxSize: 2 } });
  const { coordinator } = h;
  const tooShort = await coordinator.joinGroup(joinInput("g", { sessionTimeoutMs: 999 }));
  assert.equal(tooShort.errorCode, ErrorCode.INVALID_SESSION_TIMEOUT);
  const tooLong = await coordinator.joinGroup(joinInput("g", { sessionTimeoutMs: 60_001 }));
  assert.equal(tooLong.errorCode, ErrorCode.INVALID_SESSION_TIMEOUT);
  const noGroup = await coordinator.joinGroup(joinInput(""));
  assert.equal(noGroup.errorCode, ErrorCode.INVALID_GROUP_ID);
  const unknownMember = await coordinator.joinGroup(joinInput("g", { memberId: "made-up" }));
  assert.equal(unknownMember.errorCode, ErrorCode.UNKNOWN_MEMBER_ID);

  const first = await coordinator.joinGroup(joinInput("g", { requireKnownMemberId: true }));
  const second = await coordinator.joinGroup(joinInput("g", { requireKnownMemberId: true }));
  assert.equal(first.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
  assert.equal(second.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
  const third = await coordinator.joinGroup(joinInput("g", { requireKnownMemberId: true }));
  assert.equal(third.errorCode, ErrorCode.GROUP_MAX_SIZE_REACHED);
  // Members already admitted still join; the join phase waits for the pending one to come back.
  const admitted = coordinator.joinGroup(joinInput("g", { memberId: first.memberId }));
  assert.equal(await isSettled(admitted), false);
  const secondJoin = await coordinator.joinGroup(joinInput("g", { memberId: second.memberId }));
  const firstJoin = await admitted;
  assert.equal(firstJoin.errorCode, ErrorCode.NONE);
  assert.equal(secondJoin.errorCode, ErrorCode.NONE);
  assert.equal(firstJoin.generationId, 1);
  assert.equal(coordinator.describeGroup("g").members.length, 2);
});

test("commits: simple consumers on an empty group, members by generation, nothing during the sync phase", async (t) => {
  const h = withDelay(t);
  const { coordinator } = h;
  const offset = (partition: number, value: number, topic = "orders") => ({
    topic,
    partition,
    offset: value,
    leaderEpoch: 3,
    metadata: "m",
  });
  const simple = coordinator.commitOffsets({
    groupId: "simple",
    generationId: -1,
    memberId: "",
    groupInstanceId: null,
    offsets: [offset(0, 5), offset(9, 1), offset(0, 1, "missing")],
  });
  assert.deepEqual(
    simple.map((result) => result.errorCode),
    [ErrorCode.NONE, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
  );
  const fetched = coordinator.fetchOffsets("simple", [{ topic: "orders", partitions: [0, 1] }]);
  assert.deepEqual(fetched.topics[0]!.partitions, [
    { partition: 0, offset: 5, leaderEpoch: 3, metadata: "m", errorCode: 0 },
    { partition: 1, offset: -1, leaderEpoch: -1, metadata: "", errorCode: 0 },
  ]);
  const everything = coordinator.fetchOffsets("simple", null);
  assert.deepEqual(
    everything.topics.map((topic) => [topic.topic, topic.partitions.map((p) => p.offset)]),
    [["orders", [5]]],
  );

  const tooLarge = coordinator.commitOffsets({
    groupId: "simple",
    generationId: -1,
    memberId: "",
    groupInstanceId: null,
    offsets: [{ ...offset(1, 1), metadata: "x".repeat(coordinator.limits.offsetMetadataBytesMax + 1) }],
  });
  assert.deepEqual(
    tooLarge.map((result) => result.errorCode),
    [ErrorCode.OFFSET_METADATA_TOO_LARGE],
  );

  const joins = [0, 1].map((i) => coordinator.joinGroup(joinInput("g", { clientId: `c${i}` })));
  h.advance(INITIAL_DELAY_MS);
  const [a] = await Promise.all(joins);
  const commitAsA = () =>
    coordinator.commitOffsets({
      groupId: "g",
      generationId: a!.generationId,
      memberId: a!.memberId,
      groupInstanceId: null,
      offsets: [offset(0, 42)],
    })[0]!.errorCode;
  assert.equal(commitAsA(), ErrorCode.REBALANCE_IN_PROGRESS, "members have no assignment yet");
  const outsider = coordinator.commitOffsets({
    groupId: "g",
    generationId: -1,
    memberId: "",
    groupInstanceId: null,
    offsets: [offset(0, 1)],
  });
  assert.deepEqual(
    outsider.map((result) => result.errorCode),
    [ErrorCode.UNKNOWN_MEMBER_ID],
  );
  const noGroup = coordinator.commitOffsets({
    groupId: "gone",
    generationId: 4,
    memberId: "x",
    groupInstanceId: null,
    offsets: [offset(0, 1)],
  });
  assert.deepEqual(
    noGroup.map((result) => result.errorCode),
    [ErrorCode.ILLEGAL_GENERATION],
  );
});

test("DeleteGroups removes only empty groups; OffsetDelete refuses topics a live group subscribes to", async (t) => {
  const h = withDelay(t);
  const { coordinator } = h;
  const commit = (groupId: string, topic: string) =>
    coordinator.commitOffsets({
      groupId,
      generationId: -1,
      memberId: "",
      groupInstanceId: null,
      offsets: [{ topic, partition: 0, offset: 1, leaderEpoch: -1, metadata: null }],
    });
  commit("idle", "orders");
  commit("busy", "orders");
  commit("busy", "payments");
  await stableGroup(h, "busy", 2);

  const deleted = coordinator.deleteGroups(["idle", "busy", "unknown"]);
  assert.deepEqual(deleted, [
    { groupId: "idle", errorCode: ErrorCode.NONE },
    { groupId: "busy", errorCode: ErrorCode.NON_EMPTY_GROUP },
    { groupId: "unknown", errorCode: ErrorCode.GROUP_ID_NOT_FOUND },
  ]);
  assert.equal(coordinator.groupState("idle"), "Dead");
  assert.deepEqual(coordinator.fetchOffsets("idle", null).topics, []);

  const offsetDelete = coordinator.deleteOffsets("busy", [
    { topic: "orders", partitions: [0] },
    { topic: "payments", partitions: [0, 5] },
  ]);
  assert.equal(offsetDelete.errorCode, ErrorCode.NONE);
  assert.deepEqual(offsetDelete.topics, [
    { topic: "orders", partitions: [{ partition: 0, errorCode: ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC }] },
    {
      topic: "payments",
      partitions: [
        { partition: 0, errorCode: ErrorCode.NONE },
        { partition: 5, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION },
      ],
    },
  ]);
  const left = coordinator.fetchOffsets("busy", null);
  assert.deepEqual(
    left.topics.map((topic) => topic.topic),
    ["orders"],
  );
  assert.equal(coordinator.deleteOffsets("unknown", []).errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
});

test("ListGroups filters by state case-insensitively", async (t) => {
  const h = withDelay(t);
  const { coordinator } = h;
  coordinator.commitOffsets({
    groupId: "offsets-only",
    generationId: -1,
    memberId: "",
    groupInstanceId: null,
    offsets: [{ topic: "orders", partition: 0, offset: 1, leaderEpoch: -1, metadata: null }],
  });
  await stableGroup(h, "live", 1);
  const all = coordinator.listGroups().map((group) => [group.groupId, group.state, group.protocolType]);
  assert.deepEqual(all.sort(), [
    ["live", "Stable", "consumer"],
    ["offsets-only", "Empty", ""],
  ]);
  assert.deepEqual(
    coordinator.listGroups(["stable"]).map((group) => group.groupId),
    ["live"],
  );
  assert.deepEqual(
    coordinator.listGroups(["EMPTY", "dead"]).map((group) => group.groupId),
    ["offsets-only"],
  );
});

test("a closed coordinator answers waiting joins and refuses new requests", async (t) => {
  const h = withDelay(t);
  const { coordinator } = h;
  const waiting = coordinator.joinGroup(joinInput("g"));
  await coordinator.close();
  assert.equal((await waiting).errorCode, ErrorCode.COORDINATOR_NOT_AVAILABLE);
  assert.equal((await coordinator.joinGroup(joinInput("g"))).errorCode, ErrorCode.COORDINATOR_NOT_AVAILABLE);
});

test("a leader that never sends SyncGroup is removed after the rebalance timeout and the group rebalances", async (t) => {
  const h = withDelay(t);
  const { coordinator } = h;
  const joins = [0, 1].map((i) => coordinator.joinGroup(joinInput("g", { clientId: `c${i}` })));
  h.advance(INITIAL_DELAY_MS);
  const joined = await Promise.all(joins);
  const leader = joined.find((result) => result.memberId === result.leaderId)!;
  const follower = joined.find((result) => result !== leader)!;
  const followerSync = coordinator.syncGroup({
    groupId: "g",
    generationId: 1,
    memberId: follower.memberId,
    groupInstanceId: null,
    protocolType: null,
    protocolName: null,
    assignments: [],
  });
  // The leader stays alive by heartbeating, but never assigns.
  for (let elapsed = 0; elapsed < REBALANCE_TIMEOUT_MS - 3000; elapsed += 3000) {
    h.advance(3000);
    assert.equal(
      coordinator.heartbeat({ groupId: "g", generationId: 1, memberId: leader.memberId, groupInstanceId: null }),
      ErrorCode.NONE,
    );
  }
  assert.equal(await isSettled(followerSync), false);
  h.advance(3000);
  assert.equal((await followerSync).errorCode, ErrorCode.REBALANCE_IN_PROGRESS);
  assert.equal(
    coordinator.heartbeat({ groupId: "g", generationId: 1, memberId: leader.memberId, groupInstanceId: null }),
    ErrorCode.UNKNOWN_MEMBER_ID,
  );
  const rejoined = await coordinator.joinGroup(joinInput("g", { memberId: follower.memberId }));
  assert.equal(rejoined.generationId, 2);
  assert.equal(rejoined.leaderId, follower.memberId);
});

test("at the group limit an idle group without offsets makes room; groups with offsets are kept", async (t) => {
  const h = harness(t, { limits: { groupsMax: 2 } });
  const { coordinator } = h;
  const member = await coordinator.joinGroup(joinInput("throwaway"));
  coordinator.leaveGroup("throwaway", [{ memberId: member.memberId, groupInstanceId: null }]);
  assert.equal(coordinator.groupState("throwaway"), "Empty");
  const commitTo = (groupId: string) =>
    coordinator.commitOffsets({
      groupId,
      generationId: -1,
      memberId: "",
      groupInstanceId: null,
      offsets: [{ topic: "orders", partition: 0, offset: 1, leaderEpoch: -1, metadata: null }],
    })[0]!.errorCode;
  assert.equal(commitTo("keeper"), ErrorCode.NONE);
  assert.equal(commitTo("newcomer"), ErrorCode.NONE);
  assert.equal(coordinator.groupState("throwaway"), "Dead");
  assert.equal(commitTo("one-too-many"), ErrorCode.POLICY_VIOLATION);
  assert.deepEqual(
    coordinator
      .listGroups()
      .map((group) => group.groupId)
      .sort(),
    ["keeper", "newcomer"],
  );
});

test("beginShutdown answers waiting syncs and refuses new requests while commits can still be synced", async (t) => {
  const h = withDelay(t);
  const { coordinator } = h;
  const joins = [0, 1].map((i) => coordinator.joinGroup(joinInput("g", { clientId: `c${i}` })));
  h.advance(INITIAL_DELAY_MS);
  const joined = await Promise.all(joins);
  const follower = joined.find((result) => result.memberId !== result.leaderId)!;
  const waiting = coordinator.syncGroup({
    groupId: "g",
    generationId: 1,
    memberId: follower.memberId,
    groupInstanceId: null,
    protocolType: null,
    protocolName: null,
    assignments: [],
  });
  coordinator.beginShutdown();
  assert.equal((await waiting).errorCode, ErrorCode.COORDINATOR_NOT_AVAILABLE);
  assert.equal(
    coordinator.heartbeat({ groupId: "g", generationId: 1, memberId: follower.memberId, groupInstanceId: null }),
    ErrorCode.COORDINATOR_NOT_AVAILABLE,
  );
  await coordinator.sync();
});
