// A private RabbitMQ node for a test that crashes RabbitMQ itself: its own node name, ports, data and log directories
// and configuration in a temporary directory, no plugins. The shared server on 5672 is never touched (other tests use
// it); the private node registers its own name with epmd, and a SIGKILL of the node removes that registration (epmd
// notices the closed connection). The node is always killed after the test, and when the test process ends, even
// when it is killed itself.

import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";

import amqp from "amqplib";

import { hasCommand, requireTool } from "./environment.js";

/** A node boots in about 5 s on a loaded two-core machine; a restart recovers its quorum queues from their logs. */
export const RABBITMQ_NODE_START_TIMEOUT_MS = 60_000;
const READY_POLL_INTERVAL_MS = 200;
const READY_PROBE_TIMEOUT_MS = 2_000;
const RABBITMQCTL_TIMEOUT_MS = 30_000;
const LOG_TAIL_CHARS = 8_000;
/** Debian's rabbitmq-server on the PATH is a wrapper that switches to the rabbitmq user and logs to /var/log. */
const DIRECT_SCRIPTS_DIR = "/usr/lib/rabbitmq/bin";

export interface RabbitmqNode {
  readonly name: string;
  readonly port: number;
  /** amqp://guest:guest@127.0.0.1:<port> */
  readonly url: string;
  /** True while the node's process runs. */
  readonly running: boolean;
  /** Kills the node with SIGKILL, as a crash would, and waits until its process is gone. */
  kill(): Promise<void>;
  /** Starts the node again on the same data directory and ports, and waits until it accepts AMQP connections. */
  start(): Promise<void>;
  /** rabbitmqctl against this node (list_queues, list_consumers, …): its output. */
  ctl(args: readonly string[]): string;
  /** What the node printed and the end of its log file, for failure messages. */
  log(): string;
}

function scriptPath(name: string): string {
  const direct = join(DIRECT_SCRIPTS_DIR, name);
  return existsSync(direct) ? direct : name;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function accepts(url: string): Promise<boolean> {
  try {
    const connection = await amqp.connect(url, { timeout: READY_PROBE_TIMEOUT_MS });
    await connection.close();
    return true;
  } catch {
    return false;
  }
}

/**
 * A private node, not started yet (start() boots it), or null after a loud skip (a failure in CI) when
 * rabbitmq-server is not installed. The test's hooks kill it at the end.
 */
export async function rabbitmqNodeForTest(t: TestContext): Promise<RabbitmqNode | null> {
  // /usr/sbin, where Debian puts the wrapper, is not on every user's PATH; the scripts themselves may be there.
  const installed = existsSync(join(DIRECT_SCRIPTS_DIR, "rabbitmq-server")) || hasCommand("rabbitmq-server");
  if (!requireTool(t, installed, "rabbitmq-server (to run a private RabbitMQ node)")) return null;
  const dir = mkdtempSync(join(tmpdir(), "sluice-rabbitmq-"));
  const [port, distPort] = [await freePort(), await freePort()];
  const name = `sluice-test-${process.pid}-${randomBytes(3).toString("hex")}@localhost`;
  const configFile = join(dir, "rabbitmq.conf");
  const pluginsFile = join(dir, "enabled_plugins");
  const envFile = join(dir, "rabbitmq-env.conf");
  for (const sub of ["mnesia", "log"]) mkdirSync(join(dir, sub));
  // Only this node's own listener: the machine's /etc/rabbitmq/rabbitmq.conf names the shared server's port.
  writeFileSync(configFile, `listeners.tcp.default = 127.0.0.1:${port}\nlog.file.level = info\n`);
  writeFileSync(pluginsFile, "[].\n");
  // Not the machine's rabbitmq-env.conf either, which names the shared node.
  writeFileSync(envFile, "");
  // Its own Erlang cookie (rabbitmqctl reads it from the same HOME), so nothing can talk to the shared node by it.
  writeFileSync(join(dir, ".erlang.cookie"), randomBytes(16).toString("hex"), { mode: 0o400 });
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: dir,
    RABBITMQ_NODENAME: name,
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_MNESIA_BASE: join(dir, "mnesia"),
    RABBITMQ_LOG_BASE: join(dir, "log"),
    RABBITMQ_CONFIG_FILE: configFile,
    RABBITMQ_CONF_ENV_FILE: envFile,
    RABBITMQ_ENABLED_PLUGINS_FILE: pluginsFile,
  };
  const url = `amqp://guest:guest@127.0.0.1:${port}`;
  let child: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();
  let output = "";

  // The shell, the script and the Erlang VM it starts share a process group of their own, killed as one.
  const killGroup = (): void => {
    if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        // Already gone.
      }
    }
  };

  const node: RabbitmqNode = {
    name,
    port,
    url,
    get running() {
      return child !== null && child.exitCode === null && child.signalCode === null;
    },
    async kill() {
      killGroup();
      await exited;
    },
    async start() {
      if (node.running) throw new Error(`RabbitMQ node ${name} is running already`);
      output = "";
      // A shell leads the node's process group: it starts the node, then waits for its stdin to close, which
      // happens when this process ends however it ends (even by SIGKILL), and then kills the whole group; it does
      // too when the node exits by itself.
      const guard = '("$0"; kill -KILL 0) & cat >/dev/null; kill -KILL 0';
      const started = spawn("sh", ["-c", guard, scriptPath("rabbitmq-server")], {
        cwd: dir,
        env,
        detached: true,
        stdio: "pipe",
      });
      child = started;
      started.stdout
        ?.setEncoding("utf8")
        .on("data", (chunk: string) => (output = (output + chunk).slice(-LOG_TAIL_CHARS)));
      started.stderr
        ?.setEncoding("utf8")
        .on("data", (chunk: string) => (output = (output + chunk).slice(-LOG_TAIL_CHARS)));
      exited = new Promise((resolve) => started.once("exit", () => resolve()));
      const deadline = Date.now() + RABBITMQ_NODE_START_TIMEOUT_MS;
      while (!(await accepts(url))) {
        if (!node.running) throw new Error(`RabbitMQ node ${name} exited while starting:\n${output}`);
        if (Date.now() > deadline) {
          await node.kill();
          throw new Error(`RabbitMQ node ${name} did not start in ${RABBITMQ_NODE_START_TIMEOUT_MS} ms:\n${output}`);
        }
        await new Promise((resolve) => setTimeout(resolve, READY_POLL_INTERVAL_MS));
      }
    },
    ctl(args) {
      const result = spawnSync(scriptPath("rabbitmqctl"), ["--quiet", "-n", name, ...args], {
        cwd: dir,
        env,
        encoding: "utf8",
        timeout: RABBITMQCTL_TIMEOUT_MS,
      });
      if (result.status !== 0) {
        throw new Error(`rabbitmqctl ${args.join(" ")} failed (${result.status}): ${result.stderr || result.stdout}`);
      }
      return result.stdout;
    },
    log() {
      const file = join(dir, "log", `${name}.log`);
      const tail = existsSync(file) ? readFileSync(file, "utf8").slice(-LOG_TAIL_CHARS) : "(no log file)";
      return `${output}\n--- ${file}\n${tail}`;
    },
  };
  t.after(async () => {
    await node.kill();
    // Only once the node is gone: it writes to its data directory until then.
    rmSync(dir, { recursive: true, force: true });
  });
  return node;
}
