// The latency measure of bench:toolkit: the time from an outbox commit to the handler's commit at a fixed offered
// rate with relay and consumer running, and the median of each stage an event passes on the way.

import { performance } from "node:perf_hooks";

import { addToOutbox, OutboxRelay } from "../src/toolkit/index.js";
import { benchEvent, consumerOf, DRAIN_TIMEOUT_MS, ensureTopic, log, until, type BenchRun } from "./toolkit-run.js";
import type { Row } from "./toolkit-table.js";

const LATENCY_RATE_PER_S = 100;

/** The stages an event passes between its outbox commit and its handler's commit, in order. */
const LATENCY_STAGES = ["relay claim", "broker ack", "handler start", "handler commit"];

export async function commitToHandlerLatency(run: BenchRun): Promise<Row[]> {
  const { db, client, kind } = run;
  const durationMs = run.settings.latencyDurationMs;
  const topic = benchEvent(run, `${run.namePrefix}bench-latency-${kind}`);
  await ensureTopic(client, topic, topic.name);
  const committedAt = new Map<string, number>();
  const handledEarly = new Map<string, number>();
  /** When each event reached each stage (LATENCY_STAGES), by event id, to show where the time goes. */
  const stagesAt = new Map<string, number[]>();
  const stageReached = (eventId: string, stage: number): void => {
    let times = stagesAt.get(eventId);
    if (times === undefined) stagesAt.set(eventId, (times = []));
    times[stage] = performance.now();
  };
  const samples: number[] = [];
  const relay = new OutboxRelay({
    db,
    client,
    idlePollIntervalMs: 1_000,
    lagIntervalMs: 0,
    cleanupIntervalMs: 0,
    hooks: {
      afterClaim: (records) => records.forEach((record) => stageReached(record.eventId, 0)),
      afterSend: (records) => records.forEach((record) => stageReached(record.eventId, 1)),
    },
  });
  const consumer = consumerOf(
    client,
    db,
    topic,
    topic.name,
    (eventId) => {
      stageReached(eventId, 3);
      const start = committedAt.get(eventId);
      // A handler can commit before the outbox transaction's promise has resolved here (its last round trip and
      // this process's turn come after the COMMIT): the sample, taken when that time is known, counts as 0 ms.
      if (start === undefined) handledEarly.set(eventId, performance.now());
      else samples.push(performance.now() - start);
    },
    "one",
    (eventId) => stageReached(eventId, 2),
  );
  await relay.start();
  await consumer.start();
  await consumer.whenReady(30_000);
  const total = Math.floor((durationMs / 1000) * LATENCY_RATE_PER_S);
  log(`${kind}: latency, ${LATENCY_RATE_PER_S} events/s offered for ${durationMs / 1000} s…`);
  try {
    const intervalMs = 1000 / LATENCY_RATE_PER_S;
    const started = performance.now();
    const commits: Promise<void>[] = [];
    for (let index = 0; index < total; index += 1) {
      const waitMs = started + index * intervalMs - performance.now();
      if (waitMs > 1) await new Promise((resolve) => setTimeout(resolve, waitMs));
      const value = { entryId: `latency-${index}`, accountId: `account-${index % 64}`, amountCents: index };
      commits.push(
        db
          .transaction((tx) => addToOutbox(tx, topic, value))
          .then((eventId) => {
            const now = performance.now();
            committedAt.set(eventId, now);
            const handled = handledEarly.get(eventId);
            if (handled !== undefined) samples.push(Math.max(0, handled - now));
          }),
      );
    }
    await Promise.all(commits);
    await until(
      "every latency event to be handled",
      () => samples.length >= total,
      DRAIN_TIMEOUT_MS,
      () => `${samples.length} of ${total} timed, ${stagesAt.size} seen by the relay or consumer`,
    );
  } finally {
    await consumer.stop();
    await relay.stop();
  }
  const median = (values: number[]): number => [...values].sort((left, right) => left - right)[values.length >> 1]!;
  const stageMedians = LATENCY_STAGES.map((_, stage) => {
    const spans: number[] = [];
    for (const [eventId, times] of stagesAt) {
      const from = stage === 0 ? committedAt.get(eventId) : times[stage - 1];
      const to = times[stage];
      if (from !== undefined && to !== undefined) spans.push(to - from);
    }
    return spans.length === 0 ? Number.NaN : median(spans);
  });
  const sorted = [...samples].sort((left, right) => left - right);
  const at = (quantile: number): number => sorted[Math.min(sorted.length - 1, Math.floor(quantile * sorted.length))]!;
  return [
    {
      database: kind,
      measure: `outbox commit → handler commit at ${LATENCY_RATE_PER_S} events/s`,
      events: samples.length,
      seconds: durationMs / 1000,
      result: `p50 ${at(0.5).toFixed(1)} ms, p99 ${at(0.99).toFixed(1)} ms, max ${sorted[sorted.length - 1]!.toFixed(1)} ms`,
    },
    {
      database: kind,
      measure: `  its stages (p50 each): → ${LATENCY_STAGES.join(" → ")}`,
      events: samples.length,
      seconds: durationMs / 1000,
      result: `${stageMedians.map((value) => value.toFixed(1)).join(" + ")} ms`,
    },
  ];
}
