// The console's costs against an embedded broker on a fresh data directory:
//   1. seek: opening a page of 50 messages of one partition at a random offset, and of all partitions at a random
//      time, in a topic of --messages records (p50 and p99 through the console's API, over HTTP inject);
//   2. filter: a server-side filter that matches nothing scanning the whole topic, in records per second;
//   3. overview: the sampler's CPU time per sample with --topics topics, as a share of one core at the 5 s interval.
// Prints tables and the command. Run: npm run bench:console [-- --messages 2000000 --topics 1000 --quick]

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";

import pino from "pino";
import { Registry } from "prom-client";

import { startBroker } from "../src/broker/index.js";
import { createConsole } from "../src/console/console.js";
import { DEFAULT_SAMPLE_INTERVAL_MS } from "../src/console/overview.js";
import { createGateway } from "../src/gateway/server.js";
import { SluiceKafkaClient } from "../src/kafka/client/index.js";
import { numberArgument } from "./common.js";

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const MESSAGES = numberArgument(args, "--messages", quick ? 200_000 : 1_000_000);
const TOPICS = numberArgument(args, "--topics", quick ? 200 : 1_000);
const PARTITIONS = 4;
const BATCH = 5_000;
const SEEKS = 40;
const SAMPLES = 5;

const silent = pino({ level: "silent" });
const dataDir = mkdtempSync(join(tmpdir(), "sluice-bench-console-"));
const broker = await startBroker({ port: 0, dataDir, logger: silent, flush: { kind: "interval", intervalMs: 50 } });
const kafka = new SluiceKafkaClient({ bootstrapBrokers: [broker.address], clientId: "bench-console" });
const consoleParts = createConsole({ kafka, logger: silent });
const gateway = await createGateway({ logger: silent, metricsRegistry: new Registry(), collectProcessMetrics: false });
await gateway.register(consoleParts.plugin, { prefix: "/console" });

// The answers are read field by field below; a type for each would only repeat the API's documentation.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function call(method: "GET" | "POST", url: string, body?: object): Promise<{ status: number; json: any }> {
  const response = await gateway.app.inject({ method, url: `/console/api${url}`, ...(body ? { payload: body } : {}) });
  return { status: response.statusCode, json: response.json() };
}

const percentile = (values: number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
};
const ms = (value: number): string => value.toFixed(1);

process.stderr.write(`filling "big" with ${MESSAGES.toLocaleString("en-US")} messages in ${PARTITIONS} partitions…\n`);
await kafka.admin.createTopics([{ name: "big", partitions: PARTITIONS }]);
const startTime = Date.now() - MESSAGES;
const perPartition = Math.ceil(MESSAGES / PARTITIONS);
for (let partition = 0; partition < PARTITIONS; partition++) {
  for (let start = 0; start < perPartition; start += BATCH) {
    const count = Math.min(BATCH, perPartition - start);
    await kafka.produce({
      topic: "big",
      partition,
      acks: 1,
      records: Array.from({ length: count }, (_, index) => ({
        key: `customer-${(start + index) % 1000}`,
        value: `{"orderId":"o-${partition}-${start + index}","cents":${(start + index) % 9999},"status":"placed"}`,
        timestamp: startTime + (start + index) * PARTITIONS + partition,
      })),
    });
  }
}

const offsetSeeks: number[] = [];
const timeSeeks: number[] = [];
for (let round = 0; round < SEEKS; round++) {
  const offset = Math.floor(Math.random() * (perPartition - 50));
  let began = performance.now();
  const byOffset = await call("GET", `/topics/big/messages?partition=${round % PARTITIONS}&offset=${offset}&limit=50`);
  offsetSeeks.push(performance.now() - began);
  if (byOffset.json.messages[0].offset !== offset) throw new Error("the seek landed on the wrong offset");
  const timestamp = startTime + Math.floor(Math.random() * MESSAGES);
  began = performance.now();
  await call("GET", `/topics/big/messages?timestamp=${timestamp}&limit=50`);
  timeSeeks.push(performance.now() - began);
}

let cursor: unknown = null;
let scanned = 0;
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

process.stderr.write(`creating ${TOPICS} topics for the overview…\n`);
for (let start = 0; start < TOPICS; start += 100) {
  await kafka.admin.createTopics(
    Array.from({ length: Math.min(100, TOPICS - start) }, (_, index) => ({
      name: `t-${start + index}`,
      partitions: 1,
    })),
  );
}
await consoleParts.context.sampler.sample();
const cpuBefore = process.cpuUsage();
const wallBefore = performance.now();
for (let round = 0; round < SAMPLES; round++) await consoleParts.context.sampler.sample();
const cpu = process.cpuUsage(cpuBefore);
const cpuMsPerSample = (cpu.user + cpu.system) / 1000 / SAMPLES;
const wallMsPerSample = (performance.now() - wallBefore) / SAMPLES;

console.log(`Console (${MESSAGES.toLocaleString("en-US")} messages, ${PARTITIONS} partitions; broker in this process)`);
console.log("| measure | p50 | p99 |");
console.log("| --- | --- | --- |");
console.log(
  `| open 50 messages at an offset (one partition), ms | ${ms(percentile(offsetSeeks, 50))} | ${ms(percentile(offsetSeeks, 99))} |`,
);
console.log(
  `| open 50 messages at a time (all partitions), ms | ${ms(percentile(timeSeeks, 50))} | ${ms(percentile(timeSeeks, 99))} |`,
);
console.log();
console.log("| measure | value |");
console.log("| --- | --- |");
console.log(
  `| filter scan (no match, whole topic), messages/s | ${Math.round(scanned / scanSeconds).toLocaleString("en-US")} |`,
);
console.log(
  `| overview sample with ${TOPICS} topics: CPU ms (wall ms) | ${ms(cpuMsPerSample)} (${ms(wallMsPerSample)}) |`,
);
console.log(
  `| overview CPU at one sample per ${DEFAULT_SAMPLE_INTERVAL_MS / 1000} s, % of one core (broker included) | ${((cpuMsPerSample / DEFAULT_SAMPLE_INTERVAL_MS) * 100).toFixed(2)} |`,
);
console.log(`\nnpm run bench:console -- --messages ${MESSAGES} --topics ${TOPICS}`);

await gateway.close();
await consoleParts.stop();
await kafka.close();
await broker.close();
rmSync(dataDir, { recursive: true, force: true });
