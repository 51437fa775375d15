// Membership on its own, with a context of real parts (a map of groups, a deadline queue on a test clock) instead of
// the coordinator: groups come only from the context, its refusal is the answer, and a session that runs out
// removes the member and persists the new generation through the context.

import assert from "node:assert/strict";
import { test } from "node:test";
import pino from "pino";

import { defaultBrokerConfig } from "../../../src/broker/config.js";
import { DeadlineQueue } from "../../../src/broker/group/deadlines.js";
import { ConsumerGroup } from "../../../src/broker/group/group.js";
import { defaultGroupLimits } from "../../../src/broker/group/limits.js";
import { GroupMembership, type MembershipContext } from "../../../src/broker/group/membership.js";
import { ErrorCode } from "../../../src/kafka/protocol/error-codes.js";
import { joinInput, SESSION_TIMEOUT_MS, START_MS } from "./harness.js";

interface Setup {
  membership: GroupMembership;
  groups: Map<string, ConsumerGroup>;
  persisted: Array<{ groupId: string; generationId: number }>;
  advance(ms: number): void;
  setRefusal(errorCode: number | null): void;
  setCreatable(creatable: boolean): void;
}

function setup(): Setup {
  let nowMs = START_MS;
  let refusal: number | null = null;
  let creatable = true;
  const groups = new Map<string, ConsumerGroup>();
  const persisted: Array<{ groupId: string; generationId: number }> = [];
  const deadlines = new DeadlineQueue(
    () => nowMs,
    (error) => assert.fail(String(error)),
  );
  const context: MembershipContext = {
    config: { ...defaultBrokerConfig(), groupMinSessionTimeoutMs: 1000, groupInitialRebalanceDelayMs: 0 },
    limits: defaultGroupLimits(),
    logger: pino({ level: "silent" }),
    deadlines,
    groups,
    now: () => nowMs,
    refusal: () => refusal,
    isCurrent: (group) => groups.get(group.groupId) === group,
    rebalanceStarted: () => undefined,
    createGroup: (groupId) => {
      if (!creatable) return null;
      const group = new ConsumerGroup(groupId);
      groups.set(groupId, group);
      return group;
    },
    persistGroup: (group) => persisted.push({ groupId: group.groupId, generationId: group.generationId }),
  };
  return {
    membership: new GroupMembership(context),
    groups,
    persisted,
    advance(ms) {
      nowMs += ms;
      deadlines.runDue();
    },
    setRefusal: (errorCode) => (refusal = errorCode),
    setCreatable: (value) => (creatable = value),
  };
}

test("membership answers with the context's refusal and its refusal to create a group", async () => {
  const { membership, groups, setRefusal, setCreatable } = setup();
  setRefusal(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
  assert.equal((await membership.joinGroup(joinInput("g"))).errorCode, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
  setRefusal(null);
  setCreatable(false);
  assert.equal((await membership.joinGroup(joinInput("g"))).errorCode, ErrorCode.POLICY_VIOLATION);
  assert.equal(groups.size, 0);
});

test("a lone member joins, syncs, and is removed when its session runs out, each generation persisted", async () => {
  const { membership, groups, persisted, advance } = setup();
  const joined = await membership.joinGroup(joinInput("g"));
  assert.equal(joined.errorCode, ErrorCode.NONE);
  assert.equal(joined.leaderId, joined.memberId);
  const synced = await membership.syncGroup({
    groupId: "g",
    generationId: joined.generationId,
    memberId: joined.memberId,
    groupInstanceId: null,
    protocolType: null,
    protocolName: null,
    assignments: [{ memberId: joined.memberId, assignment: Buffer.from([1, 2, 3]) }],
  });
  assert.deepEqual([...synced.assignment], [1, 2, 3]);
  assert.equal(groups.get("g")?.state, "Stable");
  advance(SESSION_TIMEOUT_MS + 1);
  assert.equal(groups.get("g")?.state, "Empty");
  assert.deepEqual(persisted, [
    { groupId: "g", generationId: 1 },
    { groupId: "g", generationId: 2 },
  ]);
});
