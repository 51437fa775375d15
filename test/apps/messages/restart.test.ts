// Stopping the whole system in the middle of a stream of posts, once by killing it (SIGKILL) and once gracefully
// (SIGTERM), and starting it again on the same data directory: every accepted message ends up stored exactly once.

import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";

import { temporaryDir } from "../../helpers/environment.js";
import { allMessages, waitUntilStored } from "./harness.js";
import { freePortUpFlags, startUp, type UpProcess } from "./up-process.js";

const POSTERS = 4;
/** Accepted posts before each stop, so that the stop lands while messages are at every stage of their way. */
const ACCEPTED_BEFORE_STOP = 40;
const POST_TIMEOUT_MS = 5_000;

interface PostLog {
  /** Ids the API answered 202 for. */
  accepted: Set<string>;
  /** Every id sent, answered or not. */
  attempted: Set<string>;
}

/** Posts from several clients at once until stop() is called; requests cut off by a dying server are expected. */
function postContinuously(url: string, log: PostLog, label: string): { stop: () => Promise<void> } {
  let running = true;
  const poster = async (poster: number): Promise<void> => {
    let sequence = 0;
    while (running) {
      const id = randomUUID();
      log.attempted.add(id);
      try {
        const response = await fetch(`${url}/api/messages`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ id, text: `${label} poster ${poster} #${sequence++}` }),
          signal: AbortSignal.timeout(POST_TIMEOUT_MS),
        });
        await response.arrayBuffer();
        if (response.status === 202) log.accepted.add(id);
      } catch {
        // The server went away mid-request; this message was not accepted as far as the client knows.
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
  };
  const posters = Array.from({ length: POSTERS }, (_, index) => poster(index));
  return {
    stop: async () => {
      running = false;
      await Promise.all(posters);
    },
  };
}

async function waitForAccepted(log: PostLog, count: number, up: UpProcess): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (log.accepted.size < count) {
    if (Date.now() > deadline) throw new Error(`only ${log.accepted.size} posts accepted\n${up.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

test(
  "every accepted message is stored exactly once across a kill and a graceful stop",
  { timeout: 240_000 },
  async (t) => {
    const dataDir = temporaryDir(t, "sluice-restart-");
    const flags = freePortUpFlags(dataDir);
    // The broker notices a killed worker after this; the shortest session the broker allows keeps the test short.
    flags.push("--worker-session-timeout-ms", "6000");
    const log: PostLog = { accepted: new Set(), attempted: new Set() };
    const running = new Set<UpProcess>();
    t.after(() => {
      for (const up of running) up.child.kill("SIGKILL");
    });
    const start = async (): Promise<UpProcess> => {
      const up = await startUp(flags);
      running.add(up);
      void up.exited.then(() => running.delete(up));
      return up;
    };

    // 1. Killed mid-stream: no chance to finish anything.
    let up = await start();
    let posting = postContinuously(up.url, log, "first run");
    await waitForAccepted(log, ACCEPTED_BEFORE_STOP, up);
    up.child.kill("SIGKILL");
    assert.equal((await up.exited).signal, "SIGKILL");
    await posting.stop();

    // 2. Stopped gracefully mid-stream.
    up = await start();
    posting = postContinuously(up.url, log, "second run");
    await waitForAccepted(log, 2 * ACCEPTED_BEFORE_STOP, up);
    up.child.kill("SIGTERM");
    const stopped = await up.exited;
    assert.equal(stopped.code, 0, `a graceful stop exits 0\n${up.output()}`);
    assert.match(up.output(), /Sluice stopped\./);
    await posting.stop();

    // 3. Back up: everything accepted arrives, once.
    up = await start();
    const accepted = [...log.accepted];
    await waitUntilStored(up.url, accepted, 90_000);
    const stored = await allMessages(up.url);
    const storedCount = new Map<string, number>();
    for (const message of stored) storedCount.set(message.id, (storedCount.get(message.id) ?? 0) + 1);
    for (const id of accepted) assert.equal(storedCount.get(id), 1, `accepted message ${id} is stored exactly once`);
    for (const [id, count] of storedCount) {
      assert.ok(log.attempted.has(id), `stored message ${id} was never posted`);
      assert.equal(count, 1, `message ${id} is stored once`);
    }
    assert.ok(accepted.length >= 2 * ACCEPTED_BEFORE_STOP);
    up.child.kill("SIGTERM");
    assert.equal((await up.exited).code, 0);
  },
);
