// The throughput measures of bench:toolkit: the outbox relay draining a filled outbox to the broker, and the inbox
// consumer handling a topic's backlog in each ConsumerMode.

import { performance } from "node:perf_hooks";

import { OutboxRelay } from "../src/toolkit/index.js";
import {
  benchEvent,
  consumerOf,
  countRows,
  DRAIN_TIMEOUT_MS,
  ensureTopic,
  fillOutbox,
  HANDLERS_AT_ONCE,
  log,
  PARTITIONS,
  until,
  type BenchRun,
  type ConsumerMode,
} from "./toolkit-run.js";
import type { Row } from "./toolkit-table.js";

const RELAY_BATCH_SIZE = 500;

/**
 * A measure's names for its repeat (a topic, and a consumer group) and a fresh start: every run of every measure
 * begins with an empty outbox and inbox, so that a later run does not work against the earlier runs' rows.
 */
async function freshStart(run: BenchRun, name: string, repeat: number): Promise<string> {
  await run.db.exec("TRUNCATE sluice_outbox, sluice_inbox");
  return repeat === 0 ? name : `${name}-r${repeat}`;
}

export async function relayThroughput(run: BenchRun, repeat = 0): Promise<Row> {
  const { db, client, kind } = run;
  const events = run.settings.relayEvents;
  const topic = benchEvent(run, await freshStart(run, `${run.namePrefix}bench-relay-${kind}`, repeat));
  await ensureTopic(client, topic, topic.name);
  log(`${kind}: filling the outbox with ${events} events…`);
  await fillOutbox(db, topic, events, "relay");
  log(`${kind}: relay draining…`);
  const relay = new OutboxRelay({ db, client, batchSize: RELAY_BATCH_SIZE, lagIntervalMs: 0, cleanupIntervalMs: 0 });
  // The clock runs from start (connecting to the broker included) to the last mark; stopping is not counted.
  const meter = run.cpuMeter();
  const started = performance.now();
  let seconds: number;
  let cpu: string;
  await relay.start();
  try {
    await until("the relay to drain the outbox", () => relay.status().published >= events, DRAIN_TIMEOUT_MS);
    seconds = (performance.now() - started) / 1000;
    cpu = await meter.perEvent(events);
  } finally {
    await relay.stop();
  }
  return {
    database: kind,
    measure: `outbox relay → broker (batch ${RELAY_BATCH_SIZE})`,
    events,
    seconds,
    result: `${Math.round(events / seconds).toLocaleString("en-US")} events/s`,
    cpu,
  };
}

const CONSUMER_MEASURES: Record<ConsumerMode, string> = {
  "none-grouped": `inbox consumer, groupHandler writes nothing: inbox + transaction + ack (${PARTITIONS} partitions)`,
  none: `inbox consumer, one-event handler writes nothing (${PARTITIONS} partitions)`,
  one: `inbox consumer → one row per event (${PARTITIONS} partitions)`,
  "at-once": `inbox consumer → one row per event, handlersAtOnce ${HANDLERS_AT_ONCE} (${PARTITIONS} partitions)`,
  grouped: `inbox consumer, groupHandler → one INSERT per group (${PARTITIONS} partitions)`,
};

export async function consumerThroughput(run: BenchRun, mode: ConsumerMode, repeat = 0): Promise<Row> {
  const { db, client, kind } = run;
  const events = run.settings.consumerEvents;
  const name = await freshStart(run, `${run.namePrefix}bench-consume-${mode}-${kind}`, repeat);
  const topic = benchEvent(run, name);
  await ensureTopic(client, topic, topic.name);
  log(`${kind}: producing ${events} events through the outbox for the consumer…`);
  await fillOutbox(db, topic, events, "consume");
  const relay = new OutboxRelay({ db, client, batchSize: RELAY_BATCH_SIZE, lagIntervalMs: 0, cleanupIntervalMs: 0 });
  await relay.start();
  try {
    await until("the relay to publish", () => relay.status().published >= events, DRAIN_TIMEOUT_MS);
  } finally {
    await relay.stop();
  }
  log(`${kind}: inbox consumer (${mode}) handling ${events} events…`);
  const before = await countRows(db, "bench_ledger");
  let firstCommitAt: number | null = null;
  let lastCommitAt = 0;
  let committed = 0;
  // The clock starts at the first handler commit, so that joining the group is not counted. Progress is counted
  // in the process rather than by polling the table, which would load the database being measured.
  const consumer = consumerOf(
    client,
    db,
    topic,
    name,
    () => {
      firstCommitAt ??= performance.now();
      lastCommitAt = performance.now();
      committed += 1;
    },
    mode,
  );
  const meter = run.cpuMeter();
  let cpu: string;
  await consumer.start();
  try {
    await until("the consumer to handle every event", () => committed >= events, DRAIN_TIMEOUT_MS);
    cpu = await meter.perEvent(events);
  } finally {
    await consumer.stop();
  }
  const stored = (await countRows(db, "bench_ledger")) - before;
  const expected = mode === "none" || mode === "none-grouped" ? 0 : events;
  if (stored !== expected) throw new Error(`the consumer stored ${stored} rows for ${events} events`);
  const seconds = (lastCommitAt - (firstCommitAt ?? lastCommitAt)) / 1000;
  return {
    database: kind,
    measure: CONSUMER_MEASURES[mode],
    events,
    seconds,
    result: `${Math.round(events / seconds).toLocaleString("en-US")} events/s`,
    cpu,
  };
}
