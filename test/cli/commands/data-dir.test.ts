// A data directory sluice cannot use is reported as such, naming the path and the operation that failed, by both
// `sluice up` and `sluice broker`; never as a port problem, and never by spinning forever on a path such as /proc/x.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";

import { temporaryDir } from "../../helpers/environment.js";
import { CLI_ENTRY, cleanEnv, runCli, type CliResult } from "../run-cli.js";

const NOBODY_ID = 65_534;
const RUN_TIMEOUT_MS = 20_000;

/** Ports in no test's way: the commands must fail on the data directory before they listen on anything. */
const PORT_ARGS = ["--port", "0"];
const UP_PORT_ARGS = ["--port", "0", "--broker-port", "0"];

/**
 * Runs the CLI as a user who may not write in directories owned by the test: the same user after a chmod, or, when
 * the tests run as root (whom no permission bit stops), the unprivileged user `nobody`.
 */
function runWithoutWriteAccess(args: readonly string[], lockedDir: string): Promise<CliResult> {
  const asRoot = process.getuid?.() === 0;
  chmodSync(lockedDir, 0o555);
  const child = spawn(process.execPath, ["--import", "tsx", CLI_ENTRY, ...args], {
    env: cleanEnv({ HOME: lockedDir }),
    ...(asRoot ? { uid: NOBODY_ID, gid: NOBODY_ID } : {}),
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  child.stdin.end();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`sluice ${args.join(" ")} did not finish in ${RUN_TIMEOUT_MS} ms\nstderr: ${stderr}`));
    }, RUN_TIMEOUT_MS);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

function assertDataDirReport(result: CliResult, command: string, operation: RegExp, path: string): void {
  assert.equal(result.code, 1, result.stderr);
  const firstLine = result.stderr.split("\n")[0]!;
  assert.match(firstLine, new RegExp(`^sluice ${command}: cannot use the data directory `));
  assert.match(firstLine, operation);
  assert.ok(firstLine.includes(path), `${firstLine} names ${path}`);
  assert.doesNotMatch(result.stderr, /port|listen/i, "a data directory problem is not reported as a port problem");
}

for (const command of ["up", "broker"] as const) {
  const portArgs = command === "up" ? UP_PORT_ARGS : PORT_ARGS;

  test(`sluice ${command}: a data directory in a directory this user may not write is named with mkdir`, async (t) => {
    const parent = temporaryDir(t);
    chmodSync(parent, 0o755);
    const locked = join(parent, "locked");
    mkdirSync(locked);
    const dataDir = join(locked, "data");
    const result = await runWithoutWriteAccess([command, "--data-dir", dataDir, ...portArgs], locked);
    assertDataDirReport(result, command, /mkdir .* failed \(EACCES, permission denied\)/, dataDir);
    assert.equal(existsSync(dataDir), false);
  });

  test(`sluice ${command}: an existing data directory this user may not write in is named`, async (t) => {
    const parent = temporaryDir(t);
    chmodSync(parent, 0o755);
    const dataDir = join(parent, "data");
    mkdirSync(dataDir);
    const result = await runWithoutWriteAccess([command, "--data-dir", dataDir, ...portArgs], dataDir);
    assertDataDirReport(result, command, /creating a file in .* failed \(EACCES, permission denied\)/, dataDir);
  });

  test(`sluice ${command}: a data directory under a regular file or in /proc is refused at once`, async (t) => {
    const file = join(temporaryDir(t), "a-file");
    writeFileSync(file, "not a directory");
    const underFile = await runCli([command, "--data-dir", join(file, "data"), ...portArgs]);
    assertDataDirReport(underFile, command, /ENOTDIR/, join(file, "data"));

    if (!existsSync("/proc/self")) return;
    // Node's recursive mkdir never returns here; before this was checked, the command spun and ignored SIGTERM.
    const virtual = "/proc/self/sluice-data";
    const inProc = await runCli([command, "--data-dir", virtual, ...portArgs]);
    assertDataDirReport(inProc, command, /mkdir \/proc\/self\/sluice-data failed \(ENOENT/, virtual);
  });
}
