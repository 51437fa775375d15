// Wordium under load, through `sluice up --apps wordium` in a child process on a fresh data directory: posts
// accepted per second (many writers at once), post → follower alert latency with many browsers connected to the
// WebSocket gateway and watching post.created (from the 202 of the post to the event's arrival in each browser),
// and signup → profile latency (from the 201 of the signup to the profile answering). Prints a table.
// Run: npm run bench:wordium [-- --followers 1000 --posts 50 --seconds 5]

import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";

import { WebSocket } from "ws";
import { cpuMicrosPer, log, percentile, processCpuMs } from "./common.js";

const args = process.argv.slice(2);
function numberArg(name: string, fallback: number): number {
  const index = args.indexOf(`--${name}`);
  const value = index >= 0 ? Number(args[index + 1]) : fallback;
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a positive integer`);
  return value;
}
const FOLLOWERS = numberArg("followers", 1_000);
const ALERT_POSTS = numberArg("posts", 50);
const THROUGHPUT_SECONDS = numberArg("seconds", 5);
const SIGNUPS = numberArg("signups", 20);
const WRITERS = 16;
const CONNECT_CONCURRENCY = 50;
const ALERT_SPACING_MS = 100;
const START_TIMEOUT_MS = 120_000;
const ALERT_TIMEOUT_MS = 30_000;
const PASSWORD = "bench password";

function startUp(dataDir: string): Promise<{ child: ChildProcess; http: string; ws: string }> {
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      "src/cli/main.ts",
      "up",
      "--apps",
      "wordium",
      "--port",
      "0",
      "--broker-port",
      "0",
      "--registry-port",
      "0",
    ].concat(["--data-dir", dataDir, "--log-level", "warn"]),
    { stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, KAFKA_BROKERS: "", DATABASE_URL: "" } },
  );
  return new Promise((resolve, reject) => {
    let output = "";
    const timer = setTimeout(
      () => reject(new Error(`sluice up did not start in ${START_TIMEOUT_MS} ms`)),
      START_TIMEOUT_MS,
    );
    child.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString("utf8");
      const http = /Wordium +(http:\/\/\S+?)\/\s/.exec(output)?.[1];
      const ws = /WebSocket +(ws:\/\/\S+)/.exec(output)?.[1];
      if (http !== undefined && ws !== undefined && output.includes("Stop with")) {
        clearTimeout(timer);
        resolve({ child, http, ws });
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`sluice up exited with ${String(code)} before it was up`));
    });
  });
}

/** The fields of Wordium's answers the bench reads. */
interface Answer {
  token: string;
  id: string;
}

async function call(
  url: string,
  method: string,
  body?: unknown,
  token?: string,
): Promise<{ status: number; body: Answer }> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers["content-type"] = "application/json";
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  const response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  return { status: response.status, body: (text === "" ? {} : JSON.parse(text)) as Answer };
}

async function signup(http: string, username: string): Promise<{ token: string; acceptedMs: number }> {
  const answer = await call(`${http}/api/auth/signup`, "POST", {
    username,
    email: `${username}@example.com`,
    password: PASSWORD,
  });
  if (answer.status !== 201) throw new Error(`signup ${username}: ${answer.status} ${JSON.stringify(answer.body)}`);
  return { token: answer.body.token, acceptedMs: performance.now() };
}

async function signupToProfile(http: string): Promise<number[]> {
  const latencies: number[] = [];
  for (let i = 0; i < SIGNUPS; i += 1) {
    const username = `reader${i}`;
    const { acceptedMs } = await signup(http, username);
    for (;;) {
      if ((await call(`${http}/api/users/${username}`, "GET")).status === 200) break;
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    latencies.push(performance.now() - acceptedMs);
  }
  return latencies.sort((a, b) => a - b);
}

async function postsPerSecond(http: string, token: string): Promise<{ accepted: number; seconds: number }> {
  let accepted = 0;
  const started = performance.now();
  const deadline = started + THROUGHPUT_SECONDS * 1000;
  await Promise.all(
    Array.from({ length: WRITERS }, async (_, writer) => {
      for (let n = 0; performance.now() < deadline; n += 1) {
        const answer = await call(`${http}/api/posts`, "POST", { title: `w${writer} #${n}`, body: "bench" }, token);
        if (answer.status !== 202) throw new Error(`post: ${answer.status} ${JSON.stringify(answer.body)}`);
        accepted += 1;
      }
    }),
  );
  return { accepted, seconds: (performance.now() - started) / 1000 };
}

interface Follower {
  ws: WebSocket;
  /** Post id → when its event arrived. */
  arrivals: Map<string, number>;
}

