// The assignors a leader runs: range and round robin as Kafka defines them, kafkajs's name for round robin, and
// topics that do not exist (yet) or that only some members subscribe to.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  assignorOf,
  assignPartitions,
  KAFKAJS_ROUND_ROBIN_PROTOCOL,
  protocolNames,
} from "../../../../src/kafka/client/index.js";

const text = (assignment: Map<string, Array<{ topic: string; partition: number }>>): Record<string, string[]> =>
  Object.fromEntries(
    [...assignment].map(([member, partitions]) => [
      member,
      partitions.map((entry) => `${entry.topic}-${entry.partition}`),
    ]),
  );

describe("assignors", () => {
  test("range splits each topic into contiguous ranges, the first members taking one more", () => {
    const members = [
      { memberId: "m2", topics: ["a", "b"] },
      { memberId: "m1", topics: ["a", "b"] },
    ];
    const assignment = assignPartitions(
      "range",
      members,
      new Map([
        ["a", 3],
        ["b", 2],
      ]),
    );
    assert.deepEqual(text(assignment), { m1: ["a-0", "a-1", "b-0"], m2: ["a-2", "b-1"] });
  });

  test("round robin deals every partition in turn to the members that subscribe to its topic", () => {
    const members = [
      { memberId: "m1", topics: ["a", "b"] },
      { memberId: "m2", topics: ["a"] },
      { memberId: "m3", topics: ["a", "b"] },
    ];
    const assignment = assignPartitions(
      "roundrobin",
      members,
      new Map([
        ["a", 4],
        ["b", 2],
      ]),
    );
    assert.deepEqual(text(assignment), { m1: ["a-0", "a-3", "b-1"], m2: ["a-1"], m3: ["a-2", "b-0"] });
    const everything = [...assignment.values()].flat().map((entry) => `${entry.topic}-${entry.partition}`);
    assert.equal(new Set(everything).size, 6, "every partition once");
  });

  test("a topic that does not exist is assigned to no one; every member gets an entry", () => {
    const members = [
      { memberId: "m1", topics: ["missing"] },
      { memberId: "m2", topics: ["a", "missing"] },
    ];
    for (const assignor of ["range", "roundrobin"] as const) {
      assert.deepEqual(text(assignPartitions(assignor, members, new Map([["a", 1]]))), { m1: [], m2: ["a-0"] });
    }
  });

  test("protocol names: round robin also under kafkajs's name; unknown names have no assignor", () => {
    assert.deepEqual(protocolNames(["roundrobin", "range"]), ["roundrobin", KAFKAJS_ROUND_ROBIN_PROTOCOL, "range"]);
    assert.deepEqual(protocolNames(["range"]), ["range"]);
    assert.equal(assignorOf(KAFKAJS_ROUND_ROBIN_PROTOCOL), "roundrobin");
    assert.equal(assignorOf("range"), "range");
    assert.equal(assignorOf("cooperative-sticky"), null);
  });
});
