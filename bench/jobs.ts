// The jobs board under load, against `sluice up --apps jobs` in its own process on a fresh data directory, through
// the gateway (rate limit off), from concurrent clients:
//   1. POST /api/jobs/: job creation, requests per second;
//   2. GET /api/jobs/: the listing served from the cache, and uncached (Cache-Control: no-cache), requests per second;
//   3. event → searchable: from the job's transaction (and from the POST's answer) until search finds it, p50 and
//      p99, with each stage of the way timed by a probe inside sluice up (bench/jobs-latency.ts).
// With REDIS_URL set the cache is in that Redis, otherwise in the process. The flat-out runs send from the lean
// keep-alive client of bench/http-load.ts (fetch's own CPU cost capped the figure). Prints tables and the command.
// --latency-only skips the request rates (and the 5,000 jobs they add to the index).
// --cpu-prof <dir> has sluice up write a CPU profile there when it stops.
// Run: npm run bench:jobs [-- --requests 5000 --concurrency 32 --searches 200 --quick --latency-only --cpu-prof <dir>]

import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { cpuMicrosPer, log, numberArgument, processCpuMs, table } from "./common.js";
import { encodeRequest, runLoad } from "./http-load.js";
import { latencyTables, measureSearchLatency } from "./jobs-latency.js";

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const latencyOnly = args.includes("--latency-only");
/** Where sluice up writes a CPU profile (node --cpu-prof) when it stops; none without the flag. */
const cpuProfileDir = args.includes("--cpu-prof") ? (args[args.indexOf("--cpu-prof") + 1] ?? null) : null;

const REQUESTS = numberArgument(args, "--requests", quick ? 1_000 : 5_000);
const CONCURRENCY = numberArgument(args, "--concurrency", 32);
const SEARCHES = numberArgument(args, "--searches", quick ? 50 : 200);
/** Latency is measured one job at a time at a steady pace, so that it shows the path's delay, not a queue. */
const SEARCH_INTERVAL_MS = 20;
const START_TIMEOUT_MS = 90_000;
/** Consecutive cache hits that show the job events of the creation run have all been handled. */
const SETTLED_HITS = 50;

function startUp(dataDir: string): Promise<{ child: ChildProcess; http: string }> {
  const child = spawn(
    process.execPath,
    [
      ...(cpuProfileDir === null ? [] : ["--cpu-prof", "--cpu-prof-dir", cpuProfileDir]),
      "--import",
      "tsx",
      "--import",
      "./bench/stage-probe.ts",
      "src/cli/main.ts",
      "up",
      "--apps",
      "jobs",
      "--port",
      "0",
      "--broker-port",
      "0",
    ].concat(["--data-dir", dataDir, "--log-level", "warn"]),
    {
      // The IPC channel is the stage probe's (bench/stage-probe.ts).
      stdio: ["ignore", "pipe", "inherit", "ipc"],
      env: {
        ...process.env,
        KAFKA_BROKERS: "",
        DATABASE_URL: "",
        JOBS_RATE_LIMIT_PER_SECOND: "off",
        JOBS_USERS_PORT: "off",
        JOBS_JOBS_PORT: "off",
        JOBS_APPLICATIONS_PORT: "off",
      },
    },
  );
  return new Promise((resolve, reject) => {
    let output = "";
    const timer = setTimeout(
      () => reject(new Error(`sluice up did not start in ${START_TIMEOUT_MS} ms`)),
      START_TIMEOUT_MS,
    );
    child.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString("utf8");
      const http = /Jobs board +(http:\/\/\S+?)\/\s/.exec(output)?.[1];
      if (http !== undefined && output.includes("Stop with")) {
        clearTimeout(timer);
        resolve({ child, http });
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`sluice up exited with ${String(code)} before it was up`));
    });
  });
}

async function call(url: string, init: RequestInit = {}): Promise<{ status: number; body: unknown }> {
  const response = await fetch(url, init);
  const text = await response.text();
  return { status: response.status, body: text === "" ? null : JSON.parse(text) };
}

