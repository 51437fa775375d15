// The console's costs against an embedded broker on a fresh data directory (broker and console in this process):
//   1. fill: a topic of --messages records (default 10,000,000) in 4 partitions, produced in large batches through
//      Sluice's own client, every partition at once;
//   2. seek: opening a page of 50 messages of one partition at a random offset, and of all partitions at a random
//      time, through the console's API (HTTP inject): p50 and p99 wall time, and the CPU time per open;
//   3. filter: a server-side filter that matches nothing scanning the whole topic: messages per wall second and per
//      CPU second;
//   4. overview: the sampler at its default interval for --overview-seconds (default 60) with --topics topics
//      (default 1,000), as process CPU time over that time, a share of one core.
// On a machine shared with other work wall times vary with the load; CPU times are this process's own. Prints the
// tables and the command. Run: npm run bench:console [-- --messages 1000000 --topics 200 --overview-seconds 20]

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";

import pino from "pino";
import { Registry } from "prom-client";

import { startBroker } from "../src/broker/index.js";
import { createConsole } from "../src/console/console.js";
import { DEFAULT_SAMPLE_INTERVAL_MS } from "../src/console/overview.js";
import { createGateway } from "../src/gateway/server.js";
import { SluiceKafkaClient } from "../src/kafka/client/index.js";
import { log, numberArgument, percentile, table } from "./common.js";

const args = process.argv.slice(2);
const MESSAGES = numberArgument(args, "--messages", 10_000_000);
const TOPICS = numberArgument(args, "--topics", 1_000);
const OVERVIEW_SECONDS = numberArgument(args, "--overview-seconds", 60);
const PARTITIONS = 4;
/** Records per produced batch: large, so filling ten million takes a few hundred requests per partition. */
const BATCH = 20_000;
const SEEKS = 40;
/** What the issue asks of an open at any offset or time. */
const OPEN_TARGET_MS = 200;
const FILTER_TARGET_PER_SECOND = 500_000;
const OVERVIEW_TARGET_PERCENT = 5;

const silent = pino({ level: "silent" });
const dataDir = mkdtempSync(join(tmpdir(), "sluice-bench-console-"));
const broker = await startBroker({ port: 0, dataDir, logger: silent, flush: { kind: "interval", intervalMs: 200 } });
const kafka = new SluiceKafkaClient({ bootstrapBrokers: [broker.address], clientId: "bench-console" });
const consoleParts = createConsole({ kafka, logger: silent });
const gateway = await createGateway({ logger: silent, metricsRegistry: new Registry(), collectProcessMetrics: false });
await gateway.register(consoleParts.plugin, { prefix: "/console" });

// The answers are read field by field below; a type for each would only repeat the API's documentation.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function call(method: "GET" | "POST", url: string, body?: object): Promise<{ status: number; json: any }> {
  const response = await gateway.app.inject({ method, url: `/console/api${url}`, ...(body ? { payload: body } : {}) });
  if (response.statusCode !== 200)
    throw new Error(`${method} ${url} answered ${response.statusCode}: ${response.body}`);
  return { status: response.statusCode, json: response.json() };
}

function cpuMsSince(before: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000;
}

const ms = (value: number): string => value.toFixed(1);
const count = (value: number): string => Math.round(value).toLocaleString("en-US");
const verdict = (ok: boolean): string => (ok ? "yes" : "NO");

// 1. Fill.
log(`filling "big" with ${count(MESSAGES)} messages in ${PARTITIONS} partitions…`);
// Batches of this size are larger than the default message limit of 1 MiB.
await kafka.admin.createTopics([
  { name: "big", partitions: PARTITIONS, configs: { "max.message.bytes": String(16 * 1024 * 1024) } },
]);
const startTime = Date.now() - MESSAGES;
const perPartition = Math.ceil(MESSAGES / PARTITIONS);
const fillBegan = performance.now();
const fillCpu = process.cpuUsage();
let produced = 0;
await Promise.all(
  Array.from({ length: PARTITIONS }, async (_, partition) => {
    for (let start = 0; start < perPartition; start += BATCH) {
      const size = Math.min(BATCH, perPartition - start);
      const records = new Array(size);
      for (let index = 0; index < size; index++) {
        const n = start + index;
        records[index] = {
          key: `customer-${n % 1000}`,
          value: `{"orderId":"o-${partition}-${n}","cents":${n % 9999},"status":"placed"}`,
          timestamp: startTime + n * PARTITIONS + partition,
        };
      }
      await kafka.produce({ topic: "big", partition, acks: 1, records });
      produced += size;
      if (produced % 1_000_000 < BATCH) log(`  ${count(produced)} produced`);
    }
  }),
);
const fillSeconds = (performance.now() - fillBegan) / 1000;
const fillCpuSeconds = cpuMsSince(fillCpu) / 1000;

