// `sluice up`'s hold on its data dirs: killed with SIGKILL and left a zombie it starts again at once and finds what
// the killed one stored, stale PIDs in its lock files block nothing, and of two started together exactly one runs.
// The broker's dir is exercised by `--only broker` (twenty rounds fit in the suite) and PGlite's by `--only registry`
// (the registry keeps its schemas there): the same lock code `sluice up` takes for the whole system.

import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test, type TestContext } from "node:test";
import { fileURLToPath } from "node:url";
import { Kafka, logLevel } from "kafkajs";

import { dataPaths } from "../../../src/cli/up/config.js";
import { DATA_DIR_LOCK_FILE } from "../../../src/platform/data-dir-lock.js";
import { request } from "../../apps/messages/harness.js";
import { freePortUpFlags } from "../../apps/messages/up-process.js";
import { temporaryDir } from "../../helpers/environment.js";
import { killLeavingZombie, spawnUnreaped, type UnreapedProcess } from "../../helpers/unreaped.js";

const UP_PROCESS = fileURLToPath(new URL("../../fixtures/up-process.ts", import.meta.url));
const KILL_ROUNDS = 20;
/** Loading the modules of many processes at once on a loaded machine may take a while. */
const LOAD_TIMEOUT_MS = 180_000;
const SCHEMA = JSON.stringify({ type: "record", name: "Kept", fields: [{ name: "n", type: "int" }] });

function spawnUp(t: TestContext, when: string, dataDir: string, role: string): Promise<UnreapedProcess> {
  return spawnUnreaped(t, [...["--import", "tsx", UP_PROCESS, when, "--only", role], ...freePortUpFlags(dataDir)]);
}

async function printed(up: UnreapedProcess, label: string): Promise<string> {
  return (await up.waitFor(new RegExp(`${label} +(\\S+)`)))[1] as string;
}

async function killAndCheckZombie(up: UnreapedProcess): Promise<void> {
  await killLeavingZombie(up);
  if (process.platform === "linux") assert.equal(up.state(), "Z", "the killed sluice up is left unreaped");
}

/** Starts two processes on dataDir at the same moment and returns the one that runs; the other said it is in use. */
async function raceOfTwo(t: TestContext, dataDir: string, role: string): Promise<UnreapedProcess> {
  const ups = await Promise.all([0, 1].map(() => spawnUp(t, "signal", dataDir, role)));
  await Promise.all(ups.map((up) => up.waitFor(/^waiting/m, LOAD_TIMEOUT_MS)));
  for (const up of ups) process.kill(up.pid, "SIGUSR2");
  const outcomes = await Promise.all(ups.map((up) => up.waitFor(/Stop with|in use by [^\n]*/))).catch(
    (error: unknown) => {
      throw new Error(`${String(error)}\n${ups.map((up) => `${up.pid}: ${up.output()}`).join("\n")}`);
    },
  );
  const running = ups.filter((_, index) => outcomes[index]?.[0] === "Stop with");
  assert.equal(running.length, 1, ups.map((up) => up.output()).join("\n"));
  const winner = running[0] as UnreapedProcess;
  for (const outcome of outcomes) {
    if (outcome[0] !== "Stop with")
      assert.match(outcome[0], new RegExp(`^in use by (process ${winner.pid}|another process)$`));
  }
  return winner;
}

test(
  `sluice up --only broker killed with SIGKILL and left a zombie starts again at once, ${KILL_ROUNDS} rounds`,
  { timeout: 240_000 },
  async (t) => {
    const dataDir = temporaryDir(t);
    // A lock file left naming a live process that is not a sluice up: the test runner's parent.
    mkdirSync(dataPaths(dataDir).broker, { recursive: true });
    writeFileSync(join(dataPaths(dataDir).broker, DATA_DIR_LOCK_FILE), `${process.ppid}\n`);
    // Started ahead and in parallel, each process loads its modules and starts up only when its round signals it.
    const ups = await Promise.all(
      Array.from({ length: KILL_ROUNDS + 1 }, () => spawnUp(t, "signal", dataDir, "broker")),
    );
    await Promise.all(ups.map((up) => up.waitFor(/^waiting/m, LOAD_TIMEOUT_MS)));
    for (const [round, up] of ups.entries()) {
      process.kill(up.pid, "SIGUSR2");
      const admin = new Kafka({ brokers: [await printed(up, "Kafka")], logLevel: logLevel.NOTHING }).admin();
      await admin.connect();
      try {
        // Every topic a killed broker created is there after the restart, and the new one can create more.
        const earlier = Array.from({ length: round }, (_, index) => `round-${index}`);
        assert.deepEqual(
          (await admin.listTopics()).filter((topic) => topic.startsWith("round-")).sort(),
          earlier.sort(),
        );
        await admin.createTopics({ topics: [{ topic: `round-${round}`, numPartitions: 1 }] });
      } finally {
        await admin.disconnect();
      }
      if (round < KILL_ROUNDS) await killAndCheckZombie(up);
    }
  },
);

test(
  "of two sluice up --only broker started together on one data dir exactly one runs",
  { timeout: 120_000 },
  async (t) => {
    const dataDir = temporaryDir(t);
    const winner = await raceOfTwo(t, dataDir, "broker");
    assert.equal((await request(`${await printed(winner, "Health")}`)).status, 200);
  },
);

test(
  "PGlite's dir: a stale lock blocks nothing, a killed zombie frees it at once, and of two restarts exactly one runs",
  { timeout: 240_000 },
  async (t) => {
    const dataDir = temporaryDir(t);
    const paths = dataPaths(dataDir);
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(paths.databaseLock, `${process.ppid}\n`);
    const first = await spawnUp(t, "now", dataDir, "registry");
    const registered = await request(`${await printed(first, "Schemas")}/subjects/kept/versions`, {
      json: { schema: SCHEMA },
    });
    assert.equal(registered.status, 200, JSON.stringify(registered.body));
    await killAndCheckZombie(first);
    const winner = await raceOfTwo(t, dataDir, "registry");
    assert.deepEqual((await request(`${await printed(winner, "Schemas")}/subjects`)).body, ["kept"]);
  },
);