async function connectFollowers(ws: string): Promise<Follower[]> {
  const followers: Follower[] = [];
  const open = async (): Promise<Follower> => {
    const socket = new WebSocket(ws, ["sluice.v1"]);
    const follower: Follower = { ws: socket, arrivals: new Map() };
    await new Promise<void>((resolve, reject) => {
      socket.on("message", (data: Buffer) => {
        const message = JSON.parse(data.toString("utf8"));
        if (message.type === "subscribed") resolve();
        else if (message.type === "event") follower.arrivals.set(message.value.postId, performance.now());
      });
      socket.once("open", () => socket.send(JSON.stringify({ type: "subscribe", topic: "post.created" })));
      socket.once("error", reject);
    });
    return follower;
  };
  for (let i = 0; i < FOLLOWERS; i += CONNECT_CONCURRENCY) {
    const batch = Math.min(CONNECT_CONCURRENCY, FOLLOWERS - i);
    followers.push(...(await Promise.all(Array.from({ length: batch }, open))));
  }
  return followers;
}

async function alertLatencies(
  http: string,
  token: string,
  followers: Follower[],
): Promise<{ latencies: number[]; missing: number }> {
  const accepted = new Map<string, number>();
  for (let i = 0; i < ALERT_POSTS; i += 1) {
    const answer = await call(`${http}/api/posts`, "POST", { title: `alert ${i}`, body: "for every follower" }, token);
    if (answer.status !== 202) throw new Error(`post: ${answer.status}`);
    accepted.set(answer.body.id, performance.now());
    await new Promise((resolve) => setTimeout(resolve, ALERT_SPACING_MS));
  }
  const deadline = performance.now() + ALERT_TIMEOUT_MS;
  const complete = () => followers.every((follower) => [...accepted.keys()].every((id) => follower.arrivals.has(id)));
  while (!complete() && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  const latencies: number[] = [];
  let missing = 0;
  for (const follower of followers) {
    for (const [id, acceptedMs] of accepted) {
      const arrived = follower.arrivals.get(id);
      if (arrived === undefined) missing += 1;
      else latencies.push(arrived - acceptedMs);
    }
  }
  return { latencies: latencies.sort((a, b) => a - b), missing };
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), "sluice-bench-wordium-"));
  log(`starting sluice up --apps wordium in ${dataDir}`);
  const up = await startUp(dataDir);
  try {
    const author = await signup(up.http, "author");
    log(`signup → profile for ${SIGNUPS} users`);
    const profiles = await signupToProfile(up.http);
    log(`posting from ${WRITERS} writers for ${THROUGHPUT_SECONDS} s`);
    const throughput = await postsPerSecond(up.http, author.token);
    log(`connecting ${FOLLOWERS} followers`);
    const followers = await connectFollowers(up.ws);
    // The throughput run's posts reach the followers first; alerts are timed once the topic is quiet again.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    log(`timing ${ALERT_POSTS} posts' alerts`);
    const cpuBefore = processCpuMs(up.child.pid);
    const alerts = await alertLatencies(up.http, author.token, followers);
    const alertCpu = cpuMicrosPer(cpuBefore, processCpuMs(up.child.pid), ALERT_POSTS);
    for (const follower of followers) follower.ws.terminate();

    const rows = [
      [
        "posts accepted per second",
        `${Math.round(throughput.accepted / throughput.seconds)}`,
        `${throughput.accepted} posts, ${WRITERS} writers, ${throughput.seconds.toFixed(1)} s`,
      ],
      [
        "post → follower alert p50",
        `${percentile(alerts.latencies, 0.5).toFixed(1)} ms`,
        `${FOLLOWERS} followers × ${ALERT_POSTS} posts`,
      ],
      [
        "post → follower alert p99",
        `${percentile(alerts.latencies, 0.99).toFixed(1)} ms`,
        `${alerts.missing} alerts missing after ${ALERT_TIMEOUT_MS / 1000} s`,
      ],
      [
        "sluice up's CPU time per alerted post",
        alertCpu === "n/a" ? alertCpu : `${(Number(alertCpu) / 1000).toFixed(1)} ms`,
        `accepting it, relaying it and sending it to ${FOLLOWERS} sockets`,
      ],
      ["signup → profile p50", `${percentile(profiles, 0.5).toFixed(1)} ms`, `${SIGNUPS} signups, one at a time`],
      ["signup → profile p99", `${percentile(profiles, 0.99).toFixed(1)} ms`, ""],
    ];
    const widths = [0, 1, 2].map((column) => Math.max(...rows.map((row) => (row[column] as string).length), 8));
    const line = (cells: string[]) => `| ${cells.map((cell, i) => cell.padEnd(widths[i] as number)).join(" | ")} |`;
    console.log(line(["measure", "value", "conditions"]));
    console.log(`|${widths.map((width) => "-".repeat(width + 2)).join("|")}|`);
    for (const row of rows) console.log(line(row));
    console.log(
      `\nnpm run bench:wordium -- --followers ${FOLLOWERS} --posts ${ALERT_POSTS} --seconds ${THROUGHPUT_SECONDS}`,
    );
  } finally {
    up.child.kill("SIGTERM");
    await new Promise((resolve) => up.child.once("exit", resolve));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
