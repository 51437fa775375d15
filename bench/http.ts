// The message board under load, against `sluice up` running in its own process on a fresh data directory:
//   1. POST /api/messages: requests per second from concurrent clients, with the answer's latency;
//   2. POST → WebSocket: from sending a POST until its event arrives on a WebSocket subscribed to messages.saved
//      (published) and until the worker's messages.stored event arrives (stored), p50 and p99;
//   3. WebSocket fan-out: 1,000 clients on one topic, events delivered per second (bench/websocket-fanout.ts).
// Prints tables and the command. Run: npm run bench:http [-- --posts 5000 --concurrency 32 --quick]

import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";

import { WebSocket } from "ws";

import { DEFAULT_FANOUT_CLIENTS, formatFanoutResult, runWebSocketFanout } from "./websocket-fanout.js";
import { log, nowMs, numberArgument, percentile, table } from "./common.js";

const args = process.argv.slice(2);
const quick = args.includes("--quick");

const POSTS = numberArgument(args, "--posts", quick ? 1_000 : 5_000);
const CONCURRENCY = numberArgument(args, "--concurrency", 32);
const LATENCY_POSTS = numberArgument(args, "--latency-posts", quick ? 100 : 500);
/** Latency is measured at a steady pace, not flat out, so that it shows the path's delay rather than a queue. */
const LATENCY_INTERVAL_MS = 10;
const FANOUT_CLIENTS = numberArgument(args, "--clients", DEFAULT_FANOUT_CLIENTS);
const FANOUT_EVENTS = numberArgument(args, "--events", quick ? 200 : 1_000);
const START_TIMEOUT_MS = 60_000;
const ARRIVAL_TIMEOUT_MS = 60_000;

interface RunningUp {
  child: ChildProcess;
  http: string;
  kafka: string;
}

function startUp(dataDir: string): Promise<RunningUp> {
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      "src/cli/main.ts",
      "up",
      "--port",
      "0",
      "--broker-port",
      "0",
      "--registry-port",
      "0",
      "--data-dir",
      dataDir,
      "--log-level",
      "warn",
    ],
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
      const http = /Message board +(http:\/\/\S+)\//.exec(output)?.[1];
      const kafka = /Kafka +(\S+)/.exec(output)?.[1];
      if (http !== undefined && kafka !== undefined && output.includes("Stop with")) {
        clearTimeout(timer);
        resolve({ child, http, kafka });
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`sluice up exited with ${String(code)} before it was up`));
    });
  });
}

async function postMessage(url: string, id: string, text: string): Promise<number> {
  const response = await fetch(`${url}/api/messages`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ id, text }),
  });
  await response.arrayBuffer();
  return response.status;
}

interface PostRun {
  posts: number;
  accepted: number;
  startedMs: number;
  seconds: number;
  latencies: number[];
}

async function benchPosts(url: string): Promise<PostRun> {
  log(`POST: ${POSTS} messages from ${CONCURRENCY} concurrent clients…`);
  const latencies: number[] = [];
  let next = 0;
  let accepted = 0;
  const started = nowMs();
  const client = async (): Promise<void> => {
    while (next < POSTS) {
      const index = next++;
      const sent = nowMs();
      const status = await postMessage(url, randomUUID(), `bench message ${index}`);
      latencies.push(nowMs() - sent);
      if (status === 202) accepted += 1;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, client));
  const seconds = (nowMs() - started) / 1000;
  return { posts: POSTS, accepted, startedMs: started, seconds, latencies: latencies.sort((a, b) => a - b) };
}

/** Waits until the worker has stored `count` messages (the board's newest cursor counts them) and times it. */
async function waitForStored(url: string, count: number, postsStartedMs: number): Promise<number> {
  log(`waiting for the worker to store all ${count} messages…`);
  const deadline = nowMs() + ARRIVAL_TIMEOUT_MS * 5;
  while (nowMs() < deadline) {
    const response = await fetch(`${url}/api/messages?limit=1`);
    const page = (await response.json()) as { messages: Array<{ cursor: string }> };
    if (Number(page.messages[0]?.cursor ?? 0) >= count) return (nowMs() - postsStartedMs) / 1000;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`the worker did not store ${count} messages in time`);
}

interface Arrivals {
  published: number[];
  stored: number[];
  missing: number;
}

