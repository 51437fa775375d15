// The schema registry, the Avro serdes and the orders system, measured on this machine:
//   1. registration: POST /subjects/{s}/versions of new schemas, 32 clients, requests per second;
//   2. lookup by id: GET /schemas/ids/{id}, 32 clients, requests per second (what consumers call for a new id),
//      sent from the lean keep-alive client of bench/http-load.ts;
//   3. a 1 KiB Avro event encoded and decoded in the wire format with the id cached, events per second;
//   4. Avro against JSON through the toolkit's outbox relay and inbox consumer (bench/toolkit.ts run with
//      --format json and --format avro on PGlite), events per second and what Avro adds;
//   5. the orders system end to end (`sluice up --apps orders`): orders per second from POST to fulfilled, and the
//      latency of each at a steady pace, p50 and p99, on PGlite and on the PostgreSQL server.
// The registry runs as `sluice registry` in a child process, on PGlite in a temporary data directory (or, with
// --postgres, in a fresh database on the server of DATABASE_URL). Prints tables and the command.
// Run: npm run bench:registry [-- --quick] [--postgres] [--skip-toolkit] [--skip-orders]

import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";

import pg from "pg";

import { defineAvroTopic, serializerFor } from "../src/toolkit/index.js";
import { cpuMicrosPer, log, percentile, processCpuMs, table } from "./common.js";
import { encodeRequest, runLoad } from "./http-load.js";

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const onPostgres = args.includes("--postgres");
const CLIENTS = 32;
const REGISTRATIONS = quick ? 200 : 1_000;
const LOOKUPS = quick ? 20_000 : 100_000;
const CODEC_EVENTS = quick ? 50_000 : 200_000;
const ORDERS_PACED = quick ? 30 : 100;
const ORDERS_FLAT_OUT = quick ? 100 : 500;
/**
 * Orders placed one every this many milliseconds for the latency run, so that it shows the path, not a queue: at one
 * every 50 ms the offered 20 orders/s was about what PGlite completes flat out on a loaded machine (20 – 28), and the
 * latency grew with the backlog (p50 1.4 s, where single traced orders took 60 – 300 ms).
 */
const ORDER_INTERVAL_MS = 200;
const ORDER_CLIENTS = 8;
/** How often the latency run reads the order list (50 orders with their lines) to see which turned fulfilled. */
const ORDER_POLL_MS = 20;
const START_TIMEOUT_MS = 120_000;
const FULFILL_TIMEOUT_MS = 120_000;
const SERVER_URL = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";

function schemaNumbered(n: number): string {
  return JSON.stringify({
    type: "record",
    name: "Event",
    namespace: "bench",
    fields: [
      { name: "id", type: "string" },
      { name: `field${n}`, type: "int", default: n },
    ],
  });
}

async function inParallel(clients: number, work: (client: number) => Promise<void>): Promise<void> {
  await Promise.all(Array.from({ length: clients }, (_, client) => work(client)));
}

/** A fresh database on the PostgreSQL server, dropped by the returned function. */
async function freshServerDatabase(name: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const admin = new pg.Client({ connectionString: SERVER_URL });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(SERVER_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const client = new pg.Client({ connectionString: SERVER_URL });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}

/** Starts a sluice CLI command in a child process and waits for the line that `ready` finds its URL in. */
function startCli(
  cliArgs: string[],
  env: Record<string, string>,
  ready: (output: string) => string | null,
): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...cliArgs], {
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, KAFKA_BROKERS: "", DATABASE_URL: "", ...env },
  });
  return new Promise((resolve, reject) => {
    let output = "";
    const timer = setTimeout(() => reject(new Error(`sluice ${cliArgs[0]} did not start`)), START_TIMEOUT_MS);
    child.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString("utf8");
      const url = ready(output);
      if (url !== null) {
        clearTimeout(timer);
        resolve({ child, url });
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`sluice ${cliArgs[0]} exited with ${String(code)} before it was up`));
    });
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  child.kill("SIGTERM");
  await new Promise((resolve) => child.once("exit", resolve));
}

