// Runs the jobs board in the test's process exactly as `sluice up --apps jobs` starts it, on free ports (the
// service listeners too) and in a temporary data directory, plus what its tests share: a Redis server of the
// test's own, accounts, and JSON requests.

import { spawn } from "node:child_process";
import { createServer } from "node:net";
import type { TestContext } from "node:test";

import { jobsApp } from "../../../src/apps/jobs/manifest.js";
import { startSystem, type RunningSystem } from "../../../src/cli/up/system.js";
import { configFor, silent } from "../../cli/up/harness.js";
import { hasCommand, requireTool, temporaryDir } from "../../helpers/environment.js";
import { eventually } from "../../helpers/broker.js";
import { request, type JsonResponse } from "../messages/harness.js";

export { request, type JsonResponse };

export interface JobsForTest {
  /** The gateway: the process's HTTP server, where the jobs board is served at the root (it runs alone). */
  readonly url: string;
  readonly system: RunningSystem;
  /** The user, job and application services' own listeners (the team's ports 8001, 8002, 8003). */
  readonly users: string;
  readonly jobs: string;
  readonly applications: string;
}

export async function jobsForTest(t: TestContext, env: Record<string, string> = {}): Promise<JobsForTest> {
  const config = configFor(t, [jobsApp]);
  const system = await startSystem(
    config,
    { JOBS_USERS_PORT: "0", JOBS_JOBS_PORT: "0", JOBS_APPLICATIONS_PORT: "0", ...env },
    silent,
  );
  t.after(() => system.stop());
  const url = system.addresses.http as string;
  const health = await request(`${url}/health/`);
  if (health.status !== 200) throw new Error(`the jobs board is not healthy: ${JSON.stringify(health.body)}`);
  const services = (health.body as { services: Record<string, { url?: string }> }).services;
  const listener = (name: string) => {
    const address = services[name]?.url;
    if (address === undefined) throw new Error(`the ${name} service has no listener of its own`);
    // As the team's commands say it: localhost.
    return address.replace("127.0.0.1", "localhost");
  };
  return { url, system, users: listener("users"), jobs: listener("jobs"), applications: listener("applications") };
}

export interface Account {
  readonly id: string;
  readonly username: string;
  readonly access: string;
  readonly refresh: string | null;
  readonly headers: Record<string, string>;
}

export async function register(url: string, username: string, userType: "employer" | "job_seeker"): Promise<Account> {
  const response = await request(`${url}/api/users/register/`, {
    json: {
      username,
      email: `${username}@example.com`,
      password: "secret123",
      password_confirm: "secret123",
      user_type: userType,
    },
  });
  if (response.status !== 201)
    throw new Error(`register answered ${response.status}: ${JSON.stringify(response.body)}`);
  const body = response.body as { user: { id: string }; access: string; refresh: string | null };
  return {
    id: body.user.id,
    username,
    access: body.access,
    refresh: body.refresh,
    headers: { authorization: `Bearer ${body.access}` },
  };
}

export interface SearchResult {
  id: string;
  title?: string;
  username?: string;
  highlight: string;
  version: number;
}

export async function search(url: string, query: string, type = "jobs"): Promise<SearchResult[]> {
  const response = await request(`${url}/api/search/?q=${encodeURIComponent(query)}&type=${type}`);
  if (response.status !== 200) throw new Error(`search answered ${response.status}: ${JSON.stringify(response.body)}`);
  return (response.body as { results: SearchResult[] }).results;
}

/** Waits until the condition holds, failing the test with `what` when it does not within timeoutMs. */
export async function waitFor(what: string, condition: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  if (!(await eventually(condition, timeoutMs, 25))) throw new Error(`timed out waiting until ${what}`);
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export interface RedisForTest {
  readonly url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
}

/**
 * A Redis server of the test's own on a free port, without persistence, so that a test can stop it mid-way without
 * touching anyone else's; null (after a loud skip) when redis-server is not installed.
 */
export async function redisForTest(t: TestContext): Promise<RedisForTest | null> {
  if (!requireTool(t, hasCommand("redis-server"), "redis-server (the jobs board's cache and sessions)")) return null;
  const port = await freePort();
  const dir = temporaryDir(t, "sluice-redis-");
  let child: ReturnType<typeof spawn> | null = null;
  const redis: RedisForTest = {
    url: `redis://127.0.0.1:${port}`,
    async start() {
      const started = spawn(
        "redis-server",
        ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir],
        { stdio: "ignore" },
      );
      child = started;
      const up = await eventually(
        () =>
          new Promise<boolean>((resolve) => {
            const probe = spawn("redis-cli", ["-p", String(port), "ping"], { stdio: ["ignore", "pipe", "ignore"] });
            let out = "";
            probe.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
            probe.on("close", () => resolve(out.includes("PONG")));
          }),
        10_000,
        50,
      );
      if (!up) throw new Error(`redis-server did not start on port ${port}`);
    },
    async stop() {
      const running = child;
      child = null;
      if (running === null || running.exitCode !== null) return;
      await new Promise((resolve) => {
        running.on("exit", resolve);
        running.kill("SIGKILL");
      });
    },
  };
  t.after(() => redis.stop());
  await redis.start();
  return redis;
}
