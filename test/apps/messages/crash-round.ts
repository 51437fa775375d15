// One round of the crash the issue describes: clients post to `sluice up`, it is killed with SIGKILL mid-stream and
// started again on the same data directory, and a new post is timed from the restart's first answer until the
// worker has stored it. Shared by test/apps/messages/crash-restart.test.ts and bench/crash-restart.ts.

import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";

import { startUp, type UpProcess } from "./up-process.js";

export const CRASH_POSTERS = 4;
/** Posts accepted before the kill, so that it lands while messages are at every stage of their way. */
export const CRASH_ACCEPTED_BEFORE_KILL = 20;
const POST_TIMEOUT_MS = 5_000;
const POLL_INTERVAL_MS = 10;

export interface CrashRoundResult {
  /** From the restarted system's first 202 until GET /api/messages/:id found the post stored. */
  firstStoredMs: number;
  /** The restarted system, still running: the caller stops it or kills it in the next round. */
  up: UpProcess;
}

async function post(url: string, id: string, text: string): Promise<number> {
  const response = await fetch(`${url}/api/messages`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ id, text }),
    signal: AbortSignal.timeout(POST_TIMEOUT_MS),
  });
  await response.arrayBuffer();
  return response.status;
}

/** Posts from CRASH_POSTERS clients until count posts were accepted; answers cut off by a dying server are expected. */
async function postUntilAccepted(url: string, count: number, timeoutMs: number): Promise<void> {
  let accepted = 0;
  const deadline = Date.now() + timeoutMs;
  const poster = async (poster: number): Promise<void> => {
    for (let sequence = 0; accepted < count; sequence += 1) {
      if (Date.now() > deadline) throw new Error(`only ${accepted} of ${count} posts were accepted in ${timeoutMs} ms`);
      // A post the loaded machine did not answer in time is not counted, as a cut-off one is not.
      const status = await post(url, randomUUID(), `before the crash, poster ${poster} #${sequence}`).catch(() => 0);
      if (status === 202) accepted += 1;
    }
  };
  await Promise.all(Array.from({ length: CRASH_POSTERS }, (_, index) => poster(index)));
}

/**
 * Kills `up` while clients post to it (or, with no running system, just starts one), restarts it with flags, and
 * times the first new post until it is stored. Throws when it is not stored within timeoutMs.
 */
export async function crashAndRestart(
  up: UpProcess,
  flags: readonly string[],
  timeoutMs: number,
): Promise<CrashRoundResult> {
  // Clients still post while the process dies, as browsers would; their failed requests are not counted.
  let posting = true;
  const background = Array.from({ length: CRASH_POSTERS }, async (_, poster) => {
    for (let sequence = 0; posting; sequence += 1) {
      await post(up.url, randomUUID(), `during the crash, poster ${poster} #${sequence}`).catch(() => 0);
    }
  });
  await postUntilAccepted(up.url, CRASH_ACCEPTED_BEFORE_KILL, timeoutMs);
  up.child.kill("SIGKILL");
  await up.exited;
  posting = false;
  await Promise.all(background);

  const restarted = await startUp(flags);
  const id = randomUUID();
  const deadline = Date.now() + timeoutMs;
  let acceptedAt: number | null = null;
  while (acceptedAt === null) {
    if (Date.now() > deadline) throw new Error(`the restarted system accepted no post\n${restarted.output()}`);
    if ((await post(restarted.url, id, "the first post after the crash").catch(() => 0)) === 202) {
      acceptedAt = performance.now();
    } else await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
  }
  for (;;) {
    const response = await fetch(`${restarted.url}/api/messages/${id}`, {
      signal: AbortSignal.timeout(POST_TIMEOUT_MS),
    });
    await response.arrayBuffer();
    if (response.status === 200) return { firstStoredMs: performance.now() - acceptedAt, up: restarted };
    if (Date.now() > deadline) {
      restarted.child.kill("SIGKILL");
      throw new Error(`the first post after the crash was not stored within ${timeoutMs} ms\n${restarted.output()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
  }
}
