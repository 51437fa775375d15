// The jobs bench's event → searchable part: jobs are posted one at a time at a steady pace, and each one's way is
// timed stage by stage by the probe inside `sluice up` (bench/stage-probe.ts): the job's transaction writes the
// job and its outbox row → the job service's relay claims the row → the broker acknowledges it (after its fsync) →
// the search service's consumer receives it → the consumer's transaction (the index update) commits, from which
// moment a search finds the job. The bench is told of that commit over IPC rather than polling the search (a poll
// every millisecond was itself load on the one database the consumer writes to), then searches once to confirm.
// Every figure is a distribution (p50, p99, max), not an average.

import type { ChildProcess } from "node:child_process";

import { cpuMicrosPer, nowMs, percentile, processCpuMs, table } from "./common.js";
import type { ProbeAnswer, ProbeRequest, ProbeStage, StageNote } from "./stage-probe.js";

export const SEARCH_GROUP = "jobs-search";
const JOB_TOPIC = "job-events";
const JOBS_SCHEMA = "jobs_jobs";
/** How long a job may take to become searchable before the run fails. */
const ARRIVAL_TIMEOUT_MS = 30_000;
/** Between confirming searches, when the first one after the commit did not find the job (it should). */
const CONFIRM_POLL_MS = 1;

interface Sample {
  key: string;
  postAnsweredMs: number;
  committedMs: number;
  foundMs: number;
}

export interface LatencyOptions {
  url: string;
  child: ChildProcess;
  /** Posts a job with this title; resolves with the job's id. */
  post: (title: string) => Promise<string>;
  jobs: number;
  intervalMs: number;
}

export interface LatencyResult {
  samples: Sample[];
  notes: StageNote[];
  /** Searches right after the commit that did not find the job yet. */
  lateConfirmations: number;
  /** CPU time sluice up used per job while the jobs were measured (user and system, all its threads). */
  cpuMsPerJob: string;
}

/** The probe's messages, and a way to wait for the commit of one key. */
class Probe {
  readonly #child: ChildProcess;
  readonly #commits = new Map<string, (atMs: number) => void>();
  #stages: ((answer: { notes: StageNote[]; dropped: number }) => void) | null = null;

  constructor(child: ChildProcess) {
    if (child.send === undefined) throw new Error("sluice up was started without an IPC channel for the probe");
    this.#child = child;
    child.on("message", (answer: ProbeAnswer) => {
      if (answer.type === "committed") this.#commits.get(answer.key)?.(answer.atMs);
      else if (answer.type === "stages") this.#stages?.(answer);
    });
  }

  #send(request: ProbeRequest): void {
    this.#child.send(request);
  }

  committed(group: string, key: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#commits.delete(key);
        reject(new Error(`job ${key} was not handled by ${group} within ${ARRIVAL_TIMEOUT_MS} ms`));
      }, ARRIVAL_TIMEOUT_MS);
      this.#commits.set(key, (atMs) => {
        clearTimeout(timer);
        this.#commits.delete(key);
        resolve(atMs);
      });
      this.#send({ type: "watch", group, key });
    });
  }

  stages(): Promise<{ notes: StageNote[]; dropped: number }> {
    return new Promise((resolve) => {
      this.#stages = resolve;
      this.#send({ type: "stages" });
    });
  }
}

async function searchCount(url: string, word: string): Promise<number> {
  const response = await fetch(`${url}/api/search/?q=${word}`);
  return ((await response.json()) as { count: number }).count;
}

export async function measureSearchLatency(options: LatencyOptions): Promise<LatencyResult> {
  const probe = new Probe(options.child);
  const samples: Sample[] = [];
  let lateConfirmations = 0;
  const cpuBeforeMs = processCpuMs(options.child.pid);
  for (let index = 0; index < options.jobs; index++) {
    const word = `zq${index.toString(36)}x${Date.now().toString(36)}`;
    const startedMs = nowMs();
    const key = await options.post(`Findable ${word}`);
    const postAnsweredMs = nowMs();
    const committedMs = await probe.committed(SEARCH_GROUP, key);
    let foundMs: number;
    for (let attempt = 0; ; attempt++) {
      const count = await searchCount(options.url, word);
      foundMs = nowMs();
      if (count === 1) break;
      if (attempt === 0) lateConfirmations += 1;
      if (foundMs - postAnsweredMs > ARRIVAL_TIMEOUT_MS) throw new Error(`job ${word} never became searchable`);
      await new Promise((resolve) => setTimeout(resolve, CONFIRM_POLL_MS));
    }
    samples.push({ key, postAnsweredMs, committedMs, foundMs });
    const spentMs = nowMs() - startedMs;
    if (spentMs < options.intervalMs) await new Promise((resolve) => setTimeout(resolve, options.intervalMs - spentMs));
  }
  const cpuMicrosPerJob = cpuMicrosPer(cpuBeforeMs, processCpuMs(options.child.pid), options.jobs);
  const cpuMsPerJob = cpuMicrosPerJob === "n/a" ? cpuMicrosPerJob : (Number(cpuMicrosPerJob) / 1000).toFixed(1);
  const { notes, dropped } = await probe.stages();
  if (dropped > 0) throw new Error(`the probe dropped ${dropped} stage notes; measure fewer jobs`);
  return { samples, notes, lateConfirmations, cpuMsPerJob };
}

