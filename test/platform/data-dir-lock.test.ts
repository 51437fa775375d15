// The data-dir lock against real processes: a holder killed with SIGKILL and left a zombie frees the dir at once, a
// PID in the file means nothing by itself, and of several processes reaching for one dir at once exactly one wins.

import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";

import { DATA_DIR_LOCK_FILE, DataDirInUseError, lockDataDir } from "../../src/platform/data-dir-lock.js";
import { temporaryDir } from "../helpers/environment.js";
import { killLeavingZombie, spawnUnreaped } from "../helpers/unreaped.js";

const HOLDER = ["--import", "tsx", "test/fixtures/data-dir-lock-holder.ts"];
const KILL_ROUNDS = 20;
const RACERS = 5;

test("a locked dir refuses a second lock, even in the same process, and is free once released", (t) => {
  const dir = temporaryDir(t);
  const lock = lockDataDir(dir);
  assert.throws(
    () => lockDataDir(dir),
    (error: unknown) =>
      error instanceof DataDirInUseError &&
      error.holderPid === process.pid &&
      error.message === `data dir ${dir} is in use by process ${process.pid}`,
  );
  lock.release();
  lockDataDir(dir).release();
});

test(`a holder killed with SIGKILL and left a zombie frees the dir at once, ${KILL_ROUNDS} rounds`, async (t) => {
  const dir = temporaryDir(t);
  // Started ahead and in parallel, each holder reaches for the lock only when its round signals it.
  const holders = await Promise.all(
    Array.from({ length: KILL_ROUNDS }, () => spawnUnreaped(t, [...HOLDER, dir, "signal"])),
  );
  await Promise.all(holders.map((holder) => holder.waitFor(/^waiting/m)));
  for (const holder of holders) {
    process.kill(holder.pid, "SIGUSR2");
    await holder.waitFor(/^locked/m);
    assert.throws(() => lockDataDir(dir), { name: "DataDirInUseError", holderPid: holder.pid });
    await killLeavingZombie(holder);
    if (process.platform === "linux") assert.equal(holder.state(), "Z", "the killed holder is left unreaped");
    lockDataDir(dir).release();
  }
});

test("a lock file naming a live unrelated process does not block", async (t) => {
  const dir = temporaryDir(t);
  writeFileSync(join(dir, DATA_DIR_LOCK_FILE), `${process.pid}\n`);
  const holder = await spawnUnreaped(t, [...HOLDER, dir, "now"]);
  await holder.waitFor(/^locked/m);
});

test(`of ${RACERS} processes reaching for one dir at the same moment exactly one wins`, async (t) => {
  const dir = temporaryDir(t);
  const startAt = Date.now() + 3_000;
  const racers = await Promise.all(
    Array.from({ length: RACERS }, () => spawnUnreaped(t, [...HOLDER, dir, String(startAt)])),
  );
  const outcomes = await Promise.all(racers.map((racer) => racer.waitFor(/^(locked \d+|in use: .*)$/m)));
  const winners = racers.filter((_, index) => outcomes[index]?.[1]?.startsWith("locked "));
  assert.equal(winners.length, 1, outcomes.map((outcome) => outcome[0]).join("\n"));
  // A loser that looks before the winner has written its PID names no process; it never names a wrong one.
  const refusal = new RegExp(`^in use: data dir ${dir} is in use by (process ${winners[0]?.pid}|another process)$`);
  for (const outcome of outcomes) {
    if (!outcome[0].startsWith("locked ")) assert.match(outcome[0], refusal);
  }
});
