// Toolkit throughput and latency, for PGlite and the PostgreSQL server (DATABASE_URL, by default the local test
// database; skipped with a note when unreachable): the outbox relay draining a filled outbox to the broker, the
// inbox consumer with a groupHandler and then a one-event handler that write nothing (what the guarantees cost
// alone, then with the per-event handler's machinery), then writing one row per event (with a one-event handler,
// then the same with handlersAtOnce, whose statements are pipelined, then with a groupHandler that writes a group's
// rows in one INSERT), and the time from an outbox commit to the handler's commit at a fixed offered rate with relay
// and consumer running. The broker is the embedded one, in this process, on a temporary data directory. With
// --format avro the events are Avro records in the wire format, through a schema registry in this process
// (bench:registry compares the two formats). Prints a table.
// With --transport amqp the same measures also run over RabbitMQ (AMQP_URL, default 127.0.0.1:5672 guest/guest), in
// rows beside Kafka's, together with RabbitMQ's own publish (with confirms) and consume (with acks) rate through
// amqplib on this machine, the floor the toolkit's guarantees are measured against: each AMQP relay and consumer row
// says how many times slower than it it is. Queues and exchanges are named per run and deleted after it, since the
// server is shared.
// With --transport amqp-only only the RabbitMQ rows run, for profiling the AMQP transport on its own.
// With --repeat N each throughput measure (RabbitMQ's own rates too) runs N times and its row shows the median run.
// Run: npm run bench:toolkit [-- --quick | --events N] [--repeat N] [--relay-only] [--database pglite|postgres] [--format json|avro] [--transport amqp|amqp-only]
// With --consumer none-grouped,none,one,at-once,grouped only those consumer measures run (no relay or latency measure).

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { spawnSync } from "node:child_process";

import { Type } from "@sinclair/typebox";
import pg from "pg";
import pino from "pino";

import { startBroker } from "../src/broker/index.js";
import { startRegistry, type RunningRegistry } from "../src/registry/index.js";
import { openDatabase, type Database, type DatabaseKind } from "../src/store/index.js";
import {
  addManyToOutbox,
  addToOutbox,
  createAmqpClient,
  createConsumer,
  createKafkaClient,
  defineAvroTopic,
  defineTopic,
  ensureTopics,
  OutboxRelay,
  type ConsumedEvent,
  type InboxConsumer,
  type AmqpClient,
  type KafkaClient,
  type Queryable,
  type TransportClient,
  type TopicDefinition,
} from "../src/toolkit/index.js";
import { addRawRatios, AMQP_RAW_PREFETCH, deleteAmqpNames, rawAmqp, type RawAmqpRow } from "./toolkit-amqp.js";
import { startCpuMeter, type CpuMeter } from "./toolkit-cpu.js";
import { medianRun, repeatCount, repeated } from "./toolkit-repeat.js";

const args = process.argv.slice(2);
const quick = args.includes("--quick");
/** Only the relay's drain, for working on the relay (the consumer and latency measures are skipped). */
const relayOnly = args.includes("--relay-only");
/** Only these consumer measures (one, at-once, grouped; comma-separated), for working on the consumer. */
const consumerModesArg = args.includes("--consumer") ? (args[args.indexOf("--consumer") + 1] ?? "") : undefined;
const databaseArg = args.includes("--database") ? (args[args.indexOf("--database") + 1] ?? "") : undefined;
if (databaseArg !== undefined && databaseArg !== "pglite" && databaseArg !== "postgres") {
  process.stderr.write("usage: npm run bench:toolkit [-- --quick] [--database pglite|postgres] [--format json|avro]\n");
  process.exit(2);
}
const format = args.includes("--format") ? (args[args.indexOf("--format") + 1] ?? "") : "json";
if (format !== "json" && format !== "avro") {
  process.stderr.write("--format takes json or avro\n");
  process.exit(2);
}
const transportArg = args.includes("--transport") ? (args[args.indexOf("--transport") + 1] ?? "") : "kafka";
if (transportArg !== "kafka" && transportArg !== "amqp" && transportArg !== "amqp-only") {
  process.stderr.write("--transport takes kafka, amqp (both, side by side) or amqp-only\n");
  process.exit(2);
}
const AMQP_URL = process.env.AMQP_URL || "amqp://guest:guest@127.0.0.1:5672";
/** Names on the shared RabbitMQ server carry this, so that runs never meet and everything can be deleted after. */
const AMQP_PREFIX = `sluice-bench-${process.pid}-`;
const SERVER_URL = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
/** --events N: how many events each measure moves (longer runs, for profiling and steadier figures). */
const eventsArg = args.includes("--events") ? Number(args[args.indexOf("--events") + 1]) : undefined;
if (eventsArg !== undefined && !(Number.isSafeInteger(eventsArg) && eventsArg >= 1_000 && eventsArg <= 1_000_000)) {
  process.stderr.write("--events takes a whole number from 1000 to 1000000\n");
  process.exit(2);
}
/** --repeat N: each throughput measure runs N times and shows the median run, with the range. */
const REPEAT = repeatCount(args);
const RELAY_EVENTS = eventsArg ?? (quick ? 5_000 : 20_000);
const CONSUMER_EVENTS = eventsArg ?? (quick ? 5_000 : 20_000);
const OUTBOX_INSERT_BATCH = 500;
const RELAY_BATCH_SIZE = 500;
const PARTITIONS = 4;
const LATENCY_RATE_PER_S = 100;
/** handlersAtOnce of the consumer row that lets a transaction's handlers of different keys run at once. */
const HANDLERS_AT_ONCE = 16;
const LATENCY_DURATION_MS = quick ? 3_000 : 10_000;
const DRAIN_TIMEOUT_MS = 120_000;
const REACHABILITY_TIMEOUT_MS = 3_000;

