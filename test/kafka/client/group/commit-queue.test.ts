// The per-partition commit queue on its own: one commit in flight per partition, the newest offset queued behind it,
// a refused commit rejects only its own callers, and flush() waits for everything queued.

import assert from "node:assert/strict";
import { test } from "node:test";
import { CommitQueue, type QueuedCommit } from "../../../../src/kafka/client/group/commit-queue.js";

/** A send whose answers the test gives one at a time. */
function heldSends() {
  const sent: QueuedCommit[] = [];
  const answers: Array<(error?: Error) => void> = [];
  const send = (commit: QueuedCommit): Promise<void> => {
    sent.push(commit);
    return new Promise((resolve, reject) => answers.push((error) => (error === undefined ? resolve() : reject(error))));
  };
  return { sent, answers, send };
}

async function settle(): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
}

test("commits of a partition go one at a time, coalesce to the newest, and settle with the commit that carried them", async () => {
  const queue = new CommitQueue();
  const { sent, answers, send } = heldSends();
  const outcomes: string[] = [];
  const track = (name: string, promise: Promise<void>): void => {
    promise.then(
      () => outcomes.push(`${name} ok`),
      (error: Error) => outcomes.push(`${name} ${error.message}`),
    );
  };
  track("a1", queue.commit({ topic: "a", partition: 0, offset: 1 }, send));
  track("a2", queue.commit({ topic: "a", partition: 0, offset: 2 }, send));
  track("a3", queue.commit({ topic: "a", partition: 0, offset: 3 }, send));
  track("b5", queue.commit({ topic: "b", partition: 0, offset: 5 }, send));
  assert.deepEqual(
    sent.map((commit) => `${commit.topic}${commit.offset}`),
    ["a1", "b5"],
    "one commit in flight per partition; partitions do not wait for each other",
  );
  let flushed = false;
  void queue.flush().then(() => (flushed = true));

  answers[0]!();
  await settle();
  assert.deepEqual(
    sent.map((commit) => `${commit.topic}${commit.offset}`),
    ["a1", "b5", "a3"],
    "after a1, only the newest queued offset of a is sent",
  );
  assert.deepEqual(outcomes, ["a1 ok"]);

  answers[2]!(new Error("refused"));
  answers[1]!();
  await settle();
  assert.deepEqual(outcomes.sort(), ["a1 ok", "a2 refused", "a3 refused", "b5 ok"]);
  assert.ok(flushed, "flush() resolves once every queued commit is answered, refused ones included");

  track("a4", queue.commit({ topic: "a", partition: 0, offset: 4 }, send));
  assert.equal(sent.length, 4, "a refused commit does not stop later ones");
  answers[3]!();
  await queue.flush();
  assert.ok(outcomes.includes("a4 ok"));
});
