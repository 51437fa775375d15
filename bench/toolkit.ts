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
// With --repeat N each throughput measure (RabbitMQ's own rates too) runs N times, in rounds of every measure once,
// and its row shows the median run; an AMQP row's ratio is the median of its runs' ratios to the raw run before each.
// Run: npm run bench:toolkit [-- --quick | --events N] [--repeat N] [--relay-only] [--database pglite|postgres] [--format json|avro] [--transport amqp|amqp-only]
// With --consumer none-grouped,none,one,at-once,grouped only those consumer measures run (no relay or latency measure).

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";

import pg from "pg";
import pino from "pino";

import { startBroker } from "../src/broker/index.js";
import { startRegistry } from "../src/registry/index.js";
import { openDatabase, type DatabaseKind } from "../src/store/index.js";
import { createAmqpClient, createKafkaClient, type TransportClient } from "../src/toolkit/index.js";
import { AMQP_RAW_PREFETCH, deleteAmqpNames, pairedRawRatio, rawAmqp, type RawAmqpRow } from "./toolkit-amqp.js";
import { toolkitArgs } from "./toolkit-args.js";
import { startCpuMeter } from "./toolkit-cpu.js";
import { commitToHandlerLatency } from "./toolkit-latency.js";
import { medianRun } from "./toolkit-repeat.js";
import { CONSUMER_MODES, log, PARTITIONS, type BenchRun } from "./toolkit-run.js";
import { printTable, type Row } from "./toolkit-table.js";
import { consumerThroughput, relayThroughput } from "./toolkit-throughput.js";

const settings = toolkitArgs(process.argv.slice(2));
const { args, format } = settings;
const AMQP_URL = process.env.AMQP_URL || "amqp://guest:guest@127.0.0.1:5672";
/** Names on the shared RabbitMQ server carry this, so that runs never meet and everything can be deleted after. */
const AMQP_PREFIX = `sluice-bench-${process.pid}-`;
const SERVER_URL = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const REACHABILITY_TIMEOUT_MS = 3_000;

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

async function benchDatabase(
  kind: DatabaseKind,
  client: TransportClient,
  registryUrl: string | null,
  rows: Row[],
  rawRuns: RawAmqpRow[][] | null,
): Promise<void> {
  const schema = `sluice_bench_${process.pid}_${client.kind}`;
  const first = rows.length;
  const applicationName = `sluice-bench-${process.pid}`;
  const serverConnections = kind === "postgres" ? { url: SERVER_URL, applicationName } : null;
  const db = await openDatabase(
    kind === "postgres" ? { url: SERVER_URL, schema, poolSize: 10, applicationName } : { url: null },
  );
  try {
    await db.exec(
      "CREATE TABLE bench_ledger (id bigserial PRIMARY KEY, entry_id text NOT NULL, account_id text NOT NULL, amount_cents integer NOT NULL)",
    );
    const run: BenchRun = {
      db,
      client,
      kind,
      settings,
      namePrefix: client.kind === "amqp" ? AMQP_PREFIX : "",
      registryUrl,
      cpuMeter: () => startCpuMeter(serverConnections),
    };
    const { consumerModes } = settings;
    const measures: Array<(repeat: number) => Promise<Row>> = [];
    if (consumerModes === undefined) measures.push((repeat) => relayThroughput(run, repeat));
    if (!settings.relayOnly) {
      for (const mode of CONSUMER_MODES) {
        if (consumerModes === undefined || consumerModes.includes(mode)) {
          measures.push((repeat) => consumerThroughput(run, mode, repeat));
        }
      }
    }
    // Repeats run round by round, every measure once a round, after RabbitMQ's own rates when this is AMQP: each
    // run is then compared with the raw run that opened its round, and a slow spell of the machine hits one round, not
    // every run of one measure.
    const runs: Row[][] = measures.map(() => []);
    const pairedRaw: RawAmqpRow[][] = [];
    for (let repeat = 0; repeat < settings.repeat; repeat++) {
      if (rawRuns !== null) {
        const raw = await rawAmqp(AMQP_URL, `${AMQP_PREFIX}raw`, settings.relayEvents, log);
        pairedRaw.push(raw);
        rawRuns.push(raw);
      }
      for (const [index, measure] of measures.entries()) runs[index]!.push(await measure(repeat));
    }
    for (const measureRuns of runs) {
      const row = medianRun(measureRuns);
      if (rawRuns !== null) row.result += pairedRawRatio(measureRuns, pairedRaw);
      rows.push(row);
    }
    if (!settings.relayOnly && consumerModes === undefined) rows.push(...(await commitToHandlerLatency(run)));
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

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), "sluice-bench-toolkit-"));
  const broker = await startBroker({ port: 0, dataDir, logger: pino({ level: "warn" }, pino.destination(2)) });
  const client = createKafkaClient({ brokers: [broker.address], clientId: "sluice-bench", env: {} });
  const registryDatabase =
    format === "avro" ? await openDatabase({ url: null, schema: "sluice_registry", migrate: false }) : null;
  const registry = registryDatabase === null ? null : await startRegistry({ port: 0, database: registryDatabase });
  const registryUrl = registry?.url ?? null;
  const rows: Row[] = [];
  const notes: string[] = [];
  const amqpClient =
    settings.transport !== "kafka" ? createAmqpClient({ url: AMQP_URL, env: {}, prefetch: AMQP_RAW_PREFETCH }) : null;
  const transports: TransportClient[] =
    amqpClient === null ? [client] : settings.transport === "amqp-only" ? [amqpClient] : [client, amqpClient];
  const rawRuns: RawAmqpRow[][] = [];
  try {
    for (const transport of transports) {
      const raw = transport.kind === "amqp" ? rawRuns : null;
      if (settings.database !== "postgres") await benchDatabase("pglite", transport, registryUrl, rows, raw);
      if (settings.database !== "pglite") {
        const reason = await serverUnreachableReason();
        if (reason === null) await benchDatabase("postgres", transport, registryUrl, rows, raw);
        else notes.push(`PostgreSQL server at ${SERVER_URL} skipped: ${reason}`);
      }
    }
    if (rawRuns.length > 0) {
      const rawRows = (["publish", "consume"] as const).map((kind) =>
        medianRun(rawRuns.flatMap((rowsOfRun) => rowsOfRun.filter((row) => row.kind === kind))),
      );
      rows.unshift(...rawRows.map((row) => ({ ...row, transport: "amqplib", database: "-" })));
    }
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
