// A member's commits: accepted under its generation and read back, refused (and not retried) once the generation
// is over, retried after a coordinator that is not available; and bad offsets refused before anything is sent.

import assert from "node:assert/strict";
import { test } from "node:test";
import { KafkaBrokerError, KafkaConfigError } from "../../../../src/kafka/client/index.js";
import { commitMemberOffsets, committedOffsets, isGenerationEnded } from "../../../../src/kafka/client/group/commit.js";
import { joinGroup, MemberIdRequiredError, syncGroup } from "../../../../src/kafka/client/group/membership.js";
import { brokerForTest } from "../../../helpers/broker.js";
import { clientFor } from "../support.js";

const OFFSET_COMMIT = 8;
const COORDINATOR_NOT_AVAILABLE = 15;

test("commits under the generation are read back; a stale generation is refused at once", async (t) => {
  const broker = await brokerForTest(t);
  const client = clientFor(t, broker);
  await client.admin.createTopics([{ name: "c", partitions: 2 }]);
  const connection = await client.cluster.groupCoordinator("committers");
  const base = {
    groupId: "committers",
    sessionTimeoutMs: 5_000,
    rebalanceTimeoutMs: 3_000,
    topics: ["c"],
    protocols: ["range"],
    reason: null,
    requestTimeoutMs: 5_000,
  };
  const joined = await joinGroup(connection, { ...base, memberId: "" }).catch((error: MemberIdRequiredError) =>
    joinGroup(connection, { ...base, memberId: error.memberId }),
  );
  await syncGroup(connection, {
    groupId: "committers",
    memberId: joined.memberId,
    generationId: joined.generationId,
    protocolName: "range",
    assignments: new Map([[joined.memberId, [{ topic: "c", partition: 0 }]]]),
    requestTimeoutMs: 5_000,
    rebalanceTimeoutMs: 3_000,
  });
  const member = { groupId: "committers", memberId: joined.memberId, generationId: joined.generationId };
  const partitions = [
    { topic: "c", partition: 0 },
    { topic: "c", partition: 1 },
  ];
  assert.deepEqual([...(await committedOffsets(client.cluster, "committers", partitions)).values()], [-1, -1]);

  // The coordinator is briefly unavailable: the commit is sent again and goes through.
  let refused = 0;
  broker.injectFault({
    apiKey: OFFSET_COMMIT,
    action: { kind: "error", errorCode: COORDINATOR_NOT_AVAILABLE },
    times: 2,
    match: () => {
      refused++;
      return true;
    },
  });
  await commitMemberOffsets(client.cluster, member, "group:1", [{ topic: "c", partition: 0, offset: 7 }]);
  assert.equal(refused, 2);
  assert.deepEqual([...(await committedOffsets(client.cluster, "committers", partitions)).values()], [7, -1]);

  const stale = { ...member, generationId: member.generationId - 1 };
  let attempts = 0;
  // A rule that never matches, to count the commits that reach the broker.
  broker.injectFault({ apiKey: OFFSET_COMMIT, action: { kind: "drop" }, match: () => ++attempts < 0 });
  await assert.rejects(
    commitMemberOffsets(client.cluster, stale, "group:1", [{ topic: "c", partition: 0, offset: 9 }]),
    (error: unknown) =>
      error instanceof KafkaBrokerError && error.errorName === "ILLEGAL_GENERATION" && isGenerationEnded(error),
  );
  assert.equal(attempts, 1, "an ended generation is not retried");
  await assert.rejects(
    commitMemberOffsets(client.cluster, member, "group:1", [{ topic: "c", partition: 0, offset: -2 }]),
    (error: unknown) => error instanceof KafkaConfigError && error.field === "offsets[0].offset",
  );
});
