// What the RabbitMQ crash tests of the message board share: clients posting until stopped, a polling wait for each
// step, and the end of the `sluice up` processes when the test ends. The tests differ in how RabbitMQ fails.

import { randomUUID } from "node:crypto";
import type { TestContext } from "node:test";

import type { UpProcess } from "./up-process.js";

const POSTERS = 4;
const POST_TIMEOUT_MS = 5_000;
const UNTIL_TIMEOUT_MS = 60_000;
const UNTIL_STEP_MS = 20;

export interface Posting {
  /** The ids of the posts answered 202 so far. */
  readonly accepted: Set<string>;
  stop(): Promise<void>;
}

/** Posts from several clients, each pausing `pauseMs` between posts, until stopped. */
export function posting(url: string, pauseMs: number): Posting {
  const accepted = new Set<string>();
  let running = true;
  const poster = async (poster: number): Promise<void> => {
    for (let sequence = 0; running; sequence++) {
      const id = randomUUID();
      try {
        const response = await fetch(`${url}/api/messages`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ id, text: `poster ${poster} #${sequence}` }),
          signal: AbortSignal.timeout(POST_TIMEOUT_MS),
        });
        await response.arrayBuffer();
        if (response.status === 202) accepted.add(id);
      } catch {
        // A post that got no answer was not accepted; the poster goes on.
      }
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  };
  const posters = Promise.all(Array.from({ length: POSTERS }, (_, index) => poster(index)));
  return {
    accepted,
    async stop() {
      running = false;
      await posters;
    },
  };
}

/** Polls `check` every `stepMs` until it holds; throws naming `what` once `timeoutMs` has passed. */
export async function until(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = UNTIL_TIMEOUT_MS,
  stepMs = UNTIL_STEP_MS,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, stepMs));
  }
}

/** Ends the process `up()` names when the test ends, unless it has ended already. */
export function killedAfter(t: TestContext, up: () => UpProcess | null, signal: NodeJS.Signals = "SIGKILL"): void {
  t.after(async () => {
    const process = up();
    if (process === null || process.child.exitCode !== null || process.child.signalCode !== null) return;
    process.child.kill(signal);
    await process.exited;
  });
}
