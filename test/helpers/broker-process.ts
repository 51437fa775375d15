// A broker in a child process on a data dir (test/fixtures/broker-process.ts), for tests that kill it with SIGKILL:
// resolves with the process and its address once it listens. Another fixture may stand in for it (one that injects a
// crash at a chosen point).

import { spawn, type ChildProcess } from "node:child_process";

export function startBrokerProcess(
  dataDir: string,
  fixture = "test/fixtures/broker-process.ts",
): Promise<{ child: ChildProcess; address: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", fixture, dataDir], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    let errors = "";
    child.stderr!.on("data", (chunk: Buffer) => (errors += chunk.toString()));
    child.stdout!.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (\S+)/.exec(output);
      if (match) resolve({ child, address: match[1]! });
    });
    child.on("exit", (code) => reject(new Error(`broker exited early with ${code}: ${errors}`)));
  });
}