async function registryRows(dataDir: string, databaseUrl: string | null): Promise<string[][]> {
  const rows: string[][] = [];
  const registry = await startCli(
    ["registry", "--host", "127.0.0.1", "--port", "0", "--data-dir", dataDir, "--log-level", "warn"],
    databaseUrl === null ? {} : { DATABASE_URL: databaseUrl },
    (output) => {
      const address = /listening on (\S+)/.exec(output)?.[1];
      return address === undefined ? null : `http://${address}`;
    },
  );
  try {
    log(`registering ${REGISTRATIONS} schemas from ${CLIENTS} clients…`);
    let next = 0;
    const registerStart = performance.now();
    await inParallel(CLIENTS, async () => {
      while (next < REGISTRATIONS) {
        const n = next++;
        const response = await fetch(`${registry.url}/subjects/bench-${n % 50}/versions`, {
          method: "POST",
          headers: { "content-type": "application/vnd.schemaregistry.v1+json" },
          body: JSON.stringify({ schema: schemaNumbered(n) }),
        });
        if (!response.ok) throw new Error(`registration failed: ${await response.text()}`);
      }
    });
    const registerSeconds = (performance.now() - registerStart) / 1000;
    rows.push([
      `register (new schemas, ${CLIENTS} clients)`,
      `${Math.round(REGISTRATIONS / registerSeconds)} requests/s`,
    ]);

    log(`looking up schemas by id: ${LOOKUPS} requests from ${CLIENTS} clients…`);
    const host = new URL(registry.url).host;
    const lookupsById = Array.from({ length: CLIENTS }, (_, client) =>
      encodeRequest(host, { method: "GET", path: `/schemas/ids/${(client % REGISTRATIONS) + 1}` }),
    );
    // A warm-up run first, so that the figure is the server's steady state rather than its JIT's first compilations.
    const lookup = {
      url: registry.url,
      concurrency: CLIENTS,
      request: (index: number) => lookupsById[index % CLIENTS] as Buffer,
      check: (answer: { status: number }) => answer.status === 200,
    };
    await runLoad({ ...lookup, count: LOOKUPS / 5 });
    const cpuBefore = processCpuMs(registry.child.pid);
    const lookups = await runLoad({ ...lookup, count: LOOKUPS });
    const lookupCpu = cpuMicrosPer(cpuBefore, processCpuMs(registry.child.pid), LOOKUPS);
    if (lookups.ok !== lookups.count) throw new Error(`${lookups.count - lookups.ok} lookups failed`);
    rows.push([`lookup by id (${CLIENTS} clients)`, `${Math.round(lookups.perSecond)} requests/s`]);
    rows.push(["lookup by id: the registry's CPU time per request", `${lookupCpu} µs`]);

    log(`encoding and decoding ${CODEC_EVENTS} Avro events…`);
    const topic = defineAvroTopic<{ id: string; payload: string; amount: number }>({
      name: "bench.codec",
      schema: {
        type: "record",
        name: "Payload",
        fields: [
          { name: "id", type: "string" },
          { name: "payload", type: "string" },
          { name: "amount", type: "long" },
        ],
      },
      registry: { url: registry.url },
    });
    const serializer = serializerFor(topic);
    await serializer.prepare?.(topic);
    const value = { id: "0f8e2a52-6c1e-4c3a-9f55-1f0c1d2b3a4e", payload: "x".repeat(970), amount: 123_456 };
    const sample = serializer.encode(topic, value);
    await serializer.prepareDecode?.(topic, sample);
    // A short warm-up, so that the figure is the steady state rather than the JIT's first compilations.
    for (let i = 0; i < CODEC_EVENTS / 10; i++) serializer.decode(topic, serializer.encode(topic, value));
    const codecStart = performance.now();
    for (let i = 0; i < CODEC_EVENTS; i++) serializer.decode(topic, serializer.encode(topic, value));
    const codecSeconds = (performance.now() - codecStart) / 1000;
    rows.push([
      `Avro encode+decode (${sample.length} B event, id cached)`,
      `${Math.round(CODEC_EVENTS / codecSeconds)} events/s`,
    ]);
  } finally {
    await stop(registry.child);
  }
  return rows;
}

