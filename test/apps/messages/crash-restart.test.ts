// After `sluice up` is killed with SIGKILL while clients post, a restart on the same data directory stores the first
// new post promptly: it does not wait for the dead relay's leases to run out (the relay holds the data directory
// alone, so it takes them over), and anonymous posts do not queue behind one shared outbox key.

import assert from "node:assert/strict";
import { test } from "node:test";

import { temporaryDir } from "../../helpers/environment.js";
import { crashAndRestart } from "./crash-round.js";
import { freePortUpFlags, startUp, type UpProcess } from "./up-process.js";

const ROUNDS = 2;
/** Far below the lease a dead relay's rows used to wait for (30 s), and above a loaded machine's worst case. */
const FIRST_STORED_MS_MAX = 5_000;
const ROUND_TIMEOUT_MS = 30_000;

test("after kill -9 and a restart, the first new post is stored within seconds", { timeout: 180_000 }, async (t) => {
  const dataDir = temporaryDir(t, "sluice-crash-");
  const flags = freePortUpFlags(dataDir);
  let up: UpProcess = await startUp(flags);
  t.after(async () => {
    up.child.kill("SIGKILL");
    await up.exited;
  });
  for (let round = 1; round <= ROUNDS; round += 1) {
    const result = await crashAndRestart(up, flags, ROUND_TIMEOUT_MS);
    up = result.up;
    assert.ok(
      result.firstStoredMs <= FIRST_STORED_MS_MAX,
      `round ${round}: the first post was stored ${Math.round(result.firstStoredMs)} ms after its 202`,
    );
  }
});