interface BenchValue {
  entryId: string;
  accountId: string;
  amountCents: number;
}

/** The registry Avro topics register with (--format avro), in this process. */
let registry: RunningRegistry | null = null;

function benchEvent(name: string): TopicDefinition<BenchValue> {
  const shape = { name, partitions: PARTITIONS, eventType: "BenchEvent", key: (event: BenchValue) => event.accountId };
  if (format === "json") {
    return defineTopic({
      ...shape,
      schema: Type.Object({ entryId: Type.String(), accountId: Type.String(), amountCents: Type.Integer() }),
    });
  }
  if (registry === null) throw new Error("the schema registry is not running");
  return defineAvroTopic<BenchValue>({
    ...shape,
    schema: {
      type: "record",
      name: "BenchEvent",
      fields: [
        { name: "entryId", type: "string" },
        { name: "accountId", type: "string" },
        { name: "amountCents", type: "long" },
      ],
    },
    registry: { url: registry.url },
  });
}

interface Row {
  transport?: string;
  database: string;
  measure: string;
  events: number;
  seconds: number;
  result: string;
  /** CPU µs per event: this process + RabbitMQ + PostgreSQL (see toolkit-cpu.ts). */
  cpu?: string;
}

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

function values(count: number, prefix: string) {
  return Array.from({ length: count }, (_, index) => ({
    entryId: `${prefix}-${index}`,
    accountId: `account-${index % 64}`,
    amountCents: index,
  }));
}

