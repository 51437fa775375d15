// ACLs as Kafka enforces them, through kafkajs (CreateAcls/DescribeAcls/DeleteAcls v1) and @platformatic/kafka
// (v3): a super user manages them; literal and prefixed patterns, the User:* wildcard, DENY over ALLOW and the
// implied DESCRIBE decide what each SASL user may produce, see and administer, from the next request on.

import assert from "node:assert/strict";
import { test } from "node:test";
import { Admin } from "@platformatic/kafka";
import kafkajs, { type AclEntry, type SASLOptions } from "kafkajs";
import type { RunningBroker } from "../../src/broker/index.js";
import { brokerForTest, kafkaFor } from "../helpers/broker.js";

// kafkajs is CommonJS: its enums come from the default export.
const { AclOperationTypes, AclPermissionTypes, AclResourceTypes, ResourcePatternTypes } = kafkajs;
type AclResourceType = (typeof AclResourceTypes)[keyof typeof AclResourceTypes];

const USERS = { admin: "admin-secret", alice: "alice-secret", bob: "bob-secret" };

function kafkaAs(broker: RunningBroker, user: keyof typeof USERS) {
  const sasl = { mechanism: "plain", username: user, password: USERS[user] } as SASLOptions;
  return kafkaFor(broker, { sasl, retry: { retries: 0 } });
}

function acl(principal: string, resourceType: AclResourceType, resourceName: string, extra: Partial<AclEntry> = {}) {
  return {
    resourceType,
    resourceName,
    resourcePatternType: ResourcePatternTypes.LITERAL,
    principal,
    host: "*",
    operation: AclOperationTypes.ALL,
    permissionType: AclPermissionTypes.ALLOW,
    ...extra,
  } satisfies AclEntry;
}

/** The error type kafkajs reports for a send, or "sent". */
async function produceAs(broker: RunningBroker, user: keyof typeof USERS, topic: string): Promise<string> {
  const producer = kafkaAs(broker, user).producer({ allowAutoTopicCreation: false, retry: { retries: 0 } });
  await producer.connect();
  try {
    await producer.send({ topic, acks: 1, messages: [{ value: user }] });
    return "sent";
  } catch (error) {
    const { type, originalError } = error as { type?: string; originalError?: { type?: string } };
    // kafkajs refuses in its metadata step ("Not authorized to access topics") or with the produce error's type.
    if (/Topic authorization failed/.test(String(error))) return "TOPIC_AUTHORIZATION_FAILED";
    return type ?? originalError?.type ?? String(error);
  } finally {
    await producer.disconnect();
  }
}

