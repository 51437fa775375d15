import assert from "node:assert/strict";
import { test } from "node:test";
import {
  AclOperation,
  AclPermission,
  AclResourceType,
  AclStore,
  PatternType,
  type AclBinding,
} from "../../../src/broker/acl/acls.js";

const TOPIC = AclResourceType.TOPIC;

function binding(overrides: Partial<AclBinding>): AclBinding {
  return {
    resourceType: TOPIC,
    resourceName: "orders",
    patternType: PatternType.LITERAL,
    principal: "User:alice",
    host: "*",
    operation: AclOperation.READ,
    permissionType: AclPermission.ALLOW,
    ...overrides,
  };
}

function store(allowEveryoneIfNoAclFound: boolean, bindings: AclBinding[]): AclStore {
  const acls = new AclStore({ superUsers: ["User:root"], allowEveryoneIfNoAclFound }, () => undefined);
  acls.add(bindings);
  return acls;
}

test("a resource no ACL names follows allow.everyone.if.no.acl.found; super users pass everything", () => {
  for (const open of [true, false]) {
    const acls = store(open, [binding({})]);
    assert.equal(acls.authorize("User:bob", "10.0.0.1", AclOperation.WRITE, TOPIC, "unnamed"), open);
    // Once an ACL names the resource, only what it allows is allowed, whatever the setting.
    assert.equal(acls.authorize("User:bob", "10.0.0.1", AclOperation.READ, TOPIC, "orders"), false);
    assert.equal(acls.authorize("User:root", "10.0.0.1", AclOperation.DELETE, TOPIC, "orders"), true);
  }
});

test("hosts, wildcards, prefixes, implied DESCRIBE and DENY decide as Kafka's authorizer does", () => {
  const acls = store(false, [
    binding({ host: "10.0.0.1" }),
    binding({
      resourceName: "logs-",
      patternType: PatternType.PREFIXED,
      principal: "User:*",
      operation: AclOperation.ALL,
    }),
    binding({
      resourceName: "logs-secret",
      principal: "User:bob",
      operation: AclOperation.ALL,
      permissionType: AclPermission.DENY,
    }),
  ]);
  assert.equal(acls.authorize("User:alice", "10.0.0.1", AclOperation.READ, TOPIC, "orders"), true);
  assert.equal(acls.authorize("User:alice", "10.0.0.2", AclOperation.READ, TOPIC, "orders"), false);
  assert.equal(acls.authorize("User:alice", "10.0.0.1", AclOperation.DESCRIBE, TOPIC, "orders"), true);
  assert.equal(acls.authorize("User:alice", "10.0.0.1", AclOperation.WRITE, TOPIC, "orders"), false);
  assert.equal(acls.authorize("User:carol", "any", AclOperation.WRITE, TOPIC, "logs-app"), true);
  assert.equal(acls.authorize("User:bob", "any", AclOperation.READ, TOPIC, "logs-secret"), false);
  assert.equal(acls.authorize("User:carol", "any", AclOperation.READ, TOPIC, "logs-secret"), true);
  assert.equal(acls.authorize("User:carol", "any", AclOperation.READ, AclResourceType.GROUP, "logs-app"), false);
});
