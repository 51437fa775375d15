// WebSocket fan-out: many clients subscribed to one topic, events produced to it as fast as the broker takes them,
// and how many events per second reach the clients in total, with the produce → receive latency.
// `runWebSocketFanout` runs against any running system (bench/http.ts calls it against `sluice up`). Run alone, this
// file starts the broker and the gateway in a child process of its own and measures from this one:
//   npx tsx bench/websocket-fanout.ts [-- --clients 1000 --events 1000 --event-bytes 100]

import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import { Kafka, logLevel } from "kafkajs";
import { WebSocket } from "ws";
import { nowMs, numberArgument, percentile } from "./common.js";

export const DEFAULT_FANOUT_CLIENTS = 1_000;
export const DEFAULT_FANOUT_EVENTS = 1_000;
export const DEFAULT_FANOUT_EVENT_BYTES = 100;
export const DEFAULT_FANOUT_TIMEOUT_MS = 120_000;
/** Clients opening their connections at the same time; more at once only fills the listen backlog. */
const CONNECT_CONCURRENCY = 50;
/** Events per produce request. */
const PRODUCE_BATCH = 50;
/** Clients that parse every event to time it; the others only count, so that the measuring does not dominate. */
const TIMED_CLIENTS = 10;

export interface FanoutOptions {
  /** The WebSocket gateway, e.g. ws://127.0.0.1:8080/ws. */
  url: string;
  /** Bootstrap brokers to produce to. */
  brokers: string[];
  /** Created with one partition when missing. */
  topic?: string;
  clients?: number;
  events?: number;
  eventBytes?: number;
  timeoutMs?: number;
  log?: (line: string) => void;
}

export interface FanoutResult {
  clients: number;
  events: number;
  eventBytes: number;
  /** Events received by all clients together. */
  deliveries: number;
  /** From the first produce to the last delivery (or the timeout). */
  seconds: number;
  deliveriesPerSecond: number;
  connectSeconds: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  /** Clients the gateway closed during the run (slow-client cut-offs show here). */
  closedClients: number;
}

interface BenchClient {
  ws: WebSocket;
  received: number;
  closed: boolean;
}

async function openClient(url: string, topic: string, index: number, latencies: number[]): Promise<BenchClient> {
  const ws = new WebSocket(url);
  const client: BenchClient = { ws, received: 0, closed: false };
  const timed = index < TIMED_CLIENTS;
  await new Promise<void>((resolve, reject) => {
    ws.once("error", reject);
    ws.on("message", (data: Buffer) => {
      if (data.includes('"type":"subscribed"')) {
        resolve();
        return;
      }
      if (!data.includes('"type":"event"')) return;
      client.received += 1;
      if (timed) {
        const event = JSON.parse(data.toString("utf8")) as { value: { sentAtMs: number } };
        latencies.push(nowMs() - event.value.sentAtMs);
      }
    });
    ws.once("open", () => ws.send(JSON.stringify({ type: "subscribe", topic })));
  });
  ws.on("close", () => {
    client.closed = true;
  });
  return client;
}

