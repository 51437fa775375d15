// The message board under load, against `sluice up` running in its own process on a fresh data directory:
//   1. POST /api/messages: requests per second from concurrent clients, with the answer's latency (p50, p99) and the
//      CPU each request cost `sluice up` and the PostgreSQL server's backends, on PGlite and, when the PostgreSQL
//      server at DATABASE_URL (or --database-url) answers, on the server in a schema of its own;
//   2. POST → WebSocket: from sending a POST until its event arrives on a WebSocket subscribed to messages.saved
//      (published) and until the worker's messages.stored event arrives (stored), p50 and p99;
//   3. WebSocket fan-out: 1,000 clients on one topic, events delivered per second (bench/websocket-fanout.ts).
// Prints tables and the command. Run: npm run bench:http [-- --posts 5000 --concurrency 32 --quick]
//   --posts-only          measures only part 1 (on each database)
//   --pglite-only         skips the server
//   --server-only         skips PGlite (measures only the PostgreSQL server)
//   --only ROLES          runs only these roles of `sluice up` (its --only), e.g. `broker,api` to measure what the
//                         API alone costs per request, without the relay and the worker behind it; on the server only,
//                         since PGlite cannot be shared between the roles of separate processes
//   --up-flags "FLAGS"    more flags for each `sluice up`, e.g. "--group-commit-wait-ms 2", to compare settings
//   --ceiling             on the server only, sets the board's API alone (--only broker,api) and its whole path beside
//                         simpler servers under the same load (bench/http-ceiling.ts): bare Fastify checking the same
//                         body and answering 202 without a database, the same on Sluice's gateway, and bare Fastify
//                         group-committing one INSERT a group; prints their CPU per request and what two cores carry
//   --warmup N            posts N messages first, not measured (and waits until the worker stored them), so that the
//                         figures are a warm process's rather than V8 compiling the code of a fresh one
//   --cpu-prof-dir DIR    writes a CPU profile of each `sluice up` into DIR (node --cpu-prof), for finding where
//                         the time goes on a loaded machine, where wall-clock figures alone mislead

import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";

import pg from "pg";
import { WebSocket } from "ws";

import { startUp, type UpProcess } from "../test/apps/messages/up-process.js";
import { formatCeilingTable, startCeilingServer, type CeilingRow } from "./http-ceiling.js";
import { benchPosts, cpuSeconds, type PostLoad, type PostRun } from "./http-posts.js";
import { DEFAULT_FANOUT_CLIENTS, formatFanoutResult, runWebSocketFanout } from "./websocket-fanout.js";
import { log, nowMs, numberArgument, percentile, table } from "./common.js";

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const postsOnly = args.includes("--posts-only");
const pgliteOnly = args.includes("--pglite-only");
const serverOnly = args.includes("--server-only");
const ceiling = args.includes("--ceiling");

function textArgument(name: string): string | null {
  const index = args.indexOf(name);
  if (index < 0) return null;
  const value = args[index + 1];
  if (value === undefined || value.startsWith("--")) throw new Error(`${name} takes a value`);
  return value;
}

const POSTS = numberArgument(args, "--posts", quick ? 1_000 : 5_000);
const CONCURRENCY = numberArgument(args, "--concurrency", 32);
const WARMUP_POSTS = numberArgument(args, "--warmup", 0);
const LATENCY_POSTS = numberArgument(args, "--latency-posts", quick ? 100 : 500);
/** Latency is measured at a steady pace, not flat out, so that it shows the path's delay rather than a queue. */
const LATENCY_INTERVAL_MS = 10;
const FANOUT_CLIENTS = numberArgument(args, "--clients", DEFAULT_FANOUT_CLIENTS);
const FANOUT_EVENTS = numberArgument(args, "--events", quick ? 200 : 1_000);
const ARRIVAL_TIMEOUT_MS = 60_000;
const SERVER_URL =
  textArgument("--database-url") ?? process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const CPU_PROF_DIR = textArgument("--cpu-prof-dir");
const ONLY_ROLES = textArgument("--only");
/** The flags are one argument, which starts with "--" itself, so it is read as it is. */
const UP_FLAGS = args.includes("--up-flags")
  ? (args[args.indexOf("--up-flags") + 1] ?? "").split(" ").filter((flag) => flag !== "")
  : [];
