// Toolkit throughput and latency, for PGlite and the PostgreSQL server (DATABASE_URL, by default the local test
// database; skipped with a note when unreachable): the outbox relay draining a filled outbox to the broker, the
// inbox consumer writing one row per event (with a one-event handler, then with a groupHandler that writes a group's
// rows in one INSERT), and the time from an outbox commit to the handler's commit at a fixed
// offered rate with relay and consumer running. The broker is the embedded one, in this process, on a temporary
// data directory. With --format avro the events are Avro records in the wire format, through a schema registry in
// this process (bench:registry compares the two formats). Prints a table.
// With --transport amqp the same measures also run over RabbitMQ (AMQP_URL, default 127.0.0.1:5672 guest/guest), in
// rows beside Kafka's, together with RabbitMQ's own publish (with confirms) and consume (with acks) rate through
// amqplib on this machine, the floor the toolkit's guarantees are measured against. Queues and exchanges are named
// per run and deleted after it, since the server is shared.
// Run: npm run bench:toolkit [-- --quick] [--database pglite|postgres] [--format json|avro] [--transport amqp]

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { spawnSync } from "node:child_process";

import { Type } from "@sinclair/typebox";
import pg from "pg";
import pino from "pino";
import amqp from "amqplib";

import { startBroker } from "../src/broker/index.js";
import { startPostgresCpu } from "./postgres-cpu.js";
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

const args = process.argv.slice(2);
const quick = args.includes("--quick");
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
if (transportArg !== "kafka" && transportArg !== "amqp") {
  process.stderr.write("--transport takes kafka or amqp (amqp measures both, side by side)\n");
  process.exit(2);
}
const AMQP_URL = process.env.AMQP_URL || "amqp://guest:guest@127.0.0.1:5672";
/** Names on the shared RabbitMQ server carry this, so that runs never meet and everything can be deleted after. */
const AMQP_PREFIX = `sluice-bench-${process.pid}-`;
const AMQP_RAW_WINDOW = 500;
const AMQP_RAW_PREFETCH = 256;
const SERVER_URL = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const RELAY_EVENTS = quick ? 5_000 : 20_000;
const CONSUMER_EVENTS = quick ? 5_000 : 20_000;
const OUTBOX_INSERT_BATCH = 500;
const RELAY_BATCH_SIZE = 500;
const PARTITIONS = 4;
const LATENCY_RATE_PER_S = 100;
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
  /**
   * CPU time this process used per event over the measure, in ms (user and system; the broker, relay and consumer
   * all run here, the PostgreSQL server does not): what an event costs, whatever else loads the machine.
   */
  cpuMsPerEvent?: number;
  /** The PostgreSQL server's CPU per event over the measure, in ms (its backends serving this process). */
  databaseCpuMsPerEvent?: number | null;
}

/** Counts the server's CPU for this process from now on (see postgres-cpu.ts); null on PGlite, which runs here. */
async function startDatabaseCpu(kind: string): Promise<(() => Promise<number | null>) | null> {
  return kind === "postgres" ? startPostgresCpu(SERVER_URL, process.pid) : null;
}

/** This process's CPU time so far, in ms. */
function cpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
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

