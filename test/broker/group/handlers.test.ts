// The group API handlers on a real Broker, with every request and response put through the wire codec at each
// version served, the way the server does.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ErrorCode } from "../../../src/kafka/protocol/error-codes.js";
import type { JoinGroupRequest } from "../../../src/kafka/protocol/messages/index.js";
import type { Broker } from "../../../src/broker/broker.js";
import type { ApiHandler } from "../../../src/broker/handlers/handler.js";
import offsetCommit from "../../../src/broker/handlers/08-offset-commit.js";
import offsetFetch from "../../../src/broker/handlers/09-offset-fetch.js";
import findCoordinator from "../../../src/broker/handlers/10-find-coordinator.js";
import joinGroup from "../../../src/broker/handlers/11-join-group.js";
import heartbeat from "../../../src/broker/handlers/12-heartbeat.js";
import leaveGroup from "../../../src/broker/handlers/13-leave-group.js";
import syncGroup from "../../../src/broker/handlers/14-sync-group.js";
import describeGroups from "../../../src/broker/handlers/15-describe-groups.js";
import listGroups from "../../../src/broker/handlers/16-list-groups.js";
import deleteGroups from "../../../src/broker/handlers/42-delete-groups.js";
import offsetDelete from "../../../src/broker/handlers/47-offset-delete.js";
import { call, errorResponses, openBroker, servedVersions } from "../handlers/admin-harness.js";
import { assignment, subscription } from "./harness.js";

const SESSION_TIMEOUT_MS = 10_000;

/** Each handler's error response, through the codec at every version it serves. */
function failing<Request, Response>(
  handler: ApiHandler<Request, Response>,
  request: Request,
): Array<{ version: number; response: Response }> {
  return errorResponses(handler, request, ErrorCode.COORDINATOR_NOT_AVAILABLE);
}

function joinRequest(groupId: string, memberId = ""): JoinGroupRequest {
  return {
    groupId,
    sessionTimeoutMs: SESSION_TIMEOUT_MS,
    rebalanceTimeoutMs: SESSION_TIMEOUT_MS,
    memberId,
    groupInstanceId: null,
    protocolType: "consumer",
    protocols: [{ name: "range", metadata: subscription(["orders"]) }],
    reason: null,
  };
}