// 2. Seek.
log("opening pages at random offsets and times…");
const offsetSeeks: number[] = [];
const timeSeeks: number[] = [];
let offsetSeekCpuMs = 0;
let timeSeekCpuMs = 0;
for (let round = 0; round < SEEKS; round++) {
  const offset = Math.floor(Math.random() * (perPartition - 50));
  let cpu = process.cpuUsage();
  let began = performance.now();
  const byOffset = await call("GET", `/topics/big/messages?partition=${round % PARTITIONS}&offset=${offset}&limit=50`);
  offsetSeeks.push(performance.now() - began);
  offsetSeekCpuMs += cpuMsSince(cpu);
  if (byOffset.json.messages[0].offset !== offset) throw new Error("the seek landed on the wrong offset");
  const timestamp = startTime + Math.floor(Math.random() * MESSAGES);
  cpu = process.cpuUsage();
  began = performance.now();
  const byTime = await call("GET", `/topics/big/messages?timestamp=${timestamp}&limit=50`);
  timeSeeks.push(performance.now() - began);
  timeSeekCpuMs += cpuMsSince(cpu);
  if (byTime.json.messages[0].timestamp < timestamp) throw new Error("the time seek landed before its time");
}
offsetSeeks.sort((a, b) => a - b);
timeSeeks.sort((a, b) => a - b);

// 3. Filter.
log("filtering the whole topic for a value nothing has…");
let cursor: unknown = null;
let scanned = 0;
const scanCpu = process.cpuUsage();
const scanBegan = performance.now();
do {
  const slice = await call("POST", "/topics/big/search", {
    filter: { value: "no such text" },
    scanMax: MESSAGES,
    ...(cursor === null ? {} : { cursor }),
  });
  cursor = slice.json.cursor;
  scanned = slice.json.scanned;
} while (cursor !== null);
const scanSeconds = (performance.now() - scanBegan) / 1000;
const scanCpuSeconds = cpuMsSince(scanCpu) / 1000;
if (scanned !== MESSAGES) throw new Error(`the scan read ${scanned} of ${MESSAGES} messages`);

// 4. Overview.
log(`creating ${count(TOPICS)} topics, then sampling them for ${OVERVIEW_SECONDS} s…`);
for (let start = 0; start < TOPICS; start += 100) {
  await kafka.admin.createTopics(
    Array.from({ length: Math.min(100, TOPICS - start) }, (_, index) => ({
      name: `t-${start + index}`,
      partitions: 1,
    })),
  );
}
await sleep(1_000);
const overviewCpu = process.cpuUsage();
const overviewBegan = performance.now();
consoleParts.start();
await sleep(OVERVIEW_SECONDS * 1000);
await consoleParts.stop();
const overviewCpuMs = cpuMsSince(overviewCpu);
const overviewWallMs = performance.now() - overviewBegan;
const overviewPercent = (overviewCpuMs / overviewWallMs) * 100;
const samples = consoleParts.context.sampler.samples().length;

console.log(
  `Console, ${count(MESSAGES)} messages in ${PARTITIONS} partitions, ${count(TOPICS)} topics; broker in this process`,
);
console.log(
  table(
    [
      "measure",
      "p50 wall",
      "p99 wall",
      "CPU per open",
      `CPU under ${OPEN_TARGET_MS} ms`,
      `p99 wall under ${OPEN_TARGET_MS} ms`,
    ],
    [
      [
        "open 50 messages at an offset (one partition), ms",
        ms(percentile(offsetSeeks, 0.5)),
        ms(percentile(offsetSeeks, 0.99)),
        ms(offsetSeekCpuMs / SEEKS),
        verdict(offsetSeekCpuMs / SEEKS < OPEN_TARGET_MS),
        verdict(percentile(offsetSeeks, 0.99) < OPEN_TARGET_MS),
      ],
      [
        "open 50 messages at a time (all partitions), ms",
        ms(percentile(timeSeeks, 0.5)),
        ms(percentile(timeSeeks, 0.99)),
        ms(timeSeekCpuMs / SEEKS),
        verdict(timeSeekCpuMs / SEEKS < OPEN_TARGET_MS),
        verdict(percentile(timeSeeks, 0.99) < OPEN_TARGET_MS),
      ],
    ],
  ),
);
console.log();
console.log(
  table(
    ["measure", "value", "target", "met"],
    [
      [
        "fill, messages per second (wall; CPU seconds)",
        `${count(MESSAGES / fillSeconds)} (${fillSeconds.toFixed(1)} s; ${fillCpuSeconds.toFixed(1)} CPU s)`,
        "",
        "",
      ],
      [
        "filter scan (no match, whole topic), messages per wall second",
        count(scanned / scanSeconds),
        count(FILTER_TARGET_PER_SECOND),
        verdict(scanned / scanSeconds >= FILTER_TARGET_PER_SECOND),
      ],
      [
        "filter scan, messages per CPU second (broker included)",
        count(scanned / scanCpuSeconds),
        count(FILTER_TARGET_PER_SECOND),
        verdict(scanned / scanCpuSeconds >= FILTER_TARGET_PER_SECOND),
      ],
      [
        `overview sampling ${count(TOPICS)} topics every ${DEFAULT_SAMPLE_INTERVAL_MS / 1000} s for ${OVERVIEW_SECONDS} s (${samples} samples), % of one core (broker included)`,
        overviewPercent.toFixed(2),
        `< ${OVERVIEW_TARGET_PERCENT}`,
        verdict(overviewPercent < OVERVIEW_TARGET_PERCENT),
      ],
    ],
  ),
);
console.log(
  `\nnpm run bench:console -- --messages ${MESSAGES} --topics ${TOPICS} --overview-seconds ${OVERVIEW_SECONDS}`,
);

await gateway.close();
await kafka.close();
await broker.close();
rmSync(dataDir, { recursive: true, force: true });