async function until(description: string, check: () => Promise<boolean> | boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${description}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function countRows(db: Database, table: string): Promise<number> {
  const { rows } = await db.query<{ total: number }>(`SELECT count(*)::int AS total FROM ${table}`);
  return rows[0]?.total ?? 0;
}

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
  grouped = false,
): InboxConsumer {
  return createConsumer({
    client,
    db,
    groupId,
    topics: [topic],
    concurrency: PARTITIONS,
    fetchWaitMs: 50,
    sessionTimeoutMs: 10_000,
    heartbeatIntervalMs: 1_000,
    lagRefreshIntervalMs: 60_000,
    handler: async (event, tx) => {
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
    hooks:
      onCommit === undefined
        ? {}
        : { at: (context) => (context.point === "after-commit" ? onCommit(context.eventId) : undefined) },
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
  const databaseCpu = await startDatabaseCpu(kind);
  const started = performance.now();
  const cpuBefore = cpuMs();
  let seconds: number;
  let cpuMsPerEvent: number;
  await relay.start();
  try {
    await until("the relay to drain the outbox", () => relay.status().published >= RELAY_EVENTS, DRAIN_TIMEOUT_MS);
    seconds = (performance.now() - started) / 1000;
    cpuMsPerEvent = (cpuMs() - cpuBefore) / RELAY_EVENTS;
  } finally {
    await relay.stop();
  }
  const databaseCpuMs = databaseCpu === null ? null : await databaseCpu();
  return {
    database: kind,
    measure: `outbox relay → broker (batch ${RELAY_BATCH_SIZE})`,
    events: RELAY_EVENTS,
    seconds,
    result: `${Math.round(RELAY_EVENTS / seconds).toLocaleString("en-US")} events/s`,
    cpuMsPerEvent,
    databaseCpuMsPerEvent: databaseCpuMs === null ? null : databaseCpuMs / RELAY_EVENTS,
  };
}

async function consumerThroughput(db: Database, client: TransportClient, kind: string, grouped: boolean): Promise<Row> {
  const name = `${namePrefix}${grouped ? `bench-consume-grouped-${kind}` : `bench-consume-${kind}`}`;
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
  log(`${kind}: inbox consumer${grouped ? " (groupHandler)" : ""} handling ${CONSUMER_EVENTS} events…`);
  const before = await countRows(db, "bench_ledger");
  let firstCommitAt: number | null = null;
  let lastCommitAt = 0;
  let committed = 0;
  // CPU from the consumer's start to the last commit: joining the group is in it, a few milliseconds' worth.
  const databaseCpu = await startDatabaseCpu(kind);
  const cpuBefore = cpuMs();
  let cpuAtLastCommit = cpuBefore;
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
      if (committed === CONSUMER_EVENTS) cpuAtLastCommit = cpuMs();
    },
    grouped,
  );
  await consumer.start();
  try {
    await until("the consumer to handle every event", () => committed >= CONSUMER_EVENTS, DRAIN_TIMEOUT_MS);
  } finally {
    await consumer.stop();
  }
  const databaseCpuMs = databaseCpu === null ? null : await databaseCpu();
  const stored = (await countRows(db, "bench_ledger")) - before;
  if (stored !== CONSUMER_EVENTS) throw new Error(`the consumer stored ${stored} rows for ${CONSUMER_EVENTS} events`);
  const seconds = (lastCommitAt - (firstCommitAt ?? lastCommitAt)) / 1000;
  return {
    database: kind,
    measure: grouped
      ? `inbox consumer, groupHandler → one INSERT per group (${PARTITIONS} partitions)`
      : `inbox consumer → one row per event (${PARTITIONS} partitions)`,
    events: CONSUMER_EVENTS,
    seconds,
    result: `${Math.round(CONSUMER_EVENTS / seconds).toLocaleString("en-US")} events/s`,
    cpuMsPerEvent: (cpuAtLastCommit - cpuBefore) / CONSUMER_EVENTS,
    databaseCpuMsPerEvent: databaseCpuMs === null ? null : databaseCpuMs / CONSUMER_EVENTS,
  };
}

async function commitToHandlerLatency(db: Database, client: TransportClient, kind: string): Promise<Row> {
  const topic = benchEvent(`${namePrefix}bench-latency-${kind}`);
  await ensureTopic(client, topic, topic.name);
  const committedAt = new Map<string, number>();
  const samples: number[] = [];
  const relay = new OutboxRelay({ db, client, idlePollIntervalMs: 1_000, lagIntervalMs: 0, cleanupIntervalMs: 0 });
  const consumer = consumerOf(client, db, topic, topic.name, (eventId) => {
    const start = committedAt.get(eventId);
    if (start !== undefined) samples.push(performance.now() - start);
  });
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
            committedAt.set(eventId, performance.now());
          }),
      );
    }
    await Promise.all(commits);
    await until("every latency event to be handled", () => samples.length >= total, DRAIN_TIMEOUT_MS);
  } finally {
    await consumer.stop();
    await relay.stop();
  }
  const sorted = [...samples].sort((left, right) => left - right);
  const at = (quantile: number): number => sorted[Math.min(sorted.length - 1, Math.floor(quantile * sorted.length))]!;
  return {
    database: kind,
    measure: `outbox commit → handler commit at ${LATENCY_RATE_PER_S} events/s`,
    events: samples.length,
    seconds: LATENCY_DURATION_MS / 1000,
    result: `p50 ${at(0.5).toFixed(1)} ms, p99 ${at(0.99).toFixed(1)} ms, max ${sorted[sorted.length - 1]!.toFixed(1)} ms`,
  };
}