async function until(
  description: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
  progress: () => string = () => "",
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${description} ${progress()}`.trimEnd());
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function countRows(db: Database, table: string): Promise<number> {
  const { rows } = await db.query<{ total: number }>(`SELECT count(*)::int AS total FROM ${table}`);
  return rows[0]?.total ?? 0;
}

/** This run's connections to the PostgreSQL server, by application_name, when it is the database measured. */
let serverConnections: { url: string; applicationName: string } | null = null;
const cpuMeter = (): CpuMeter => startCpuMeter(serverConnections);

/** Names on a shared RabbitMQ server get AMQP_PREFIX; the Kafka broker is this run's own. */
let namePrefix = "";

/**
 * Makes sure the topic exists; on RabbitMQ also the group's queue, so that events published before the consumer
 * starts (the relay measures run first) wait there instead of being refused as unroutable.
 */
async function ensureTopic(
  client: TransportClient,
  topic: TopicDefinition<BenchValue>,
  groupId: string,
): Promise<void> {
  if (client.kind === "amqp") {
    const amqpClient = client as AmqpClient;
    const channel = await amqpClient.connection.channel();
    try {
      await amqpClient.topology.declareSubscription(channel, topic.name, groupId);
    } finally {
      await channel.close();
    }
    return;
  }
  await ensureTopics(client as KafkaClient, [topic]);
}

function consumerOf(
  client: TransportClient,
  db: Database,
  topic: TopicDefinition<BenchValue>,
  groupId: string,
  onCommit?: (eventId: string) => void,
  mode: ConsumerMode = "one",
  onHandlerStart?: (eventId: string) => void,
): InboxConsumer {
  const grouped = mode === "grouped" || mode === "none-grouped";
  return createConsumer({
    client,
    db,
    groupId,
    topics: [topic],
    concurrency: PARTITIONS,
    handlersAtOnce: mode === "at-once" ? HANDLERS_AT_ONCE : 1,
    fetchWaitMs: 50,
    sessionTimeoutMs: 10_000,
    heartbeatIntervalMs: 1_000,
    lagRefreshIntervalMs: 60_000,
    handler: async (event, tx) => {
      if (mode === "none" || mode === "none-grouped") return;
      await tx.query("INSERT INTO bench_ledger (entry_id, account_id, amount_cents) VALUES ($1, $2, $3)", [
        event.value.entryId,
        event.value.accountId,
        event.value.amountCents,
      ]);
    },
    // With grouped, a partition's events come a group at a time and are stored with one INSERT per group.
    ...(grouped
      ? {
          groupHandler: async (
            events: ReadonlyArray<ConsumedEvent<{ entryId: string; accountId: string; amountCents: number }>>,
            tx: Queryable,
          ) => {
            if (mode === "none-grouped") return;
            const tuples = events.map(
              (_, index) => `($${3 * index + 1}, $${3 * index + 2}, $${3 * index + 3}::integer)`,
            );
            await tx.query(
              `INSERT INTO bench_ledger (entry_id, account_id, amount_cents) VALUES ${tuples.join(", ")}`,
              events.flatMap((event) => [event.value.entryId, event.value.accountId, event.value.amountCents]),
            );
          },
        }
      : {}),
    // after-commit runs right after the handler's transaction commits, before the offset commit.
    hooks: {
      at: (context) => {
        if (context.point === "after-commit") onCommit?.(context.eventId);
        else if (context.point === "before-handler") onHandlerStart?.(context.eventId);
      },
    },
  });
}

async function relayThroughput(db: Database, client: TransportClient, kind: string): Promise<Row> {
  const topic = benchEvent(`${namePrefix}bench-relay-${kind}`);
  await ensureTopic(client, topic, topic.name);
  log(`${kind}: filling the outbox with ${RELAY_EVENTS} events…`);
  for (let first = 0; first < RELAY_EVENTS; first += OUTBOX_INSERT_BATCH) {
    const batch = values(Math.min(OUTBOX_INSERT_BATCH, RELAY_EVENTS - first), `relay-${first}`);
    await db.transaction((tx) => addManyToOutbox(tx, topic, batch));
  }
  log(`${kind}: relay draining…`);
  const relay = new OutboxRelay({ db, client, batchSize: RELAY_BATCH_SIZE, lagIntervalMs: 0, cleanupIntervalMs: 0 });
  // The clock runs from start (connecting to the broker included) to the last mark; stopping is not counted.
  const meter = cpuMeter();
  const started = performance.now();
  let seconds: number;
  let cpu: string;
  await relay.start();
  try {
    await until("the relay to drain the outbox", () => relay.status().published >= RELAY_EVENTS, DRAIN_TIMEOUT_MS);
    seconds = (performance.now() - started) / 1000;
    cpu = await meter.perEvent(RELAY_EVENTS);
  } finally {
    await relay.stop();
  }
  return {
    database: kind,
    measure: `outbox relay → broker (batch ${RELAY_BATCH_SIZE})`,
    events: RELAY_EVENTS,
    seconds,
    result: `${Math.round(RELAY_EVENTS / seconds).toLocaleString("en-US")} events/s`,
    cpu,
  };
}

/**
 * How the consumer handles events: with a groupHandler that writes nothing (what the toolkit's guarantees cost
 * alone: the inbox records, the transaction and the commit or ack after it), with a one-event handler that writes
 * nothing (adding the per-event handler's machinery: its timeout, trace span and hooks), then writing one row per
 * event one at a time, with handlersAtOnce, or with a groupHandler.
 */
type ConsumerMode = "none-grouped" | "none" | "one" | "at-once" | "grouped";

const CONSUMER_MEASURES: Record<ConsumerMode, string> = {
  "none-grouped": `inbox consumer, groupHandler writes nothing: inbox + transaction + ack (${PARTITIONS} partitions)`,
  none: `inbox consumer, one-event handler writes nothing (${PARTITIONS} partitions)`,
  one: `inbox consumer → one row per event (${PARTITIONS} partitions)`,
  "at-once": `inbox consumer → one row per event, handlersAtOnce ${HANDLERS_AT_ONCE} (${PARTITIONS} partitions)`,
  grouped: `inbox consumer, groupHandler → one INSERT per group (${PARTITIONS} partitions)`,
};

async function consumerThroughput(
  db: Database,
  client: TransportClient,
  kind: string,
  mode: ConsumerMode,
): Promise<Row> {
  const name = `${namePrefix}bench-consume-${mode}-${kind}`;
  const topic = benchEvent(name);
  await ensureTopic(client, topic, topic.name);
  log(`${kind}: producing ${CONSUMER_EVENTS} events through the outbox for the consumer…`);
  for (let first = 0; first < CONSUMER_EVENTS; first += OUTBOX_INSERT_BATCH) {
    const batch = values(Math.min(OUTBOX_INSERT_BATCH, CONSUMER_EVENTS - first), `consume-${first}`);
    await db.transaction((tx) => addManyToOutbox(tx, topic, batch));
  }
  const relay = new OutboxRelay({ db, client, batchSize: RELAY_BATCH_SIZE, lagIntervalMs: 0, cleanupIntervalMs: 0 });
  await relay.start();
  try {
    await until("the relay to publish", () => relay.status().published >= CONSUMER_EVENTS, DRAIN_TIMEOUT_MS);
  } finally {
    await relay.stop();
  }
  log(`${kind}: inbox consumer (${mode}) handling ${CONSUMER_EVENTS} events…`);
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
  const meter = cpuMeter();
  let cpu: string;
  await consumer.start();
  try {
    await until("the consumer to handle every event", () => committed >= CONSUMER_EVENTS, DRAIN_TIMEOUT_MS);
    cpu = await meter.perEvent(CONSUMER_EVENTS);
  } finally {
    await consumer.stop();
  }
  const stored = (await countRows(db, "bench_ledger")) - before;
  const expected = mode === "none" || mode === "none-grouped" ? 0 : CONSUMER_EVENTS;
  if (stored !== expected) throw new Error(`the consumer stored ${stored} rows for ${CONSUMER_EVENTS} events`);
  const seconds = (lastCommitAt - (firstCommitAt ?? lastCommitAt)) / 1000;
  return {
    database: kind,
    measure: CONSUMER_MEASURES[mode],
    events: CONSUMER_EVENTS,
    seconds,
    result: `${Math.round(CONSUMER_EVENTS / seconds).toLocaleString("en-US")} events/s`,
    cpu,
  };
}

/** The stages an event passes between its outbox commit and its handler's commit, in order. */
const LATENCY_STAGES = ["relay claim", "broker ack", "handler start", "handler commit"];

async function commitToHandlerLatency(db: Database, client: TransportClient, kind: string): Promise<Row[]> {
  const topic = benchEvent(`${namePrefix}bench-latency-${kind}`);
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
  const total = Math.floor((LATENCY_DURATION_MS / 1000) * LATENCY_RATE_PER_S);
  log(`${kind}: latency, ${LATENCY_RATE_PER_S} events/s offered for ${LATENCY_DURATION_MS / 1000} s…`);
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
      seconds: LATENCY_DURATION_MS / 1000,
      result: `p50 ${at(0.5).toFixed(1)} ms, p99 ${at(0.99).toFixed(1)} ms, max ${sorted[sorted.length - 1]!.toFixed(1)} ms`,
    },
    {
      database: kind,
      measure: `  its stages (p50 each): → ${LATENCY_STAGES.join(" → ")}`,
      events: samples.length,
      seconds: LATENCY_DURATION_MS / 1000,
      result: `${stageMedians.map((value) => value.toFixed(1)).join(" + ")} ms`,
    },
  ];
}

async function serverUnreachableReason(): Promise<string | null> {
  const client = new pg.Client({ connectionString: SERVER_URL, connectionTimeoutMillis: REACHABILITY_TIMEOUT_MS });
  client.on("error", () => undefined);
  try {
    await client.connect();
    await client.query("SELECT 1");
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function benchDatabase(kind: DatabaseKind, client: TransportClient, rows: Row[]): Promise<void> {
  namePrefix = client.kind === "amqp" ? AMQP_PREFIX : "";
  const schema = `sluice_bench_${process.pid}_${client.kind}`;
  const first = rows.length;
  const applicationName = `sluice-bench-${process.pid}`;
  serverConnections = kind === "postgres" ? { url: SERVER_URL, applicationName } : null;
  const db = await openDatabase(
    kind === "postgres" ? { url: SERVER_URL, schema, poolSize: 10, applicationName } : { url: null },
  );
  try {
    await db.exec(
      "CREATE TABLE bench_ledger (id bigserial PRIMARY KEY, entry_id text NOT NULL, account_id text NOT NULL, amount_cents integer NOT NULL)",
    );
    if (consumerModesArg === undefined) rows.push(await repeated(REPEAT, () => relayThroughput(db, client, kind)));
    if (!relayOnly) {
      for (const mode of ["none-grouped", "none", "one", "at-once", "grouped"] as const) {
        if (consumerModesArg !== undefined && !consumerModesArg.split(",").includes(mode)) continue;
        rows.push(await repeated(REPEAT, () => consumerThroughput(db, client, kind, mode)));
      }
      if (consumerModesArg === undefined) rows.push(...(await commitToHandlerLatency(db, client, kind)));
    }
    for (const row of rows.slice(first)) {
      row.transport = client.kind;
      // A RabbitMQ group reads one queue, however many partitions the topic declares.
      if (client.kind === "amqp") {
        row.measure = row.measure.replace(`(${PARTITIONS} partitions)`, `(one queue, ${PARTITIONS} lanes)`);
      }
    }
  } finally {
    if (kind === "postgres") await db.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
    await db.close();
  }
}

function printTable(rows: Row[]): void {
  const header = ["transport", "database", "measure", "events", "seconds", "result", "CPU µs/event"];
  const lines = rows.map((row) => [
    row.transport ?? "kafka",
    row.database,
    row.measure,
    String(row.events),
    row.seconds.toFixed(2),
    row.result,
    row.cpu ?? "",
  ]);
  const widths = header.map((title, index) => Math.max(title.length, ...lines.map((line) => line[index]!.length)));
  const format = (cells: string[]): string =>
    `| ${cells.map((cell, index) => cell.padEnd(widths[index]!)).join(" | ")} |`;
  console.log(format(header));
  console.log(`|${widths.map((width) => "-".repeat(width + 2)).join("|")}|`);
  for (const line of lines) console.log(format(line));
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), "sluice-bench-toolkit-"));
  const broker = await startBroker({ port: 0, dataDir, logger: pino({ level: "warn" }, pino.destination(2)) });
  const client = createKafkaClient({ brokers: [broker.address], clientId: "sluice-bench", env: {} });
  const registryDatabase =
    format === "avro" ? await openDatabase({ url: null, schema: "sluice_registry", migrate: false }) : null;
  if (registryDatabase !== null) registry = await startRegistry({ port: 0, database: registryDatabase });
  const rows: Row[] = [];
  const notes: string[] = [];
  const amqpClient =
    transportArg !== "kafka" ? createAmqpClient({ url: AMQP_URL, env: {}, prefetch: AMQP_RAW_PREFETCH }) : null;
  const transports: TransportClient[] =
    amqpClient === null ? [client] : transportArg === "amqp-only" ? [amqpClient] : [client, amqpClient];
  let raw: RawAmqpRow[] = [];
  try {
    if (amqpClient !== null) {
      const runs: RawAmqpRow[][] = [];
      for (let run = 0; run < REPEAT; run++) runs.push(await rawAmqp(AMQP_URL, `${AMQP_PREFIX}raw`, RELAY_EVENTS, log));
      raw = (["publish", "consume"] as const).map((kind) =>
        medianRun(runs.flatMap((rowsOfRun) => rowsOfRun.filter((row) => row.kind === kind))),
      );
      rows.push(...raw.map((row) => ({ ...row, transport: "amqplib", database: "-" })));
    }
    for (const transport of transports) {
      if (databaseArg !== "postgres") await benchDatabase("pglite", transport, rows);
      if (databaseArg !== "pglite") {
        const reason = await serverUnreachableReason();
        if (reason === null) await benchDatabase("postgres", transport, rows);
        else notes.push(`PostgreSQL server at ${SERVER_URL} skipped: ${reason}`);
      }
    }
    addRawRatios(rows, raw);
  } finally {
    if (amqpClient !== null) {
      await amqpClient.close();
      await deleteAmqpNames(AMQP_URL, amqpClient);
    }
    await registry?.close();
    await registryDatabase?.close();
    await broker.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
  console.log(
    `\nnpm run bench:toolkit${args.length ? ` -- ${args.join(" ")}` : ""}  (node ${process.version}, ` +
      `${spawnSync("nproc").stdout.toString().trim()} cores; embedded Sluice broker in the same process, data on ` +
      `disk in a temporary directory; relay and consumer in the same process too; events as ${format}` +
      (amqpClient === null ? "" : `; RabbitMQ at ${amqpClient.address}, quorum queues, one queue per group`) +
      `)\n`,
  );
  printTable(rows);
  console.log(
    "\nCPU µs/event: this process (the toolkit, and PGlite or the embedded Kafka broker) + the RabbitMQ server + " +
      'this run\'s PostgreSQL server backends ("-" where not measured).',
  );
  for (const note of notes) console.log(`\n${note}`);
}

await main();
