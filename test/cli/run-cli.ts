// Runs the real `sluice` CLI as a child process, the way a user or a script would.

import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { fileURLToPath } from "node:url";

export const CLI_ENTRY = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));
export const CLI_TIMEOUT_MS = 20_000;

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliOptions {
  /** Written to stdin, which is then closed; stdin is closed at once when absent. */
  readonly input?: string;
  /** Replaces the inherited variables that would change the CLI's behaviour. */
  readonly env?: Readonly<Record<string, string>>;
  readonly timeoutMs?: number;
}

/** The parent's environment without the variables the CLI reads, so a developer's shell cannot change a test. */
export function cleanEnv(extra: Readonly<Record<string, string>> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value === undefined || name.startsWith("SLUICE_") || name.startsWith("KAFKA_")) continue;
    env[name] = value;
  }
  return { ...env, ...extra };
}

export function spawnCli(
  args: readonly string[],
  env?: Readonly<Record<string, string>>,
): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, ["--import", "tsx", CLI_ENTRY, ...args], { env: cleanEnv(env) });
}

export function runCli(args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  const child = spawnCli(args, options.env);
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  child.stdin.end(options.input ?? "");
  const timeoutMs = options.timeoutMs ?? CLI_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(
        new Error(`sluice ${args.join(" ")} did not finish in ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`),
      );
    }, timeoutMs);
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Resolves with the first stdout line matching `pattern`; rejects when the process ends or the time runs out. */
export function waitForLine(
  child: ChildProcessWithoutNullStreams,
  pattern: RegExp,
  timeoutMs = CLI_TIMEOUT_MS,
): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffered = "";
    let stderr = "";
    const onStderr = (chunk: Buffer): void => {
      stderr += chunk.toString("utf8");
    };
    const cleanUp = (): void => {
      clearTimeout(timer);
      child.stdout.off("data", onData);
      child.stderr.off("data", onStderr);
      child.off("close", onClose);
    };
    const onData = (chunk: Buffer): void => {
      buffered += chunk.toString("utf8");
      const line = buffered.split("\n").find((candidate) => pattern.test(candidate));
      if (line !== undefined) {
        cleanUp();
        resolve(line);
      }
    };
    const onClose = (code: number | null): void => {
      cleanUp();
      reject(new Error(`exited with ${code} before printing ${pattern}\nstdout: ${buffered}\nstderr: ${stderr}`));
    };
    const timer = setTimeout(() => {
      cleanUp();
      reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms\nstdout: ${buffered}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.stdout.on("data", onData);
    child.stderr.on("data", onStderr);
    child.on("close", onClose);
  });
}

/** Resolves with the exit code and signal once the process has ended. */
export function exited(
  child: ChildProcessWithoutNullStreams,
): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
}