if ((ONLY_ROLES !== null || ceiling) && !postsOnly)
  throw new Error("--only and --ceiling need --posts-only: without the worker nothing is stored");
const SERVER_CONNECT_TIMEOUT_MS = 3_000;
const LOAD: PostLoad = { posts: POSTS, concurrency: CONCURRENCY, warmupPosts: WARMUP_POSTS, afterWarmup: null };

/** Starts `sluice up` for the message board on a fresh data directory, on the server in schema when one is given, else on PGlite. */
async function startSystem(
  dataDir: string,
  server: { url: string; schema: string } | null,
  roles: string | null,
): Promise<UpProcess> {
  // The message board alone: the other apps keep their tables in fixed schemas, which must not be shared on a server.
  const flags = [
    "--port",
    "0",
    "--broker-port",
    "0",
    "--registry-port",
    "0",
    "--data-dir",
    dataDir,
    ...(roles === null ? ["--apps", "messages"] : ["--only", roles]),
    ...UP_FLAGS,
  ];
  const env: Record<string, string> = { SLUICE_LOG_LEVEL: "warn" };
  if (server !== null) {
    flags.push("--database-schema", server.schema);
    env.DATABASE_URL = server.url;
  }
  if (CPU_PROF_DIR !== null) env.NODE_OPTIONS = `--cpu-prof --cpu-prof-dir=${resolve(CPU_PROF_DIR)}`;
  return startUp(flags, env);
}

/** Stops `sluice up` with SIGTERM, as a user would, so that a CPU profile is written on its way out. */
async function stopSystem(up: UpProcess): Promise<void> {
  up.child.kill("SIGTERM");
  await up.exited;
}

