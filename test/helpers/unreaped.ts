// Processes that stay zombies once killed: each runs under a shell that execs into `sleep`, a parent that never
// waits for its children, the way a container's init or a busy supervisor may leave a killed process unreaped.

import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import type { TestContext } from "node:test";
import { readdirSync, readFileSync } from "node:fs";

import { cleanEnv } from "../cli/run-cli.js";

export const UNREAPED_START_TIMEOUT_MS = 60_000;

export interface UnreapedProcess {
  /** The node process's own PID (not the parent's). */
  readonly pid: number;
  output(): string;
  /** Resolves with the first match of pattern in stdout, rejecting after timeoutMs. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  /** "Z" for a zombie, "R"/"S"/… while it runs, null where /proc cannot tell (not Linux, or already reaped). */
  state(): string | null;
  /** Kills the node process and its parent, which lets the system reap the zombie; also done when the test ends. */
  dispose(): Promise<void>;
}

/**
 * Starts `node nodeArgs…` under a parent that does not wait for it; env is cleaned as for the CLI tests. Both are
 * killed when the test ends, however it ends.
 */
export async function spawnUnreaped(
  t: TestContext,
  nodeArgs: readonly string[],
  env: Readonly<Record<string, string>> = {},
): Promise<UnreapedProcess> {
  const parent: ChildProcessWithoutNullStreams = spawn(
    "/bin/sh",
    ["-c", '"$0" "$@" 2>&1 & echo "pid $!"; exec sleep 3600', process.execPath, ...nodeArgs],
    { env: cleanEnv(env) },
  );
  let stdout = "";
  let stderr = "";
  parent.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  parent.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const parentExited = new Promise<void>((resolve) => parent.once("exit", () => resolve()));
  let pid: number | null = null;
  const dispose = async (): Promise<void> => {
    if (pid !== null) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // Already dead, a zombie or reaped: nothing to kill.
      }
    }
    if (parent.exitCode === null && parent.signalCode === null) parent.kill("SIGKILL");
    await parentExited;
  };
  t.after(dispose);
  const output = (): string => `stdout:\n${stdout}\nstderr:\n${stderr.slice(-4000)}`;
  const waitFor = (pattern: RegExp, timeoutMs = UNREAPED_START_TIMEOUT_MS): Promise<RegExpExecArray> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        const match = pattern.exec(stdout);
        if (match === null) return;
        clearTimeout(timer);
        parent.stdout.off("data", check);
        resolve(match);
      };
      const timer = setTimeout(() => {
        parent.stdout.off("data", check);
        reject(new Error(`no ${pattern} within ${timeoutMs} ms\n${output()}`));
      }, timeoutMs);
      parent.stdout.on("data", check);
      check();
    });
  const knownPid = Number((await waitFor(/^pid (\d+)$/m))[1]);
  pid = knownPid;
  return {
    pid: knownPid,
    output,
    waitFor,
    state() {
      try {
        const stat = readFileSync(`/proc/${knownPid}/stat`, "utf8");
        return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0] ?? null;
      } catch {
        return null;
      }
    },
    dispose,
  };
}

const DEATH_TIMEOUT_MS = 5_000;

/**
 * SIGKILLs the process and waits until it has died, where /proc can tell: its main thread a zombie and its other
 * threads gone. The main thread of a multi-threaded process turns zombie while the others are still exiting, and
 * the open files (and so their locks) go with the last thread.
 */
export async function killLeavingZombie(unreaped: UnreapedProcess): Promise<void> {
  process.kill(unreaped.pid, "SIGKILL");
  const deadline = Date.now() + DEATH_TIMEOUT_MS;
  while (!hasDied(unreaped)) {
    if (Date.now() > deadline) throw new Error(`process ${unreaped.pid} is still ${unreaped.state()} after SIGKILL`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

function hasDied(unreaped: UnreapedProcess): boolean {
  const state = unreaped.state();
  if (state === null) return true;
  if (state !== "Z") return false;
  try {
    return readdirSync(`/proc/${unreaped.pid}/task`).length <= 1;
  } catch {
    return true;
  }
}
