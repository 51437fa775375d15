// A group consumer's options: defaults, and an error naming the option for each bad one.

import assert from "node:assert/strict";
import { test } from "node:test";
import {
  FETCH_MAX_WAIT_MS_MAX,
  GROUP_ASSIGNORS,
  GROUP_CONCURRENCY_MAX,
  GROUP_FETCH_MAX_WAIT_MS,
  GROUP_HEARTBEAT_INTERVAL_MS,
  GROUP_REBALANCE_TIMEOUT_MS,
  GROUP_SESSION_TIMEOUT_MS,
  GROUP_TOPICS_MAX,
  KafkaConfigError,
  resolveGroupOptions,
} from "../../../../src/kafka/client/index.js";

test("defaults", () => {
  const resolved = resolveGroupOptions({ groupId: "g", topics: ["a", "a", "b"] });
  assert.deepEqual(resolved.topics, ["a", "b"]);
  assert.equal(resolved.sessionTimeoutMs, GROUP_SESSION_TIMEOUT_MS);
  assert.equal(resolved.heartbeatIntervalMs, GROUP_HEARTBEAT_INTERVAL_MS);
  assert.equal(resolved.rebalanceTimeoutMs, GROUP_REBALANCE_TIMEOUT_MS);
  assert.equal(resolved.resetTo, "latest");
  assert.deepEqual(resolved.assignors, GROUP_ASSIGNORS);
  assert.equal(resolved.concurrency, 1);
  assert.equal(resolved.fetch.maxWaitMs, GROUP_FETCH_MAX_WAIT_MS);
  // A short session gets a heartbeat a third of it, unless told otherwise.
  assert.equal(resolveGroupOptions({ groupId: "g", topics: ["a"], sessionTimeoutMs: 1500 }).heartbeatIntervalMs, 500);
  // An idle member heartbeats every third of its session (15 s by default), never more often than a busy one.
  assert.equal(resolved.idleHeartbeatIntervalMs, GROUP_SESSION_TIMEOUT_MS / 3);
  assert.equal(
    resolveGroupOptions({ groupId: "g", topics: ["a"], sessionTimeoutMs: 3000, heartbeatIntervalMs: 2000 })
      .idleHeartbeatIntervalMs,
    2000,
  );
});

test("each bad option is named", () => {
  const cases: Array<[string, object]> = [
    ["groupId", { groupId: "" }],
    ["groupId", { groupId: "\n" }],
    ["topics", { topics: [] }],
    ["topics", { topics: Array.from({ length: GROUP_TOPICS_MAX + 1 }, (_, index) => `t${index}`) }],
    ["topics[1]", { topics: ["a", ""] }],
    ["sessionTimeoutMs", { sessionTimeoutMs: 0 }],
    ["heartbeatIntervalMs", { sessionTimeoutMs: 1000, heartbeatIntervalMs: 1000 }],
    ["idleHeartbeatIntervalMs", { sessionTimeoutMs: 1000, idleHeartbeatIntervalMs: 1000 }],
    ["idleHeartbeatIntervalMs", { heartbeatIntervalMs: 2000, idleHeartbeatIntervalMs: 1000 }],
    ["rebalanceTimeoutMs", { rebalanceTimeoutMs: -1 }],
    ["resetTo", { resetTo: "middle" }],
    ["assignors", { assignors: [] }],
    ["assignors", { assignors: ["sticky"] }],
    ["concurrency", { concurrency: GROUP_CONCURRENCY_MAX + 1 }],
    ["maxWaitMs", { maxWaitMs: FETCH_MAX_WAIT_MS_MAX + 1 }],
  ];
  for (const [field, bad] of cases) {
    assert.throws(
      () => resolveGroupOptions({ groupId: "g", topics: ["a"], ...bad }),
      (error: unknown) => error instanceof KafkaConfigError && error.field === field,
      `${field}: ${JSON.stringify(bad).slice(0, 60)}`,
    );
  }
});