export async function runWebSocketFanout(options: FanoutOptions): Promise<FanoutResult> {
  const clientCount = options.clients ?? DEFAULT_FANOUT_CLIENTS;
  const eventCount = options.events ?? DEFAULT_FANOUT_EVENTS;
  const eventBytes = options.eventBytes ?? DEFAULT_FANOUT_EVENT_BYTES;
  const timeoutMs = options.timeoutMs ?? DEFAULT_FANOUT_TIMEOUT_MS;
  const topic = options.topic ?? `bench.fanout.${Date.now()}`;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));

  const kafka = new Kafka({ clientId: "sluice-bench-fanout", brokers: options.brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
  await admin.disconnect();

  log(`fan-out: connecting ${clientCount} WebSocket clients to ${options.url}…`);
  const latencies: number[] = [];
  const clients: BenchClient[] = [];
  const connectStarted = nowMs();
  for (let start = 0; start < clientCount; start += CONNECT_CONCURRENCY) {
    const batch = Array.from({ length: Math.min(CONNECT_CONCURRENCY, clientCount - start) }, (_, offset) =>
      openClient(options.url, topic, start + offset, latencies),
    );
    clients.push(...(await Promise.all(batch)));
  }
  const connectSeconds = (nowMs() - connectStarted) / 1000;

  log(`fan-out: producing ${eventCount} events of ${eventBytes} bytes to ${topic}…`);
  const producer = kafka.producer();
  await producer.connect();
  const pad = "x".repeat(Math.max(0, eventBytes - 40));
  const started = nowMs();
  for (let sent = 0; sent < eventCount; sent += PRODUCE_BATCH) {
    const messages = Array.from({ length: Math.min(PRODUCE_BATCH, eventCount - sent) }, (_, index) => ({
      value: JSON.stringify({ seq: sent + index, sentAtMs: nowMs(), pad }),
    }));
    await producer.send({ topic, acks: -1, messages });
  }
  await producer.disconnect();

  const expected = clientCount * eventCount;
  const total = (): number => clients.reduce((sum, client) => sum + client.received, 0);
  const deadline = started + timeoutMs;
  while (total() < expected && nowMs() < deadline && !clients.every((client) => client.closed)) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const seconds = (nowMs() - started) / 1000;
  const deliveries = total();
  const closedClients = clients.filter((client) => client.closed).length;
  for (const client of clients) client.ws.terminate();
  if (deliveries < expected) log(`fan-out: only ${deliveries} of ${expected} deliveries arrived`);
  const sorted = [...latencies].sort((left, right) => left - right);
  return {
    clients: clientCount,
    events: eventCount,
    eventBytes,
    deliveries,
    seconds,
    deliveriesPerSecond: deliveries / seconds,
    connectSeconds,
    latencyP50Ms: percentile(sorted, 0.5),
    latencyP99Ms: percentile(sorted, 0.99),
    closedClients,
  };
}

/** The result as a Markdown table, as the README quotes benchmarks. */
export function formatFanoutResult(result: FanoutResult): string {
  const header = ["clients", "events", "size", "deliveries", "seconds", "deliveries/s", "p50 ms", "p99 ms", "closed"];
  const row = [
    String(result.clients),
    String(result.events),
    `${result.eventBytes} B`,
    String(result.deliveries),
    result.seconds.toFixed(2),
    Math.round(result.deliveriesPerSecond).toLocaleString("en-US"),
    result.latencyP50Ms.toFixed(1),
    result.latencyP99Ms.toFixed(1),
    String(result.closedClients),
  ];
  const widths = header.map((cell, index) => Math.max(cell.length, row[index]?.length ?? 0));
  const line = (cells: string[]) => `| ${cells.map((cell, index) => cell.padEnd(widths[index] ?? 0)).join(" | ")} |`;
  return [line(header), `|${widths.map((width) => "-".repeat(width + 2)).join("|")}|`, line(row)].join("\n");
}

/** Server mode: the embedded broker and the gateway with its WebSocket gateway, until SIGTERM. */
async function serve(): Promise<void> {
  const { startBroker } = await import("../src/broker/index.js");
  const { createGateway } = await import("../src/gateway/server.js");
  const { attachWebSocketGateway } = await import("../src/gateway/websocket/index.js");
  const { createKafkaClient } = await import("../src/toolkit/kafka/connection.js");
  const { pino } = await import("pino");
  const logger = pino({ level: "warn" }, pino.destination(2));
  const dataDir = mkdtempSync(join(tmpdir(), "sluice-bench-fanout-"));
  const broker = await startBroker({ port: 0, dataDir, logger });
  const http = await createGateway({ logger, port: 0, collectProcessMetrics: false });
  const kafka = createKafkaClient({ brokers: [broker.address], env: {} });
  attachWebSocketGateway(http, { kafka, logger });
  const url = await http.listen();
  process.stdout.write(`ready ${url.replace(/^http/, "ws")}/ws ${broker.address}\n`);
  process.once("SIGTERM", () => {
    void (async () => {
      await http.close();
      await broker.close();
      rmSync(dataDir, { recursive: true, force: true });
      process.exit(0);
    })();
  });
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args.includes("--serve")) return serve();
  const self = fileURLToPath(import.meta.url);
  const child = spawn(process.execPath, ["--import", "tsx", self, "--serve"], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const ready = await new Promise<{ url: string; broker: string }>((resolve, reject) => {
    let output = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString("utf8");
      const match = /ready (\S+) (\S+)/.exec(output);
      if (match?.[1] !== undefined && match[2] !== undefined) resolve({ url: match[1], broker: match[2] });
    });
    child.once("exit", (code) => reject(new Error(`the server exited with ${String(code)}`)));
  });
  try {
    const result = await runWebSocketFanout({
      url: ready.url,
      brokers: [ready.broker],
      clients: numberArgument(args, "--clients", DEFAULT_FANOUT_CLIENTS),
      events: numberArgument(args, "--events", DEFAULT_FANOUT_EVENTS),
      eventBytes: numberArgument(args, "--event-bytes", DEFAULT_FANOUT_EVENT_BYTES),
    });
    console.log(
      `\nnpx tsx bench/websocket-fanout.ts${args.length > 0 ? ` ${args.join(" ")}` : ""}  (node ${process.version})\n`,
    );
    console.log(formatFanoutResult(result));
  } finally {
    child.kill("SIGTERM");
    await new Promise((resolve) => child.once("exit", resolve));
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) await main();