/** Subscribes to both topics, then posts at a steady pace and times each message's two events. */
async function benchArrival(url: string): Promise<Arrivals> {
  log(`POST → WebSocket: ${LATENCY_POSTS} messages, one every ${LATENCY_INTERVAL_MS} ms…`);
  const sentAt = new Map<string, number>();
  const published: number[] = [];
  const stored: number[] = [];
  const ws = new WebSocket(`${url.replace(/^http/, "ws")}/ws`);
  await new Promise<void>((resolve, reject) => {
    let subscribed = 0;
    ws.once("error", reject);
    ws.on("message", (data: Buffer) => {
      const frame = JSON.parse(data.toString("utf8")) as {
        type: string;
        topic?: string;
        headers?: Record<string, string>;
        value?: { messageId?: string };
      };
      if (frame.type === "subscribed" && ++subscribed === 2) resolve();
      if (frame.type !== "event") return;
      const id = frame.topic === "messages.saved" ? frame.headers?.["sluice-event-id"] : frame.value?.messageId;
      const sent = id === undefined ? undefined : sentAt.get(id);
      if (sent === undefined) return;
      (frame.topic === "messages.saved" ? published : stored).push(nowMs() - sent);
    });
    ws.once("open", () => {
      ws.send(JSON.stringify({ type: "subscribe", topic: "messages.saved" }));
      ws.send(JSON.stringify({ type: "subscribe", topic: "messages.stored" }));
    });
  });
  for (let index = 0; index < LATENCY_POSTS; index++) {
    const id = randomUUID();
    sentAt.set(id, nowMs());
    void postMessage(url, id, `latency probe ${index}`);
    await new Promise((resolve) => setTimeout(resolve, LATENCY_INTERVAL_MS));
  }
  const deadline = nowMs() + ARRIVAL_TIMEOUT_MS;
  while ((published.length < LATENCY_POSTS || stored.length < LATENCY_POSTS) && nowMs() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  ws.terminate();
  return {
    published: published.sort((a, b) => a - b),
    stored: stored.sort((a, b) => a - b),
    missing: 2 * LATENCY_POSTS - published.length - stored.length,
  };
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), "sluice-bench-http-"));
  const up = await startUp(dataDir);
  log(`sluice up: ${up.http}, Kafka ${up.kafka}`);
  try {
    const posts = await benchPosts(up.http);
    // Latency is measured on an idle system, after the worker has caught up with the load above.
    const storedSeconds = await waitForStored(up.http, posts.accepted, posts.startedMs);
    const arrivals = await benchArrival(up.http);
    const fanout = await runWebSocketFanout({
      url: `${up.http.replace(/^http/, "ws")}/ws`,
      brokers: [up.kafka],
      clients: FANOUT_CLIENTS,
      events: FANOUT_EVENTS,
      log,
    });

    console.log(
      `\nnpm run bench:http${args.length > 0 ? ` -- ${args.join(" ")}` : ""}  ` +
        `(node ${process.version}, ${cpus().length} cores; sluice up with the embedded broker and PGlite)\n`,
    );
    console.log(
      table(
        ["POST /api/messages", "requests", "accepted", "seconds", "requests/s", "p50 ms", "p99 ms"],
        [
          [
            `${CONCURRENCY} concurrent clients`,
            String(posts.posts),
            String(posts.accepted),
            posts.seconds.toFixed(2),
            Math.round(posts.posts / posts.seconds).toLocaleString("en-US"),
            percentile(posts.latencies, 0.5).toFixed(1),
            percentile(posts.latencies, 0.99).toFixed(1),
          ],
        ],
      ),
    );
    console.log(
      `The worker had stored all ${posts.accepted} of them ${storedSeconds.toFixed(2)} s after the first POST ` +
        `(${Math.round(posts.accepted / storedSeconds).toLocaleString("en-US")} messages/s end to end).`,
    );
    console.log();
    console.log(
      table(
        ["POST → event on a WebSocket", "messages", "p50 ms", "p99 ms"],
        [
          [
            "published (messages.saved)",
            String(arrivals.published.length),
            percentile(arrivals.published, 0.5).toFixed(1),
            percentile(arrivals.published, 0.99).toFixed(1),
          ],
          [
            "stored (messages.stored)",
            String(arrivals.stored.length),
            percentile(arrivals.stored, 0.5).toFixed(1),
            percentile(arrivals.stored, 0.99).toFixed(1),
          ],
        ],
      ),
    );
    if (arrivals.missing > 0) console.log(`(${arrivals.missing} events did not arrive within the time limit)`);
    console.log();
    console.log("WebSocket fan-out (one topic):");
    console.log(formatFanoutResult(fanout));
  } finally {
    up.child.kill("SIGTERM");
    await new Promise((resolve) => up.child.once("exit", resolve));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
