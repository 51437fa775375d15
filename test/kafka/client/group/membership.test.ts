// The membership requests against the embedded broker: a first JoinGroup answered with an id to join with, the
// leader's SyncGroup and a follower's, heartbeats in and out of the generation, and leaving.

import assert from "node:assert/strict";
import { test } from "node:test";
import { KafkaBrokerError } from "../../../../src/kafka/client/index.js";
import {
  heartbeat,
  joinGroup,
  leaveGroup,
  MemberIdRequiredError,
  syncGroup,
  type JoinRequest,
} from "../../../../src/kafka/client/group/membership.js";
import { brokerForTest } from "../../../helpers/broker.js";
import { clientFor } from "../support.js";

const request: JoinRequest = {
  groupId: "members",
  memberId: "",
  sessionTimeoutMs: 5_000,
  rebalanceTimeoutMs: 3_000,
  topics: ["a"],
  protocols: ["roundrobin", "range"],
  reason: null,
  requestTimeoutMs: 5_000,
};

const errorNamed =
  (name: string) =>
  (error: unknown): boolean =>
    error instanceof KafkaBrokerError && error.errorName === name;

test("join, sync, heartbeat and leave; stale generations and unknown members are refused", async (t) => {
  const broker = await brokerForTest(t);
  const client = clientFor(t, broker);
  const connection = await client.cluster.groupCoordinator("members");
  const required = await joinGroup(connection, request).then(
    () => assert.fail("a first join without a member id is answered with one"),
    (error: unknown) => error,
  );
  assert.ok(required instanceof MemberIdRequiredError);
  assert.match(required.memberId, /.+/);
  const joined = await joinGroup(connection, { ...request, memberId: required.memberId });
  assert.equal(joined.memberId, required.memberId);
  assert.equal(joined.leaderId, joined.memberId);
  assert.equal(joined.protocolName, "roundrobin", "the first choice of the only member");
  assert.deepEqual(joined.members, [{ memberId: joined.memberId, topics: ["a"] }]);

  const mine = await syncGroup(connection, {
    groupId: "members",
    memberId: joined.memberId,
    generationId: joined.generationId,
    protocolName: joined.protocolName,
    assignments: new Map([
      [
        joined.memberId,
        [
          { topic: "a", partition: 0 },
          { topic: "a", partition: 1 },
        ],
      ],
    ]),
    requestTimeoutMs: 5_000,
    rebalanceTimeoutMs: 3_000,
  });
  assert.deepEqual(mine, [
    { topic: "a", partition: 0 },
    { topic: "a", partition: 1 },
  ]);

  const identity = { groupId: "members", memberId: joined.memberId, generationId: joined.generationId };
  await heartbeat(connection, identity);
  await assert.rejects(
    heartbeat(connection, { ...identity, generationId: identity.generationId + 7 }),
    errorNamed("ILLEGAL_GENERATION"),
  );
  await leaveGroup(connection, { groupId: "members", memberId: joined.memberId, reason: "test over" });
  await assert.rejects(heartbeat(connection, identity), errorNamed("UNKNOWN_MEMBER_ID"));
  await assert.rejects(
    leaveGroup(connection, { groupId: "members", memberId: joined.memberId, reason: null }),
    errorNamed("UNKNOWN_MEMBER_ID"),
  );
});

test("a member that offers no protocol the group uses is refused", async (t) => {
  const broker = await brokerForTest(t);
  const client = clientFor(t, broker);
  const connection = await client.cluster.groupCoordinator("protocols");
  const first = await joinGroup(connection, { ...request, groupId: "protocols" }).catch(
    (error: MemberIdRequiredError) =>
      joinGroup(connection, { ...request, groupId: "protocols", memberId: error.memberId }),
  );
  assert.equal(first.protocolName, "roundrobin");
  await assert.rejects(
    joinGroup(connection, { ...request, groupId: "protocols", protocols: ["cooperative-sticky"] }),
    errorNamed("INCONSISTENT_GROUP_PROTOCOL"),
  );
});