/** Null when the server answers, else why not. */
async function serverUnreachable(url: string): Promise<string | null> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: SERVER_CONNECT_TIMEOUT_MS });
  client.on("error", () => undefined);
  try {
    await client.connect();
    await client.end();
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

async function dropSchema(url: string, schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await client.end();
  }
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

/** Posts per group commit of the API so far, from its metrics: how well requests that arrive together share a statement. */
async function postsPerGroup(url: string): Promise<number | null> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const read = (name: string): number | null => {
    const line = text.split("\n").find((entry) => entry.startsWith(`${name}{name="messages"}`));
    return line === undefined ? null : Number(line.split(" ").pop());
  };
  const groups = read("sluice_group_commit_groups_total");
  const items = read("sluice_group_commit_items_total");
  return groups === null || items === null || groups === 0 ? null : items / groups;
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

interface DatabaseRun {
  database: string;
  posts: PostRun;
  /** Seconds from the first POST until the worker had stored every accepted message; null with --posts-only. */
  storedSeconds: number | null;
  /**
   * CPU time `sluice up` used from the first POST until the worker had stored every message, in seconds: the whole
   * path's cost (but the relay of the last messages.stored events), which the POST run alone understates when the
   * relay and the worker fall behind during it. Null with --only, where nothing is stored.
   */
  cpuUntilStoredSeconds: number | null;
  /** Posts per API group commit over the run. */
  postsPerGroup: number | null;
}

/** Runs the POST load (and, unless --posts-only, waits for the worker) against a fresh system on one database. */
async function runOn(
  database: string,
  server: { url: string; schema: string } | null,
  more: ((up: UpProcess) => Promise<void>) | null,
  roles: string | null = ONLY_ROLES,
): Promise<DatabaseRun> {
  const dataDir = mkdtempSync(join(tmpdir(), "sluice-bench-http-"));
  const up = await startSystem(dataDir, server, roles);
  log(`sluice up on ${database}: ${up.url}, Kafka ${up.kafka}`);
  try {
    const posts = await benchPosts(up.url, up.child.pid ?? 0, server?.url ?? null, {
      ...LOAD,
      afterWarmup: roles !== null ? null : async () => void (await waitForStored(up.url, WARMUP_POSTS, nowMs())),
    });
    // Without the worker (--only) nothing is stored; otherwise the run waits for it, also with --posts-only.
    const storedSeconds =
      roles !== null ? null : await waitForStored(up.url, WARMUP_POSTS + posts.accepted, posts.startedMs);
    const cpuUntilStoredSeconds =
      storedSeconds === null ? null : cpuSeconds(up.child.pid ?? 0) - posts.serverCpuAtStart;
    const perGroup = await postsPerGroup(up.url);
    if (more !== null) await more(up);
    return { database, posts, storedSeconds, cpuUntilStoredSeconds, postsPerGroup: perGroup };
  } finally {
    await stopSystem(up);
    rmSync(dataDir, { recursive: true, force: true });
    if (server !== null) await dropSchema(server.url, server.schema);
  }
}

function postRow(run: DatabaseRun): string[] {
  const { posts } = run;
  return [
    run.database,
    String(posts.posts),
    String(posts.accepted),
    posts.seconds.toFixed(2),
    Math.round(posts.posts / posts.seconds).toLocaleString("en-US"),
    percentile(posts.latencies, 0.5).toFixed(1),
    percentile(posts.latencies, 0.99).toFixed(1),
    ((posts.serverCpuSeconds * 1000) / posts.posts).toFixed(2),
    ((posts.serverMainThreadCpuSeconds * 1000) / posts.posts).toFixed(2),
    ((posts.serverBusiestOtherThreadCpuSeconds * 1000) / posts.posts).toFixed(2),
    run.cpuUntilStoredSeconds === null ? "-" : ((run.cpuUntilStoredSeconds * 1000) / posts.posts).toFixed(2),
    posts.databaseCpuSeconds === null ? "-" : ((posts.databaseCpuSeconds * 1000) / posts.posts).toFixed(2),
    ((posts.clientCpuSeconds * 1000) / posts.posts).toFixed(2),
    run.storedSeconds === null ? "-" : Math.round(posts.accepted / run.storedSeconds).toLocaleString("en-US"),
    run.postsPerGroup === null ? "-" : run.postsPerGroup.toFixed(1),
  ];
}

function newSchema(): string {
  return `bench_http_${randomUUID().replaceAll("-", "").slice(0, 12)}`;
}

function ceilingRow(what: string, posts: PostRun): CeilingRow {
  return {
    what,
    requestsPerSecond: posts.posts / posts.seconds,
    p50Ms: percentile(posts.latencies, 0.5),
    p99Ms: percentile(posts.latencies, 0.99),
    serverCpuMs: (posts.serverCpuSeconds * 1000) / posts.posts,
    databaseCpuMs: posts.databaseCpuSeconds === null ? null : (posts.databaseCpuSeconds * 1000) / posts.posts,
    clientCpuMs: (posts.clientCpuSeconds * 1000) / posts.posts,
  };
}

/** --ceiling: the two bare servers, then the board's API alone and its whole path, all on the server. */
async function measureCeiling(): Promise<void> {
  const reason = await serverUnreachable(SERVER_URL);
  if (reason !== null) throw new Error(`--ceiling needs the PostgreSQL server at ${SERVER_URL}: ${reason}`);
  const rows: CeilingRow[] = [];
  const modes = [
    ["bare", "bare Fastify, 202, no database"],
    ["gateway", "Sluice's gateway, 202, no database"],
    ["insert", "bare Fastify + one group-committed INSERT a group"],
  ] as const;
  for (const [mode, what] of modes) {
    const schema = newSchema();
    const database = mode === "insert" ? { url: SERVER_URL, schema } : null;
    const server = await startCeilingServer(mode, database);
    log(`ceiling server (${mode}): ${server.url}`);
    try {
      const posts = await benchPosts(server.url, server.pid, database === null ? null : SERVER_URL, LOAD);
      rows.push(ceilingRow(what, posts));
    } finally {
      await server.stop();
      if (database !== null) await dropSchema(SERVER_URL, schema);
    }
  }
  const apiAlone = await runOn("", { url: SERVER_URL, schema: newSchema() }, null, "broker,api");
  rows.push(ceilingRow("sluice up --only broker,api (API, outbox INSERT)", apiAlone.posts));
  const whole = await runOn("", { url: SERVER_URL, schema: newSchema() }, null, null);
  rows.push(ceilingRow("sluice up --apps messages (the whole path)", whole.posts));
  console.log(
    `\nnpm run bench:http -- ${args.join(" ")}  (node ${process.version}, ${cpus().length} cores, load average ` +
      `${loadavg()[0]?.toFixed(1)} at the end; PostgreSQL server at ${new URL(SERVER_URL).host})\n`,
  );
  const warmup = WARMUP_POSTS > 0 ? ` after ${WARMUP_POSTS} not measured` : "";
  console.log(
    `POST /api/messages, ${POSTS} requests${warmup} from ${CONCURRENCY} concurrent clients, each server alone:`,
  );
  console.log(formatCeilingTable(rows));
  console.log(
    "(CPU per request from /proc: the server process, the PostgreSQL backends serving it, and this load client, " +
      'which shares the machine\'s cores with them. "2 cores carry" is 2,000 ms divided by the CPU per request: ' +
      "the rate at which the two cores would be busy with nothing else.)",
  );
}

async function main(): Promise<void> {
  if (ceiling) {
    await measureCeiling();
    return;
  }
  let arrivals: Arrivals | null = null;
  let fanout: Awaited<ReturnType<typeof runWebSocketFanout>> | null = null;
  const runs: DatabaseRun[] = [];
  // Latency and fan-out are measured once, on PGlite, on an idle system after the worker caught up with the load.
  if (ONLY_ROLES === null && !serverOnly) {
    runs.push(
      await runOn(
        "PGlite",
        null,
        postsOnly
          ? null
          : async (up) => {
              arrivals = await benchArrival(up.url);
              fanout = await runWebSocketFanout({
                url: `${up.url.replace(/^http/, "ws")}/ws`,
                brokers: [up.kafka],
                clients: FANOUT_CLIENTS,
                events: FANOUT_EVENTS,
                log,
              });
            },
      ),
    );
  }
  let serverNote = "";
  if (!pgliteOnly) {
    const reason = await serverUnreachable(SERVER_URL);
    if (reason === null) {
      runs.push(await runOn("PostgreSQL server", { url: SERVER_URL, schema: newSchema() }, null));
    } else {
      serverNote = `(The PostgreSQL server at ${SERVER_URL} did not answer, so it was not measured: ${reason})`;
    }
  }

  console.log(
    `\nnpm run bench:http${args.length > 0 ? ` -- ${args.join(" ")}` : ""}  ` +
      `(node ${process.version}, ${cpus().length} cores; sluice up --apps messages with the embedded broker)\n`,
  );
  console.log(`POST /api/messages, ${CONCURRENCY} concurrent clients:`);
  console.log(
    table(
      [
        "database",
        "requests",
        "accepted",
        "seconds",
        "requests/s",
        "p50 ms",
        "p99 ms",
        "server CPU ms/request",
        "… main thread",
        "… busiest other thread",
        "… until stored",
        "PostgreSQL CPU ms/request",
        "load client CPU ms/request",
        "stored/s end to end",
        "posts per group",
      ],
      runs.map(postRow),
    ),
  );
  if (serverNote !== "") console.log(serverNote);
  console.log(
    "(server CPU: what `sluice up` used per request during the run, its relay, worker and broker included, and " +
      "until the worker had stored every message; main thread: the part of it on the thread that serves HTTP; busiest " +
      "other thread: PGlite's worker thread when it has one (--pglite-thread), else one of V8's or libuv's helpers; " +
      "PostgreSQL CPU: the server's backends serving it, read from /proc. Neither depends much on what else loads " +
      "the machine.)",
  );
  const measured = arrivals as Arrivals | null;
  if (measured !== null) {
    console.log();
    console.log(
      table(
        ["POST → event on a WebSocket (PGlite)", "messages", "p50 ms", "p99 ms"],
        [
          [
            "published (messages.saved)",
            String(measured.published.length),
            percentile(measured.published, 0.5).toFixed(1),
            percentile(measured.published, 0.99).toFixed(1),
          ],
          [
            "stored (messages.stored)",
            String(measured.stored.length),
            percentile(measured.stored, 0.5).toFixed(1),
            percentile(measured.stored, 0.99).toFixed(1),
          ],
        ],
      ),
    );
    if (measured.missing > 0) console.log(`(${measured.missing} events did not arrive within the time limit)`);
  }
  if (fanout !== null) {
    console.log();
    console.log("WebSocket fan-out (one topic):");
    console.log(formatFanoutResult(fanout));
  }
}

await main();