test("ACLs decide who may produce, list and administer; changes apply at once", async (t) => {
  const broker = await brokerForTest(t, {
    sasl: { mechanisms: ["PLAIN"], users: USERS },
    authorizer: { superUsers: ["User:admin"], allowEveryoneIfNoAclFound: false },
  });
  const admin = kafkaAs(broker, "admin").admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: "alice-orders" }, { topic: "shared" }, { topic: "secret" }] });
  await admin.createAcls({
    acl: [
      acl("User:alice", AclResourceTypes.TOPIC, "alice-", { resourcePatternType: ResourcePatternTypes.PREFIXED }),
      acl("User:*", AclResourceTypes.TOPIC, "shared", { operation: AclOperationTypes.WRITE }),
      acl("User:bob", AclResourceTypes.TOPIC, "shared", {
        operation: AclOperationTypes.WRITE,
        permissionType: AclPermissionTypes.DENY,
      }),
    ],
  });

  assert.equal(await produceAs(broker, "alice", "alice-orders"), "sent");
  assert.equal(await produceAs(broker, "alice", "shared"), "sent");
  assert.equal(await produceAs(broker, "bob", "shared"), "TOPIC_AUTHORIZATION_FAILED");
  assert.equal(await produceAs(broker, "bob", "alice-orders"), "TOPIC_AUTHORIZATION_FAILED");
  assert.equal(await produceAs(broker, "alice", "secret"), "TOPIC_AUTHORIZATION_FAILED");

  // Metadata lists only what a user may describe; WRITE implies DESCRIBE.
  const bobAdmin = kafkaAs(broker, "bob").admin();
  await bobAdmin.connect();
  assert.deepEqual((await bobAdmin.listTopics()).sort(), ["shared"]);
  await assert.rejects(
    bobAdmin.createAcls({ acl: [acl("User:bob", AclResourceTypes.TOPIC, "secret")] }),
    /Cluster authorization failed/i,
  );

  const described = await admin.describeAcls({
    resourceType: AclResourceTypes.TOPIC,
    resourceName: "shared",
    resourcePatternType: ResourcePatternTypes.LITERAL,
    principal: "User:bob",
    host: "*",
    operation: AclOperationTypes.ANY,
    permissionType: AclPermissionTypes.ANY,
  });
  assert.deepEqual(
    described.resources.flatMap((resource) => resource.acls.map((entry) => [entry.principal, entry.permissionType])),
    [["User:bob", AclPermissionTypes.DENY]],
  );

  // Deleting alice's prefixed ACL closes her topics at once.
  const deleted = await admin.deleteAcls({
    filters: [
      {
        resourceType: AclResourceTypes.TOPIC,
        resourceName: "alice-",
        resourcePatternType: ResourcePatternTypes.PREFIXED,
        principal: "User:alice",
        host: "*",
        operation: AclOperationTypes.ANY,
        permissionType: AclPermissionTypes.ANY,
      } as never,
    ],
  });
  assert.equal(deleted.filterResponses[0]?.matchingAcls.length, 1);
  assert.equal(await produceAs(broker, "alice", "alice-orders"), "TOPIC_AUTHORIZATION_FAILED");

  // @platformatic/kafka reads the same ACLs through DescribeAcls v3 (flexible).
  const platformatic = new Admin({
    clientId: "acls-admin",
    bootstrapBrokers: [broker.address],
    sasl: { mechanism: "PLAIN", username: "admin", password: USERS.admin },
    retries: 0,
  });
  t.after(() => platformatic.close());
  const listed = await platformatic.describeAcls({
    filter: {
      resourceType: AclResourceTypes.ANY,
      resourceName: null,
      resourcePatternType: ResourcePatternTypes.ANY,
      principal: null,
      host: null,
      operation: AclOperationTypes.ANY,
      permissionType: AclPermissionTypes.ANY,
    },
  } as never);
  assert.deepEqual(
    listed.map((resource) => resource.resourceName),
    ["shared"],
  );
});

test("without an authorizer the ACL APIs answer SECURITY_DISABLED and everything is allowed", async (t) => {
  const broker = await brokerForTest(t);
  const admin = kafkaFor(broker, { retry: { retries: 0 } }).admin();
  await admin.connect();
  await assert.rejects(
    admin.createAcls({ acl: [acl("User:alice", AclResourceTypes.TOPIC, "x")] }),
    /Security features are disabled|SECURITY_DISABLED/i,
  );
});

test("an offset commit needs READ on the group, and commits only the topics the principal may READ", async (t) => {
  const broker = await brokerForTest(t, {
    sasl: { mechanisms: ["PLAIN"], users: USERS },
    authorizer: { superUsers: ["User:admin"], allowEveryoneIfNoAclFound: false },
  });
  const admin = kafkaAs(broker, "admin").admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: "alice-t" }, { topic: "other-t" }] });
  await admin.createAcls({
    acl: [
      acl("User:alice", AclResourceTypes.TOPIC, "alice-t"),
      acl("User:alice", AclResourceTypes.GROUP, "alice-g", { operation: AclOperationTypes.READ }),
    ],
  });
  const alice = new Admin({
    clientId: "acls-alice",
    bootstrapBrokers: [broker.address],
    sasl: { mechanism: "PLAIN", username: "alice", password: USERS.alice },
    retries: 0,
  });
  t.after(() => alice.close());
  const commit = (groupId: string, topic: string) =>
    alice
      .alterConsumerGroupOffsets({
        groupId,
        topics: [{ name: topic, partitionOffsets: [{ partition: 0, offset: 1n }] }],
      })
      .then(
        () => "committed",
        (error: unknown) => JSON.stringify((error as { errors?: Array<{ response?: unknown }> }).errors?.[0]?.response),
      );
  assert.equal(await commit("alice-g", "alice-t"), "committed");
  assert.match(await commit("alice-g", "other-t"), /"errorCode":29/);
  assert.match(await commit("someone-else", "alice-t"), /"errorCode":30/);
  const [offsets] = await admin.fetchOffsets({ groupId: "alice-g", topics: ["alice-t", "other-t"] });
  assert.deepEqual(
    [offsets, ...(await admin.fetchOffsets({ groupId: "alice-g", topics: ["other-t"] }))].map((topic) => [
      topic?.topic,
      topic?.partitions[0]?.offset,
    ]),
    [
      ["alice-t", "1"],
      ["other-t", "-1"],
    ],
  );
});