/** RabbitMQ's own rate through amqplib: persistent publishes with confirms, then consuming them with acks. */
async function rawAmqp(count: number): Promise<Row[]> {
  const connection = await amqp.connect(AMQP_URL);
  const queue = `${AMQP_PREFIX}raw`;
  try {
    const channel = await connection.createConfirmChannel();
    await channel.assertQueue(queue, { durable: true, arguments: { "x-queue-type": "quorum" } });
    const body = Buffer.from(JSON.stringify({ entryId: "raw-000000", accountId: "account-00", amountCents: 12345 }));
    log(`amqplib: publishing ${count} persistent messages with confirms…`);
    const publishStarted = performance.now();
    for (let first = 0; first < count; first += AMQP_RAW_WINDOW) {
      for (let index = first; index < Math.min(count, first + AMQP_RAW_WINDOW); index++) {
        channel.publish("", queue, body, { persistent: true });
      }
      await channel.waitForConfirms();
    }
    const publishSeconds = (performance.now() - publishStarted) / 1000;
    log(`amqplib: consuming ${count} messages with acks…`);
    const consumer = await connection.createChannel();
    await consumer.prefetch(AMQP_RAW_PREFETCH);
    let received = 0;
    const consumeStarted = performance.now();
    await new Promise<void>((resolve) => {
      void consumer.consume(queue, (message) => {
        if (message === null) return;
        consumer.ack(message);
        received += 1;
        if (received === count) resolve();
      });
    });
    const consumeSeconds = (performance.now() - consumeStarted) / 1000;
    await channel.deleteQueue(queue);
    const rate = (seconds: number): string => `${Math.round(count / seconds).toLocaleString("en-US")} events/s`;
    return [
      {
        transport: "amqplib",
        database: "-",
        measure: `raw publish, persistent, confirms per ${AMQP_RAW_WINDOW} (quorum queue)`,
        events: count,
        seconds: publishSeconds,
        result: rate(publishSeconds),
      },
      {
        transport: "amqplib",
        database: "-",
        measure: `raw consume, ack per message, prefetch ${AMQP_RAW_PREFETCH}`,
        events: count,
        seconds: consumeSeconds,
        result: rate(consumeSeconds),
      },
    ];
  } finally {
    await connection.close().catch(() => undefined);
  }
}

/** Deletes what the run declared on the shared RabbitMQ server. */
async function deleteAmqpNames(client: AmqpClient): Promise<void> {
  const connection = await amqp.connect(AMQP_URL);
  try {
    for (const queue of client.topology.declaredQueues) {
      const channel = await connection.createChannel();
      await channel.deleteQueue(queue).catch(() => undefined);
      await channel.close().catch(() => undefined);
    }
    for (const exchange of client.topology.declaredExchanges) {
      const channel = await connection.createChannel();
      await channel.deleteExchange(exchange).catch(() => undefined);
      await channel.close().catch(() => undefined);
    }
  } finally {
    await connection.close().catch(() => undefined);
  }
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
  const db = await openDatabase(kind === "postgres" ? { url: SERVER_URL, schema, poolSize: 10 } : { url: null });
  try {
    await db.exec(
      "CREATE TABLE bench_ledger (id bigserial PRIMARY KEY, entry_id text NOT NULL, account_id text NOT NULL, amount_cents integer NOT NULL)",
    );
    rows.push(await relayThroughput(db, client, kind));
    rows.push(await consumerThroughput(db, client, kind, false));
    rows.push(await consumerThroughput(db, client, kind, true));
    rows.push(await commitToHandlerLatency(db, client, kind));
    for (const row of rows.slice(first)) {
      row.transport = client.kind;
      // A RabbitMQ group reads one queue, however many partitions the topic declares.
      if (client.kind === "amqp") row.measure = row.measure.replace(`(${PARTITIONS} partitions)`, "(one queue)");
    }
  } finally {
    if (kind === "postgres") await db.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
    await db.close();
  }
}

function printTable(rows: Row[]): void {
  const header = [
    "transport",
    "database",
    "measure",
    "events",
    "seconds",
    "result",
    "CPU ms/event",
    "PostgreSQL CPU ms/event",
  ];
  const lines = rows.map((row) => [
    row.transport ?? "kafka",
    row.database,
    row.measure,
    String(row.events),
    row.seconds.toFixed(2),
    row.result,
    row.cpuMsPerEvent === undefined ? "-" : row.cpuMsPerEvent.toFixed(3),
    row.databaseCpuMsPerEvent === undefined
      ? "-"
      : row.databaseCpuMsPerEvent === null
        ? "n/a"
        : row.databaseCpuMsPerEvent.toFixed(3),
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
    transportArg === "amqp" ? createAmqpClient({ url: AMQP_URL, env: {}, prefetch: AMQP_RAW_PREFETCH }) : null;
  const transports: TransportClient[] = amqpClient === null ? [client] : [client, amqpClient];
  try {
    if (amqpClient !== null) rows.push(...(await rawAmqp(RELAY_EVENTS)));
    for (const transport of transports) {
      if (databaseArg !== "postgres") await benchDatabase("pglite", transport, rows);
      if (databaseArg !== "pglite") {
        const reason = await serverUnreachableReason();
        if (reason === null) await benchDatabase("postgres", transport, rows);
        else notes.push(`PostgreSQL server at ${SERVER_URL} skipped: ${reason}`);
      }
    }
  } finally {
    if (amqpClient !== null) {
      await amqpClient.close();
      await deleteAmqpNames(amqpClient);
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
    "\n(CPU ms/event: this process's user and system time per event over the measure, the embedded broker's " +
      "included; PostgreSQL CPU ms/event: the server's backends serving this process, read from /proc when the " +
      "server is local. Unlike events/s, neither depends much on what else loads the machine.)",
  );
  for (const note of notes) console.log(`\n${note}`);
}

await main();