/** Runs bench/toolkit.ts on PGlite for one format; its relay and consumer figures, in events per second. */
function toolkitFigures(format: "json" | "avro"): { relay: number; consumer: number } {
  log(`bench:toolkit --format ${format} (PGlite)…`);
  const run = spawnSync(
    process.execPath,
    ["--import", "tsx", "bench/toolkit.ts", "--database", "pglite", "--format", format, ...(quick ? ["--quick"] : [])],
    { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], env: { ...process.env } },
  );
  if (run.status !== 0) throw new Error(`bench:toolkit --format ${format} failed (${String(run.status)})`);
  const figure = (measure: RegExp): number => {
    const line = run.stdout.split("\n").find((row) => measure.test(row));
    const match = line === undefined ? null : /([\d,]+) events\/s/.exec(line);
    if (match === null) throw new Error(`bench:toolkit printed no ${measure.source} figure:\n${run.stdout}`);
    return Number((match[1] as string).replaceAll(",", ""));
  };
  return { relay: figure(/outbox relay/), consumer: figure(/inbox consumer/) };
}

function toolkitRows(): string[][] {
  const json = toolkitFigures("json");
  const avro = toolkitFigures("avro");
  const added = (jsonRate: number, avroRate: number) => `${((jsonRate / avroRate - 1) * 100).toFixed(1)}%`;
  return [
    ["outbox relay → broker (PGlite)", String(json.relay), String(avro.relay), added(json.relay, avro.relay)],
    ["inbox consumer (PGlite)", String(json.consumer), String(avro.consumer), added(json.consumer, avro.consumer)],
  ];
}

interface OrderAnswer {
  id: string;
  status: string;
}

async function placeOrder(url: string, customer: number): Promise<string> {
  const response = await fetch(`${url}/api/orders`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      customerId: `customer-${customer % 16}`,
      items: [{ sku: "book", quantity: 1 + (customer % 3), priceCents: 1500 }],
    }),
  });
  const body = (await response.json()) as OrderAnswer;
  if (response.status !== 202) throw new Error(`placing an order answered ${response.status}`);
  return body.id;
}

async function fulfilledIds(url: string): Promise<Set<string>> {
  const { orders } = (await (await fetch(`${url}/api/orders`)).json()) as { orders: OrderAnswer[] };
  return new Set(orders.filter((order) => order.status === "fulfilled").map((order) => order.id));
}

