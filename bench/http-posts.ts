// One POST /api/messages run of bench:http: the load through the lean client (http-load.ts), and what it cost the
// server process, the PostgreSQL backends serving it, and the load client itself, in CPU time from /proc.

import { randomUUID } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";

import { encodeRequest, runLoad } from "./http-load.js";
import { startPostgresCpu } from "./postgres-cpu.js";
import { log, nowMs } from "./common.js";

export interface PostRun {
  posts: number;
  accepted: number;
  startedMs: number;
  seconds: number;
  latencies: number[];
  /** CPU time the server used during the run, in seconds: what the requests cost, whatever else loads the machine. */
  serverCpuSeconds: number;
  /** The part of serverCpuSeconds that the server's main thread (the one that serves HTTP) used. */
  serverMainThreadCpuSeconds: number;
  /** The part of serverCpuSeconds that the server's busiest other thread used: PGlite's, when it has one. */
  serverBusiestOtherThreadCpuSeconds: number;
  /** The server's CPU time when the run started, for the CPU a post cost until the worker had stored it. */
  serverCpuAtStart: number;
  /** CPU time of the PostgreSQL server's backends serving the server during the run, in seconds; null on PGlite. */
  databaseCpuSeconds: number | null;
  /** CPU time this process (the load client) used during the run, in seconds. */
  clientCpuSeconds: number;
}

export interface PostLoad {
  posts: number;
  concurrency: number;
  /**
   * Posts sent before the measured run, which V8 spends compiling the server's code: a fresh `sluice up` used about a
   * third more CPU per post over its first 6,000 posts than over the next (2026-12-07).
   */
  warmupPosts: number;
  /** Waits, after the warm-up, until the server has done what the warm-up posts left it (the worker storing them). */
  afterWarmup: (() => Promise<void>) | null;
}

/** Clock ticks per second of /proc/<pid>/stat's utime and stime (USER_HZ, 100 on Linux). */
const CLOCK_TICKS_PER_SECOND = 100;

/** CPU seconds (user and system) a process has used so far; NaN where /proc is not there. */
export function cpuSeconds(pid: number): number {
  return statCpuSeconds(`/proc/${pid}/stat`);
}

/**
 * CPU seconds of each of the process's other threads than the main one, by thread id: with PGlite in a worker thread,
 * the busiest of them is that thread (Node does not name its threads, so it is told apart by its CPU).
 */
function otherThreadsCpuSeconds(pid: number): Map<string, number> {
  const seconds = new Map<string, number>();
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      if (tid !== String(pid)) seconds.set(tid, statCpuSeconds(`/proc/${pid}/task/${tid}/stat`));
    }
  } catch {
    // The process has ended, or there is no /proc.
  }
  return seconds;
}

function busiestThreadCpuSeconds(before: Map<string, number>, after: Map<string, number>): number {
  let busiest = 0;
  for (const [tid, seconds] of after) busiest = Math.max(busiest, seconds - (before.get(tid) ?? 0));
  return busiest;
}

function statCpuSeconds(path: string): number {
  try {
    // The command name in field 2 may hold spaces; the fields after its closing parenthesis are fixed.
    const fields = readFileSync(path, "utf8").split(") ")[1]?.split(" ") ?? [];
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return Number.NaN;
  }
}

async function post(url: string, count: number, concurrency: number) {
  const host = new URL(url).host;
  return runLoad({
    url,
    count,
    concurrency,
    request: (index) =>
      encodeRequest(host, {
        method: "POST",
        path: "/api/messages",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ id: randomUUID(), text: `bench message ${index}` }),
      }),
    check: (answer) => answer.status === 202,
  });
}

/**
 * Posts through the lean load client (http-load.ts): fetch would cost this process about half a millisecond of CPU
 * per request, on the same two cores as the server it measures.
 */
export async function benchPosts(
  url: string,
  pid: number,
  databaseUrl: string | null,
  load: PostLoad,
): Promise<PostRun> {
  if (load.warmupPosts > 0) {
    log(`warm-up: ${load.warmupPosts} messages, not measured…`);
    await post(url, load.warmupPosts, load.concurrency);
    await load.afterWarmup?.();
  }
  log(`POST: ${load.posts} messages from ${load.concurrency} concurrent clients…`);
  const databaseCpu = databaseUrl === null ? null : await startPostgresCpu(databaseUrl, pid);
  const cpuBefore = cpuSeconds(pid);
  // The main thread's id is the process's.
  const mainThreadCpuBefore = statCpuSeconds(`/proc/${pid}/task/${pid}/stat`);
  const otherThreadsCpuBefore = otherThreadsCpuSeconds(pid);
  const clientCpuBefore = process.cpuUsage();
  const startedMs = nowMs();
  const run = await post(url, load.posts, load.concurrency);
  const serverCpuSeconds = cpuSeconds(pid) - cpuBefore;
  const serverMainThreadCpuSeconds = statCpuSeconds(`/proc/${pid}/task/${pid}/stat`) - mainThreadCpuBefore;
  const serverBusiestOtherThreadCpuSeconds = busiestThreadCpuSeconds(
    otherThreadsCpuBefore,
    otherThreadsCpuSeconds(pid),
  );
  const clientCpu = process.cpuUsage(clientCpuBefore);
  const databaseCpuMs = databaseCpu === null ? null : await databaseCpu();
  return {
    posts: load.posts,
    accepted: run.ok,
    startedMs,
    seconds: run.seconds,
    latencies: run.latenciesMs,
    serverCpuSeconds,
    serverMainThreadCpuSeconds,
    serverBusiestOtherThreadCpuSeconds,
    serverCpuAtStart: cpuBefore,
    databaseCpuSeconds: databaseCpuMs === null ? null : databaseCpuMs / 1000,
    clientCpuSeconds: (clientCpu.user + clientCpu.system) / 1e6,
  };
}