describe("group handlers", () => {
  let broker: Broker;
  before(async () => {
    broker = await openBroker();
    broker.topics.create("orders", 3, new Map());
    broker.topics.create("payments", 1, new Map());
  });
  after(() => broker.close());

  /** Joins a one-member group at this JoinGroup version (through MEMBER_ID_REQUIRED from v4) and syncs it. */
  async function stableMember(groupId: string, version: number): Promise<{ memberId: string; generationId: number }> {
    let joined = await call(broker, joinGroup, version, joinRequest(groupId));
    if (version >= 4) {
      assert.equal(joined.errorCode, ErrorCode.MEMBER_ID_REQUIRED, `v${version}`);
      assert.match(joined.memberId, /^admin-test-[0-9a-f-]{36}$/);
      joined = await call(broker, joinGroup, version, joinRequest(groupId, joined.memberId));
    }
    assert.equal(joined.errorCode, ErrorCode.NONE, `JoinGroup v${version}`);
    assert.equal(joined.leader, joined.memberId);
    assert.equal(joined.protocolName, "range");
    assert.equal(joined.generationId, 1);
    if (version >= 7) assert.equal(joined.protocolType, "consumer");
    assert.deepEqual(
      joined.members.map((member) => [member.memberId, member.metadata]),
      [[joined.memberId, subscription(["orders"])]],
    );
    const syncVersion = Math.min(version, syncGroup.versions[1]);
    const owned = assignment([{ topic: "orders", partitions: [0, 1, 2] }]);
    const synced = await call(broker, syncGroup, syncVersion, {
      groupId,
      generationId: joined.generationId!,
      memberId: joined.memberId,
      groupInstanceId: null,
      protocolType: syncVersion >= 5 ? "consumer" : null,
      protocolName: syncVersion >= 5 ? "range" : null,
      assignments: [{ memberId: joined.memberId, assignment: owned }],
    });
    assert.equal(synced.errorCode, ErrorCode.NONE, `SyncGroup v${syncVersion}`);
    assert.deepEqual(synced.assignment, owned);
    if (syncVersion >= 5) assert.equal(synced.protocolName, "range");
    return { memberId: joined.memberId, generationId: joined.generationId! };
  }

  test("JoinGroup, SyncGroup, Heartbeat and LeaveGroup at every version", async () => {
    for (const version of servedVersions(joinGroup)) {
      const groupId = `lifecycle-v${version}`;
      const { memberId, generationId } = await stableMember(groupId, version);
      const heartbeatVersion = Math.min(version, heartbeat.versions[1]);
      const beat = await call(broker, heartbeat, heartbeatVersion, {
        groupId,
        generationId,
        memberId,
        groupInstanceId: null,
      });
      assert.equal(beat.errorCode, ErrorCode.NONE, `Heartbeat v${heartbeatVersion}`);
      const stale = await call(broker, heartbeat, heartbeatVersion, {
        groupId,
        generationId: generationId + 1,
        memberId,
        groupInstanceId: null,
      });
      assert.equal(stale.errorCode, ErrorCode.ILLEGAL_GENERATION);

      const leaveVersion = Math.min(version, leaveGroup.versions[1]);
      const left = await call(broker, leaveGroup, leaveVersion, {
        groupId,
        memberId,
        members: [{ memberId, groupInstanceId: null, reason: "test done" }],
      });
      assert.equal(left.errorCode, ErrorCode.NONE, `LeaveGroup v${leaveVersion}`);
      if (leaveVersion >= 3)
        assert.deepEqual(
          left.members?.map((member) => member.errorCode),
          [ErrorCode.NONE],
        );
      assert.equal(broker.groups.groupState(groupId), "Empty");
      const again = await call(broker, leaveGroup, leaveVersion, {
        groupId,
        memberId,
        members: [{ memberId, groupInstanceId: null, reason: null }],
      });
      const againCode = leaveVersion >= 3 ? again.members![0]!.errorCode : again.errorCode;
      assert.equal(againCode, ErrorCode.UNKNOWN_MEMBER_ID);
    }
  });

  test("SyncGroup v5 refuses a protocol name the group did not choose", async () => {
    const groupId = "sync-v5-mismatch";
    const joined = await call(broker, joinGroup, 9, joinRequest(groupId, ""));
    const member = await call(broker, joinGroup, 9, joinRequest(groupId, joined.memberId));
    const synced = await call(broker, syncGroup, 5, {
      groupId,
      generationId: member.generationId!,
      memberId: member.memberId,
      groupInstanceId: null,
      protocolType: "consumer",
      protocolName: "roundrobin",
      assignments: [],
    });
    assert.equal(synced.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
  });

  test("OffsetCommit at every version is read back by OffsetFetch at every version", async () => {
    for (const version of servedVersions(offsetCommit)) {
      const committed = await call(broker, offsetCommit, version, {
        groupId: "simple",
        generationIdOrMemberEpoch: -1,
        memberId: "",
        groupInstanceId: null,
        retentionTimeMs: -1,
        topics: [
          {
            name: "orders",
            partitions: [
              {
                partitionIndex: version % 3,
                committedOffset: 100 + version,
                committedLeaderEpoch: 4,
                commitTimestamp: -1,
                committedMetadata: `v${version}`,
              },
            ],
          },
          {
            name: "unknown-topic",
            partitions: [
              {
                partitionIndex: 0,
                committedOffset: 1,
                committedLeaderEpoch: -1,
                commitTimestamp: -1,
                committedMetadata: null,
              },
            ],
          },
        ],
      });
      assert.deepEqual(
        committed.topics.map((topic) => [topic.name, topic.partitions.map((p) => [p.partitionIndex, p.errorCode])]),
        [
          ["orders", [[version % 3, ErrorCode.NONE]]],
          ["unknown-topic", [[0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]]],
        ],
        `OffsetCommit v${version}`,
      );
    }
    // Partition p last got offset 100 + the highest version v ≤ 8 with v % 3 = p.
    const expected = [106, 107, 108];
    for (const version of servedVersions(offsetFetch)) {
      const topics = [{ name: "orders", partitionIndexes: [0, 1, 2] }];
      const response = await call(broker, offsetFetch, version, {
        groupId: "simple",
        topics,
        groups: [{ groupId: "simple", memberId: null, memberEpoch: -1, topics }],
        requireStable: false,
      });
      const partitions = version >= 8 ? response.groups![0]!.topics![0]!.partitions! : response.topics[0]!.partitions;
      assert.deepEqual(
        partitions.map((partition) => partition.committedOffset),
        expected,
        `OffsetFetch v${version}`,
      );
      assert.deepEqual(
        partitions.map((partition) => partition.metadata),
        expected.map((offset) => `v${offset - 100}`),
      );
      if (version >= 5)
        assert.deepEqual(
          partitions.map((partition) => partition.committedLeaderEpoch),
          [4, 4, 4],
        );
    }
    const all = await call(broker, offsetFetch, 7, {
      groupId: "simple",
      topics: null,
      groups: [],
      requireStable: true,
    });
    assert.deepEqual(
      all.topics.map((topic) => topic.name),
      ["orders"],
    );
    const nothing = await call(broker, offsetFetch, 3, {
      groupId: "never-committed",
      topics: [{ name: "orders", partitionIndexes: [0] }],
      groups: [],
      requireStable: false,
    });
    assert.equal(nothing.topics[0]!.partitions[0]!.committedOffset, -1);
  });

  test("OffsetCommit from a member checks its generation", async () => {
    const { memberId, generationId } = await stableMember("committing-member", 5);
    const commit = (generation: number) =>
      call(broker, offsetCommit, 8, {
        groupId: "committing-member",
        generationIdOrMemberEpoch: generation,
        memberId,
        groupInstanceId: null,
        retentionTimeMs: -1,
        topics: [
          {
            name: "orders",
            partitions: [
              {
                partitionIndex: 0,
                committedOffset: 5,
                committedLeaderEpoch: -1,
                commitTimestamp: -1,
                committedMetadata: "",
              },
            ],
          },
        ],
      });
    assert.equal((await commit(generationId)).topics[0]!.partitions[0]!.errorCode, ErrorCode.NONE);
    assert.equal((await commit(generationId + 3)).topics[0]!.partitions[0]!.errorCode, ErrorCode.ILLEGAL_GENERATION);
  });

  test("FindCoordinator names this broker for groups, one key or a batch, and refuses transactions", async () => {
    const address = broker.advertisedAddress();
    for (const version of servedVersions(findCoordinator)) {
      const response = await call(broker, findCoordinator, version, {
        key: "some-group",
        keyType: 0,
        coordinatorKeys: ["group-a", "group-b"],
      });
      if (version >= 4) {
        assert.deepEqual(
          response.coordinators!.map((c) => [c.key, c.nodeId, c.host, c.port, c.errorCode]),
          [
            ["group-a", address.nodeId, address.host, address.port, ErrorCode.NONE],
            ["group-b", address.nodeId, address.host, address.port, ErrorCode.NONE],
          ],
        );
      } else {
        assert.deepEqual(
          [response.errorCode, response.nodeId, response.host, response.port],
          [ErrorCode.NONE, address.nodeId, address.host, address.port],
        );
      }
    }
    // This broker is also the transaction coordinator of every transactional id.
    for (const version of [1, 3]) {
      const transactional = await call(broker, findCoordinator, version, {
        key: "txn",
        keyType: 1,
        coordinatorKeys: [],
      });
      assert.deepEqual(
        [transactional.errorCode, transactional.nodeId, transactional.port],
        [ErrorCode.NONE, address.nodeId, address.port],
      );
    }
    const batched = await call(broker, findCoordinator, 4, { key: "", keyType: 1, coordinatorKeys: ["txn"] });
    assert.equal(batched.coordinators![0]!.errorCode, ErrorCode.NONE);
    const unknownType = await call(broker, findCoordinator, 3, { key: "x", keyType: 7, coordinatorKeys: [] });
    assert.equal(unknownType.errorCode, ErrorCode.INVALID_REQUEST);
  });

  test("DescribeGroups and ListGroups at every version", async () => {
    const { memberId } = await stableMember("described", 5);
    for (const version of servedVersions(describeGroups)) {
      const response = await call(broker, describeGroups, version, {
        groups: ["described", "no-such-group"],
        includeAuthorizedOperations: true,
      });
      const [described, unknown] = response.groups;
      assert.equal(described!.errorCode, ErrorCode.NONE);
      assert.equal(described!.groupState, "Stable");
      assert.equal(described!.protocolType, "consumer");
      assert.equal(described!.protocolData, "range");
      assert.equal(described!.members.length, 1);
      const member = described!.members[0]!;
      assert.equal(member.memberId, memberId);
      assert.equal(member.clientId, "admin-test");
      assert.equal(member.clientHost, "/127.0.0.1");
      assert.deepEqual(member.memberMetadata, subscription(["orders"]));
      assert.deepEqual(member.memberAssignment, assignment([{ topic: "orders", partitions: [0, 1, 2] }]));
      if (version >= 3) assert.notEqual(described!.authorizedOperations, -2147483648);
      assert.equal(unknown!.groupState, "Dead");
      assert.deepEqual(unknown!.members, []);
    }
    for (const version of servedVersions(listGroups)) {
      const response = await call(broker, listGroups, version, { statesFilter: ["Stable"], typesFilter: [] });
      const listed = response.groups.find((group) => group.groupId === "described");
      assert.equal(listed?.protocolType, "consumer", `ListGroups v${version}`);
      if (version >= 4) {
        assert.ok(response.groups.every((group) => group.groupState === "Stable"));
      }
    }
  });

  test("DeleteGroups and OffsetDelete", async () => {
    const commit = (groupId: string, name: string) =>
      call(broker, offsetCommit, 2, {
        groupId,
        generationIdOrMemberEpoch: -1,
        memberId: "",
        groupInstanceId: null,
        retentionTimeMs: -1,
        topics: [
          {
            name,
            partitions: [
              {
                partitionIndex: 0,
                committedOffset: 9,
                committedLeaderEpoch: -1,
                commitTimestamp: -1,
                committedMetadata: null,
              },
            ],
          },
        ],
      });
    for (const version of servedVersions(deleteGroups)) {
      await commit(`doomed-${version}`, "orders");
      const response = await call(broker, deleteGroups, version, { groupsNames: [`doomed-${version}`, "ghost"] });
      assert.deepEqual(response.results, [
        { groupId: `doomed-${version}`, errorCode: ErrorCode.NONE },
        { groupId: "ghost", errorCode: ErrorCode.GROUP_ID_NOT_FOUND },
      ]);
    }
    await stableMember("consuming", 5);
    await commit("consuming", "payments");
    const deleted = await call(broker, offsetDelete, 0, {
      groupId: "consuming",
      topics: [
        { name: "orders", partitions: [{ partitionIndex: 0 }] },
        { name: "payments", partitions: [{ partitionIndex: 0 }] },
      ],
    });
    assert.equal(deleted.errorCode, ErrorCode.NONE);
    assert.deepEqual(
      deleted.topics.map((topic) => [topic.name, topic.partitions[0]!.errorCode]),
      [
        ["orders", ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC],
        ["payments", ErrorCode.NONE],
      ],
    );
    const remaining = await call(broker, deleteGroups, 2, { groupsNames: ["consuming"] });
    assert.equal(remaining.results[0]!.errorCode, ErrorCode.NON_EMPTY_GROUP);
  });

  test("every handler's error response encodes at every version it serves", () => {
    const cases = [
      failing(offsetCommit, {
        groupId: "g",
        generationIdOrMemberEpoch: -1,
        memberId: "",
        groupInstanceId: null,
        retentionTimeMs: -1,
        topics: [
          {
            name: "orders",
            partitions: [
              {
                partitionIndex: 1,
                committedOffset: 1,
                committedLeaderEpoch: -1,
                commitTimestamp: -1,
                committedMetadata: null,
              },
            ],
          },
        ],
      }).map(({ response }) => response.topics[0]!.partitions[0]!.errorCode),
      failing(offsetFetch, {
        groupId: "g",
        topics: [{ name: "orders", partitionIndexes: [0] }],
        groups: [
          { groupId: "g", memberId: null, memberEpoch: -1, topics: [{ name: "orders", partitionIndexes: [0] }] },
        ],
        requireStable: false,
      }).map(({ version, response }) =>
        version >= 8 ? response.groups![0]!.errorCode! : response.topics[0]!.partitions[0]!.errorCode,
      ),
      failing(findCoordinator, { key: "g", keyType: 0, coordinatorKeys: ["g"] }).map(({ version, response }) =>
        version >= 4 ? response.coordinators![0]!.errorCode! : response.errorCode,
      ),
      failing(joinGroup, joinRequest("g")).map(({ response }) => response.errorCode),
      failing(heartbeat, { groupId: "g", generationId: 1, memberId: "m", groupInstanceId: null }).map(
        ({ response }) => response.errorCode,
      ),
      failing(leaveGroup, {
        groupId: "g",
        memberId: "m",
        members: [{ memberId: "m", groupInstanceId: null, reason: null }],
      }).map(({ response }) => response.errorCode),
      failing(syncGroup, {
        groupId: "g",
        generationId: 1,
        memberId: "m",
        groupInstanceId: null,
        protocolType: null,
        protocolName: null,
        assignments: [],
      }).map(({ response }) => response.errorCode),
      failing(describeGroups, { groups: ["g"], includeAuthorizedOperations: false }).map(
        ({ response }) => response.groups[0]!.errorCode,
      ),
      failing(listGroups, { statesFilter: [], typesFilter: [] }).map(({ response }) => response.errorCode),
      failing(deleteGroups, { groupsNames: ["g"] }).map(({ response }) => response.results[0]!.errorCode),
      failing(offsetDelete, { groupId: "g", topics: [] }).map(({ response }) => response.errorCode),
    ];
    for (const codes of cases) {
      assert.ok(codes.length > 0);
      assert.ok(
        codes.every((code) => code === ErrorCode.COORDINATOR_NOT_AVAILABLE),
        JSON.stringify(codes),
      );
    }
  });
});