/** The moment of each stage of each key, for the notes of one place (an outbox schema or a consumer group). */
function stagesByKey(notes: readonly StageNote[], where: string): Map<string, Partial<Record<ProbeStage, number>>> {
  const byKey = new Map<string, Partial<Record<ProbeStage, number>>>();
  for (const entry of notes) {
    if (entry.where !== where || entry.topic !== JOB_TOPIC) continue;
    let stages = byKey.get(entry.key);
    if (stages === undefined) {
      stages = {};
      byKey.set(entry.key, stages);
    }
    // The first time counts: a record fetched again after a failure is not the path being measured.
    stages[entry.stage] ??= entry.atMs;
  }
  return byKey;
}

function row(name: string, values: number[]): string[] {
  const sorted = [...values].sort((a, b) => a - b);
  return [
    name,
    String(sorted.length),
    percentile(sorted, 0.5).toFixed(1),
    percentile(sorted, 0.99).toFixed(1),
    (sorted[sorted.length - 1] ?? Number.NaN).toFixed(1),
  ];
}

/** Differences between two stages of every sample that has both. */
function between(
  samples: readonly Sample[],
  at: (sample: Sample) => { from: number | undefined; to: number | undefined },
): number[] {
  const values: number[] = [];
  for (const sample of samples) {
    const { from, to } = at(sample);
    if (from !== undefined && to !== undefined) values.push(to - from);
  }
  return values;
}

/** The tables the bench prints: the headline, the stages of the search path, and every job-events consumer. */
export function latencyTables(result: LatencyResult): string {
  const { samples, notes } = result;
  const relay = stagesByKey(notes, JOBS_SCHEMA);
  const groups = [
    ...new Set(
      notes.filter((entry) => entry.stage === "committed" && entry.topic === JOB_TOPIC).map((entry) => entry.where),
    ),
  ];
  const consumers = new Map(groups.map((group) => [group, stagesByKey(notes, group)]));
  const search = consumers.get(SEARCH_GROUP) ?? new Map();
  const header = ["", "jobs", "p50 ms", "p99 ms", "max ms"];
  const headline = table(
    ["event → searchable", ...header.slice(1)],
    [
      row(
        "job's transaction → searchable (search's commit)",
        between(samples, (sample) => ({ from: relay.get(sample.key)?.written, to: sample.committedMs })),
      ),
      row(
        "POST answered → searchable",
        samples.map((sample) => sample.committedMs - sample.postAnsweredMs),
      ),
      row(
        "POST answered → found by a search (this bench)",
        samples.map((sample) => sample.foundMs - sample.postAnsweredMs),
      ),
    ],
  );
  const stage = (from: (key: string) => number | undefined, to: (key: string) => number | undefined) =>
    between(samples, (sample) => ({ from: from(sample.key), to: to(sample.key) }));
  const stages = table(
    ["stage", ...header.slice(1)],
    [
      row(
        "transaction → relay claimed the row",
        stage(
          (key) => relay.get(key)?.written,
          (key) => relay.get(key)?.claimed,
        ),
      ),
      row(
        "claimed → broker acknowledged (fsync)",
        stage(
          (key) => relay.get(key)?.claimed,
          (key) => relay.get(key)?.acknowledged,
        ),
      ),
      row(
        "acknowledged → search consumer received",
        stage(
          (key) => relay.get(key)?.acknowledged,
          (key) => search.get(key)?.received,
        ),
      ),
      row(
        "received → search transaction committed",
        stage(
          (key) => search.get(key)?.received,
          (key) => search.get(key)?.committed,
        ),
      ),
      row(
        "committed → found by a search (IPC + HTTP)",
        samples.map((sample) => sample.foundMs - sample.committedMs),
      ),
    ],
  );
  const others = table(
    ["job-events consumer: after the broker's ack", "received p50", "received p99", "committed p50", "committed p99"],
    [...consumers].map(([group, byKey]) => {
      const received = stage(
        (key) => relay.get(key)?.acknowledged,
        (key) => byKey.get(key)?.received,
      ).sort((a, b) => a - b);
      const committed = stage(
        (key) => relay.get(key)?.acknowledged,
        (key) => byKey.get(key)?.committed,
      ).sort((a, b) => a - b);
      return [
        group,
        percentile(received, 0.5).toFixed(1),
        percentile(received, 0.99).toFixed(1),
        percentile(committed, 0.5).toFixed(1),
        percentile(committed, 0.99).toFixed(1),
      ];
    }),
  );
  return [
    headline,
    "",
    "Stages of the search path (the transaction's moment is its now(), to the millisecond):",
    "",
    stages,
    "",
    others,
    "",
    `Searches right after the commit that did not yet find the job: ${result.lateConfirmations}`,
    `CPU time of sluice up per job while they were measured (its request, the event's way, the confirming ` +
      `search): ${result.cpuMsPerJob} ms`,
  ].join("\n");
}
