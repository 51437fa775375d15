// Runs `sluice up` as a child process, the way a user runs `npm start`, and reads the URLs it prints.

import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";

import { cleanEnv, CLI_ENTRY } from "../../cli/run-cli.js";

export const UP_START_TIMEOUT_MS = 60_000;

/** `sluice up` on the data directory with free ports for every listener, logging warnings and errors only. */
export function freePortUpFlags(dataDir: string): string[] {
  return ["--port", "0", "--broker-port", "0", "--registry-port", "0", "--data-dir", dataDir, "--log-level", "warn"];
}

export interface UpProcess {
  readonly child: ChildProcessWithoutNullStreams;
  /** The HTTP base URL it printed; empty when it runs no api role. */
  readonly url: string;
  /** The Kafka bootstrap address it printed. */
  readonly kafka: string;
  /** Everything written to stdout and stderr so far, for failure messages. */
  output(): string;
  /** Resolves with the exit code (null when a signal ended it) and the signal. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `sluice up` with the flags and waits until it prints its URLs. */
export async function startUp(args: readonly string[], env: Readonly<Record<string, string>> = {}): Promise<UpProcess> {
  const environment = cleanEnv(env);
  // A developer's DATABASE_URL must not send the test's data to their server.
  if (env.DATABASE_URL === undefined) delete environment.DATABASE_URL;
  const child = spawn(process.execPath, ["--import", "tsx", CLI_ENTRY, "up", ...args], { env: environment });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on("exit", (code, signal) => resolve({ code, signal }));
  });
  const output = () => `stdout:\n${stdout}\nstderr:\n${stderr.slice(-4000)}`;
  const printed = await new Promise<{ url: string; kafka: string }>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`sluice up did not start within ${UP_START_TIMEOUT_MS} ms\n${output()}`));
    }, UP_START_TIMEOUT_MS);
    const onData = (): void => {
      if (!stdout.includes("Stop with")) return;
      clearTimeout(timer);
      child.stdout.off("data", onData);
      resolve({
        url: /Message board +(http:\/\/\S+)\//.exec(stdout)?.[1] ?? "",
        kafka: /Kafka +(\S+)/.exec(stdout)?.[1] ?? "",
      });
    };
    child.stdout.on("data", onData);
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`sluice up exited (code ${code}, signal ${signal}) before it was up\n${output()}`));
    });
  });
  return { child, url: printed.url, kafka: printed.kafka, output, exited };
}
