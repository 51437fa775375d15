import assert from "node:assert/strict";
import { test } from "node:test";
import {
  decodeConsumerAssignment,
  decodeConsumerSubscription,
  encodeConsumerAssignment,
  encodeConsumerSubscription,
} from "../../../src/kafka/protocol/consumer-protocol.js";

test("subscriptions and assignments round-trip at every version, and unreadable bytes give null", () => {
  for (const version of [0, 1, 2, 3]) {
    const subscription = {
      topics: ["a", "b"],
      userData: version === 0 ? null : Buffer.from("user"),
      ownedPartitions: version >= 1 ? [{ topic: "a", partitions: [0, 2] }] : [],
      generationId: version >= 2 ? 7 : -1,
      rackId: version >= 3 ? "rack-1" : null,
    };
    const decoded = decodeConsumerSubscription(encodeConsumerSubscription(subscription, version));
    assert.deepEqual(decoded?.topics, ["a", "b"]);
    assert.deepEqual(decoded?.ownedPartitions, subscription.ownedPartitions);
    assert.equal(decoded?.generationId, subscription.generationId);
    assert.equal(decoded?.rackId, subscription.rackId);

    const assignment = { assignedPartitions: [{ topic: "a", partitions: [1] }], userData: null };
    assert.deepEqual(decodeConsumerAssignment(encodeConsumerAssignment(assignment, version)), assignment);
  }
  assert.deepEqual(decodeConsumerAssignment(Buffer.alloc(0)), { assignedPartitions: [], userData: null });
  assert.equal(decodeConsumerSubscription(Buffer.from([0, 0, 0xff])), null);
  assert.equal(decodeConsumerAssignment(Buffer.from([0xff, 0xff])), null);
});