async function ordersRow(database: string, databaseUrl: string | null): Promise<string[]> {
  const dataDir = mkdtempSync(join(tmpdir(), "sluice-bench-orders-"));
  const up = await startCli(
    ["up", "--apps", "orders", "--port", "0", "--broker-port", "0", "--registry-port", "0"].concat([
      "--data-dir",
      dataDir,
      "--log-level",
      "warn",
    ]),
    databaseUrl === null ? {} : { DATABASE_URL: databaseUrl },
    (output) => (output.includes("Stop with") ? (/Orders +(http:\/\/\S+?)\/?\s/.exec(output)?.[1] ?? null) : null),
  );
  try {
    // Latency at a steady pace: each order from its POST's answer until the order list shows it fulfilled.
    log(`${database}: ${ORDERS_PACED} orders, one every ${ORDER_INTERVAL_MS} ms…`);
    const placedAt = new Map<string, number>();
    const latencies: number[] = [];
    let placing = true;
    const watcher = (async () => {
      const deadline = performance.now() + FULFILL_TIMEOUT_MS;
      while ((placing || placedAt.size > 0) && performance.now() < deadline) {
        const fulfilled = await fulfilledIds(up.url);
        const seenAt = performance.now();
        for (const [id, at] of placedAt) {
          if (!fulfilled.has(id)) continue;
          latencies.push(seenAt - at);
          placedAt.delete(id);
        }
        await new Promise((resolve) => setTimeout(resolve, ORDER_POLL_MS));
      }
      if (placedAt.size > 0) throw new Error(`${placedAt.size} orders were not fulfilled in time`);
    })();
    for (let index = 0; index < ORDERS_PACED; index++) {
      const started = performance.now();
      const id = await placeOrder(up.url, index);
      placedAt.set(id, performance.now());
      const spent = performance.now() - started;
      if (spent < ORDER_INTERVAL_MS) await new Promise((resolve) => setTimeout(resolve, ORDER_INTERVAL_MS - spent));
    }
    placing = false;
    await watcher;
    latencies.sort((a, b) => a - b);

    // Throughput: orders placed flat out from several clients, until the last of them is fulfilled.
    log(`${database}: ${ORDERS_FLAT_OUT} orders from ${ORDER_CLIENTS} clients…`);
    const ids: string[] = [];
    let next = 0;
    const flatStart = performance.now();
    await inParallel(ORDER_CLIENTS, async () => {
      while (next < ORDERS_FLAT_OUT) ids.push(await placeOrder(up.url, next++));
    });
    const deadline = performance.now() + FULFILL_TIMEOUT_MS;
    for (const id of ids) {
      for (;;) {
        const order = (await (await fetch(`${up.url}/api/orders/${id}`)).json()) as OrderAnswer;
        if (order.status === "fulfilled") break;
        if (performance.now() > deadline) throw new Error(`order ${id} was not fulfilled in time`);
        await new Promise((resolve) => setTimeout(resolve, ORDER_POLL_MS));
      }
    }
    const flatSeconds = (performance.now() - flatStart) / 1000;
    return [
      database,
      `${Math.round(ORDERS_FLAT_OUT / flatSeconds)}`,
      percentile(latencies, 0.5).toFixed(1),
      percentile(latencies, 0.99).toFixed(1),
      String(latencies.length),
    ];
  } finally {
    await stop(up.child);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), "sluice-bench-registry-"));
  const server = onPostgres ? await freshServerDatabase(`sluice_bench_registry_${process.pid}`) : null;
  let registry: string[][];
  try {
    registry = await registryRows(dataDir, server?.url ?? null);
  } finally {
    await server?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  }
  const toolkit = args.includes("--skip-toolkit") ? [] : toolkitRows();
  const orders: string[][] = [];
  if (!args.includes("--skip-orders")) {
    orders.push(await ordersRow("PGlite", null));
    const ordersServer = await freshServerDatabase(`sluice_bench_orders_${process.pid}`);
    try {
      orders.push(await ordersRow("PostgreSQL server", ordersServer.url));
    } finally {
      await ordersServer.drop();
    }
  }

  console.log(
    `\nSchema registry (${onPostgres ? "PostgreSQL server" : "PGlite"}, its own process), ${cpus().length} cores, ` +
      `Node ${process.versions.node}\n`,
  );
  console.log(table(["measure", "result"], registry));
  if (toolkit.length > 0) {
    console.log(`\nAvro against JSON in the toolkit (bench:toolkit ${quick ? "--quick " : ""}--database pglite)\n`);
    console.log(table(["measure", "JSON events/s", "Avro events/s", "Avro adds"], toolkit));
  }
  if (orders.length > 0) {
    console.log(
      `\nOrders end to end (sluice up --apps orders): orders/s from POST to fulfilled (${ORDERS_FLAT_OUT} orders, ` +
        `${ORDER_CLIENTS} clients); latency from the POST's answer until the order list shows it fulfilled ` +
        `(one order every ${ORDER_INTERVAL_MS} ms, list read every ${ORDER_POLL_MS} ms)\n`,
    );
    console.log(table(["database", "orders/s", "p50 ms", "p99 ms", "orders timed"], orders));
  }
  console.log(`\nCommand: npm run bench:registry${args.length > 0 ? ` -- ${args.join(" ")}` : ""}`);
}

await main();
