// `sluice up`'s hold on its data dir (the broker's and PGlite's): killed with SIGKILL and left a zombie it starts
// again at once, stale PIDs in its lock files block nothing, and of two started together exactly one runs.

import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test, type TestContext } from "node:test";

import { dataPaths } from "../../../src/cli/up/config.js";
import { DATA_DIR_LOCK_FILE } from "../../../src/platform/data-dir-lock.js";
import { request } from "../../apps/messages/harness.js";
import { temporaryDir } from "../../helpers/environment.js";
import { killLeavingZombie, spawnUnreaped, type UnreapedProcess } from "../../helpers/unreaped.js";
import { CLI_ENTRY } from "../run-cli.js";

const KILL_ROUNDS = 1;

function spawnUp(t: TestContext, dataDir: string): Promise<UnreapedProcess> {
  return spawnUnreaped(t, [
    "--import",
    "tsx",
    CLI_ENTRY,
    "up",
    ...["--port", "0", "--broker-port", "0", "--registry-port", "0", "--data-dir", dataDir, "--log-level", "warn"],
  ]);
}

async function httpAddress(up: UnreapedProcess): Promise<string> {
  return (await up.waitFor(/Health +(http:\/\/\S+)\/healthz/))[1] as string;
}

test(
  `sluice up killed with SIGKILL and left a zombie starts again at once, ${KILL_ROUNDS} rounds`,
  { timeout: 240_000 },
  async (t) => {
    const dataDir = temporaryDir(t);
    const paths = dataPaths(dataDir);
    // Lock files left naming a live process that is not a sluice up: the test runner's parent.
    mkdirSync(paths.broker, { recursive: true });
    writeFileSync(join(paths.broker, DATA_DIR_LOCK_FILE), `${process.ppid}\n`);
    writeFileSync(paths.databaseLock, `${process.ppid}\n`);
    for (let round = 0; round <= KILL_ROUNDS; round++) {
      const up = await spawnUp(t, dataDir);
      const url = await httpAddress(up);
      assert.equal((await request(`${url}/healthz`)).status, 200, up.output());
      if (round === KILL_ROUNDS) break;
      await killLeavingZombie(up);
      if (process.platform === "linux") assert.equal(up.state(), "Z", "the killed sluice up is left unreaped");
    }
  },
);

test("of two sluice up started together on one data dir exactly one runs", { timeout: 120_000 }, async (t) => {
  const dataDir = temporaryDir(t);
  const ups = await Promise.all([0, 1].map(() => spawnUp(t, dataDir)));
  const outcomes = await Promise.all(ups.map((up) => up.waitFor(/Stop with|in use by [^\n]*/))).catch(
    (error: unknown) => {
      throw new Error(`${String(error)}\n${ups.map((up) => `${up.pid}: ${up.output()}`).join("\n")}`);
    },
  );
  const running = ups.filter((_, index) => outcomes[index]?.[0] === "Stop with");
  assert.equal(running.length, 1, ups.map((up) => up.output()).join("\n"));
  const refused = outcomes.find((outcome) => outcome[0] !== "Stop with")?.[0] ?? "";
  assert.match(refused, new RegExp(`^in use by (process ${running[0]?.pid}|another process)$`));
  assert.equal((await request(`${await httpAddress(running[0] as UnreapedProcess)}/healthz`)).status, 200);
});