/** The request rates: job creation, then the listing cached and uncached; returns the tables to print. */
async function measureRates(url: string, headers: Record<string, string>, serverPid?: number): Promise<string> {
  const host = new URL(url).host;
  const listing = encodeRequest(host, { method: "GET", path: "/api/jobs/" });
  const uncachedListing = encodeRequest(host, {
    method: "GET",
    path: "/api/jobs/",
    headers: { "cache-control": "no-cache" },
  });

  log(`POST /api/jobs/: ${REQUESTS} jobs from ${CONCURRENCY} clients…`);
  const creation = await runLoad({
    url,
    count: REQUESTS,
    concurrency: CONCURRENCY,
    request: (index) =>
      encodeRequest(host, {
        method: "POST",
        path: "/api/jobs/",
        headers,
        body: JSON.stringify({
          title: `Bench job ${index}`,
          description: "A job posted by the benchmark",
          location: "Porto",
        }),
      }),
    check: (answer) => answer.status === 201,
  });
  // Every job event makes the cached listings stale, so the cached run waits until the events have been handled.
  log("waiting until the job events are handled (the cached listing stays cached)…");
  for (let hits = 0; hits < SETTLED_HITS;) {
    const response = await fetch(`${url}/api/jobs/`);
    await response.arrayBuffer();
    hits = response.headers.get("x-cache") === "hit" ? hits + 1 : 0;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  // A warm-up run first (not counted), so that the figure is the server's steady state rather than its JIT's first
  // compilations of the cached path.
  await runLoad({ url, count: REQUESTS / 5, concurrency: CONCURRENCY, request: () => listing, check: () => true });
  log(`GET /api/jobs/ cached: ${REQUESTS} requests…`);
  const cpuBefore = { server: processCpuMs(serverPid), client: processCpuMs(process.pid) };
  let hits = 0;
  const cached = await runLoad({
    url,
    count: REQUESTS,
    concurrency: CONCURRENCY,
    request: () => listing,
    check: (answer) => {
      if (answer.headers.get("x-cache") === "hit") hits += 1;
      return answer.status === 200;
    },
  });
  const cachedCpu = {
    server: cpuMicrosPer(cpuBefore.server, processCpuMs(serverPid), REQUESTS),
    client: cpuMicrosPer(cpuBefore.client, processCpuMs(process.pid), REQUESTS),
  };
  log(`GET /api/jobs/ uncached: ${REQUESTS} requests…`);
  const uncached = await runLoad({
    url,
    count: REQUESTS,
    concurrency: CONCURRENCY,
    request: () => uncachedListing,
    check: (answer) => answer.status === 200,
  });

  return [
    table(
      ["what", "requests", "answered as expected", "requests/s"],
      [
        ["POST /api/jobs/ (create)", String(creation.count), String(creation.ok), creation.perSecond.toFixed(0)],
        ["GET /api/jobs/ cached", String(cached.count), `${cached.ok} (${hits} hits)`, cached.perSecond.toFixed(0)],
        ["GET /api/jobs/ uncached", String(uncached.count), String(uncached.ok), uncached.perSecond.toFixed(0)],
      ],
    ),
    "",
    `CPU time per cached listing request: sluice up ${cachedCpu.server} µs, this bench's client ` +
      `${cachedCpu.client} µs (on a core of its own, sluice up would answer 1,000,000 / that many a second)`,
  ].join("\n");
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), "sluice-bench-jobs-"));
  log("starting sluice up --apps jobs…");
  const up = await startUp(dataDir);
  try {
    const url = up.http;
    const registered = await call(`${url}/api/users/register/`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        username: "bench",
        email: "bench@example.com",
        password: "bench123",
        user_type: "employer",
      }),
    });
    const token = (registered.body as { access: string }).access;
    const headers = { "content-type": "application/json", authorization: `Bearer ${token}` };
    const post = async (title: string): Promise<string> => {
      const response = await fetch(`${url}/api/jobs/`, {
        method: "POST",
        headers,
        body: JSON.stringify({ title, description: "A job posted by the benchmark", location: "Porto" }),
      });
      const body = (await response.json()) as { id?: string };
      if (response.status !== 201 || body.id === undefined)
        throw new Error(`a job was not created: ${response.status}`);
      return body.id;
    };
    const cache = process.env.REDIS_URL ? `Redis (${process.env.REDIS_URL})` : "in process";
    const rates = latencyOnly ? null : await measureRates(url, headers, up.child.pid);

    log(`event → searchable: ${SEARCHES} jobs, one every ${SEARCH_INTERVAL_MS} ms…`);
    const latency = await measureSearchLatency({
      url,
      child: up.child,
      post,
      jobs: SEARCHES,
      intervalMs: SEARCH_INTERVAL_MS,
    });

    console.log(
      `\nJobs board through the gateway, ${CONCURRENCY} clients, cache ${cache}, ${cpus().length} cores, Node ${process.versions.node}\n`,
    );
    if (rates !== null) console.log(`${rates}\n`);
    console.log(latencyTables(latency));
    console.log(`\nCommand: npm run bench:jobs${args.length === 0 ? "" : ` -- ${args.join(" ")}`}`);
  } finally {
    up.child.kill("SIGTERM");
    await new Promise((resolve) => up.child.once("exit", resolve));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
