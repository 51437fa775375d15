// A broker that authenticates with SASL/PLAIN and authorizes by ACLs, with a super user's admin client and a user
// "bob" whose rights a test grants, for the CLI tests that check the broker's own reason for a refusal reaches the
// screen.

import type { TestContext } from "node:test";
import kafkajs, { type Admin } from "kafkajs";
import type { RunningBroker } from "../../src/broker/index.js";
import { brokerForTest, kafkaFor } from "../helpers/broker.js";

const USERS = { admin: "admin-secret", bob: "bob-secret" };

export interface AclBroker {
  readonly broker: RunningBroker;
  /** Connected as the super user "admin". */
  readonly admin: Admin;
  /** The CLI flags that sign in as "bob", who may do only what `allowBob` grants. */
  readonly bobFlags: readonly string[];
  /** Allows bob the operations on one topic. */
  allowBob(topic: string, operations: readonly kafkajs.AclOperationTypes[]): Promise<void>;
}

export async function aclBrokerForTest(t: TestContext): Promise<AclBroker> {
  const broker = await brokerForTest(t, {
    sasl: { mechanisms: ["PLAIN"], users: USERS },
    authorizer: { superUsers: ["User:admin"], allowEveryoneIfNoAclFound: false },
  });
  const admin = kafkaFor(broker, { sasl: { mechanism: "plain", username: "admin", password: USERS.admin } }).admin();
  await admin.connect();
  return {
    broker,
    admin,
    bobFlags: ["--sasl-mechanism", "plain", "--sasl-username", "bob", "--sasl-password", USERS.bob],
    async allowBob(topic, operations) {
      await admin.createAcls({
        acl: operations.map((operation) => ({
          resourceType: kafkajs.AclResourceTypes.TOPIC,
          resourceName: topic,
          resourcePatternType: kafkajs.ResourcePatternTypes.LITERAL,
          principal: "User:bob",
          host: "*",
          operation,
          permissionType: kafkajs.AclPermissionTypes.ALLOW,
        })),
      });
    },
  };
}
