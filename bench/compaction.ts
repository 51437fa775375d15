// The log cleaner's throughput and its effect on produce latency: fills a compacted topic with keyed records, then
// measures kafkajs produce latency (acks=-1, one message at a time at a fixed rate) first with the cleaner idle and
// then while it compacts the topic, in the same broker process. Prints a table.
// Run: npm run bench:broker -- --compaction [--records 2000000 --keys 10000 --cleaner-nice 10 --cleaner-io-mbps 20
//      --quick]

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { Kafka, logLevel } from "kafkajs";
import pino from "pino";
import { startBroker } from "../src/broker/index.js";
import { LOG_CLEANER_IO_BYTES_PER_SECOND_MAX, LOG_CLEANER_THREAD_NICE } from "../src/broker/config.js";
import { buildRecordBatch, validateProducedBatch } from "../src/kafka/protocol/record-batch.js";
import { log, numberArgument, percentile, table } from "./common.js";

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const RECORDS = numberArgument(args, "--records", quick ? 500_000 : 2_000_000);
const KEYS = numberArgument(args, "--keys", 10_000);
/** The cleaner thread's nice value; 0 runs it at the broker's priority, to compare. */
const CLEANER_NICE = niceArgument();
/** log.cleaner.io.max.bytes.per.second, given in MiB a second (the unit of the table's cleaner rate); unthrottled. */
const CLEANER_IO_BYTES_PER_SECOND = args.includes("--cleaner-io-mbps")
  ? numberArgument(args, "--cleaner-io-mbps", 1) * 1024 * 1024
  : LOG_CLEANER_IO_BYTES_PER_SECOND_MAX;

function niceArgument(): number {
  const index = args.indexOf("--cleaner-nice");
  if (index < 0) return LOG_CLEANER_THREAD_NICE;
  const value = Number(args[index + 1]);
  if (!Number.isInteger(value) || value < 0 || value > 19) throw new Error("--cleaner-nice takes 0 to 19");
  return value;
}
const VALUE_BYTES = 100;
const BATCH_RECORDS = 1000;
const PROBE_RATE_PER_S = 200;
const IDLE_PROBE_MS = quick ? 3000 : 5000;

interface Latencies {
  p50: number;
  p99: number;
  max: number;
  samples: number;
}

/** Sends one message at a time at PROBE_RATE_PER_S until `until` resolves (or `durationMs` passes). */
async function probe(
  producer: ReturnType<Kafka["producer"]>,
  stop: Promise<unknown> | null,
  durationMs: number,
): Promise<Latencies> {
  const samples: number[] = [];
  let stopped = false;
  void stop?.then(() => (stopped = true));
  const deadline = Date.now() + durationMs;
  const intervalMs = 1000 / PROBE_RATE_PER_S;
  let next = performance.now();
  while (stop !== null ? !stopped : Date.now() < deadline) {
    const started = performance.now();
    await producer.send({ topic: "probe", acks: -1, messages: [{ value: "x".repeat(VALUE_BYTES) }] });
    samples.push(performance.now() - started);
    next += intervalMs;
    const waitMs = next - performance.now();
    if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
    else next = performance.now();
  }
  samples.sort((a, b) => a - b);
  return {
    p50: percentile(samples, 0.5),
    p99: percentile(samples, 0.99),
    max: samples.at(-1) ?? NaN,
    samples: samples.length,
  };
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), "sluice-bench-compaction-"));
  const running = await startBroker({
    dataDir,
    port: 0,
    logger: pino({ level: "warn" }),
    // The cleaner is started by hand below, so that the idle measurement has it idle.
    logCleanerBackoffMs: 3_600_000,
    logCleanerThreadNice: CLEANER_NICE,
    logCleanerIoBytesPerSecondMax: CLEANER_IO_BYTES_PER_SECOND,
  });
  const kafka = new Kafka({ brokers: [running.address], logLevel: logLevel.NOTHING });
  const producer = kafka.producer();
  try {
    const { broker } = running;
    broker.topics.create(
      "compacted",
      1,
      new Map([
        ["cleanup.policy", "compact"],
        ["segment.bytes", String(16 * 1024 * 1024)],
      ]),
    );
    broker.topics.create("probe", 1, new Map());
    const topicLog = broker.topics.partition("compacted", 0)!.log;
    log(`filling the compacted topic with ${RECORDS} records over ${KEYS} keys…`);
    const value = "v".repeat(VALUE_BYTES);
    for (let base = 0; base < RECORDS; base += BATCH_RECORDS) {
      const records = Array.from({ length: Math.min(BATCH_RECORDS, RECORDS - base) }, (_, i) => ({
        key: `key-${(base + i) % KEYS}`,
        value,
      }));
      const batch = buildRecordBatch({ records });
      const validation = validateProducedBatch(batch, 10 * 1024 * 1024);
      if (!("header" in validation)) throw new Error(validation.message);
      topicLog.append(batch, validation.header);
    }
    await topicLog.sync();
    // Records written from here on go to a new segment, so that everything above is sealed and cleanable.
    broker.topics.alterConfigs("compacted", new Map([["segment.ms", "1"]]), true, false);
    await new Promise((resolve) => setTimeout(resolve, 5));
    const closing = buildRecordBatch({ records: [{ key: "closing", value: "x" }] });
    const closingValidation = validateProducedBatch(closing, 1024);
    if (!("header" in closingValidation)) throw new Error(closingValidation.message);
    topicLog.append(closing, closingValidation.header);
    const sizeBefore = topicLog.sizeBytes;

    await producer.connect();
    log(`measuring produce latency with the cleaner idle for ${IDLE_PROBE_MS} ms…`);
    await probe(producer, null, 500);
    // How long the event loop was held up, to tell the cleaner's slices apart from the machine's own stalls.
    const idleDelay = monitorEventLoopDelay({ resolution: 1 });
    idleDelay.enable();
    const idle = await probe(producer, null, IDLE_PROBE_MS);
    idleDelay.disable();

    log("measuring produce latency while the cleaner compacts the topic…");
    const loopDelay = monitorEventLoopDelay({ resolution: 1 });
    loopDelay.enable();
    const started = performance.now();
    let cleaningMs = 0;
    const cleaning = broker.cleaner.cleanNow().then((cleanings) => {
      cleaningMs = performance.now() - started;
      return cleanings;
    });
    const busy = await probe(producer, cleaning, Number.POSITIVE_INFINITY);
    const cleanings = await cleaning;
    loopDelay.disable();
    if (cleanings !== 1) throw new Error(`expected one cleaning, got ${cleanings}`);
    const sizeAfter = topicLog.sizeBytes;
    const mib = sizeBefore / (1024 * 1024);

    console.log(
      `\nnpm run bench:broker -- ${args.join(" ")}  (node ${process.version}; broker, cleaner and kafkajs in one process)\n`,
    );
    console.log(
      table(
        ["log", "records", "keys", "before", "after", "cleaning", "cleaner MB/s"],
        [
          [
            "compacted",
            String(RECORDS),
            String(KEYS),
            `${mib.toFixed(1)} MiB`,
            `${(sizeAfter / (1024 * 1024)).toFixed(2)} MiB`,
            `${(cleaningMs / 1000).toFixed(2)} s`,
            (mib / (cleaningMs / 1000)).toFixed(1),
          ],
        ],
      ),
    );
    console.log("");
    const row = (name: string, l: Latencies): string[] => [
      name,
      String(l.samples),
      l.p50.toFixed(2),
      l.p99.toFixed(2),
      l.max.toFixed(2),
    ];
    console.log(
      table(
        ["produce (kafkajs, acks=-1, 200 msg/s)", "messages", "p50 ms", "p99 ms", "max ms"],
        [row("cleaner idle", idle), row("while cleaning", busy)],
      ),
    );
    console.log(`\np99 while cleaning / idle p99: ${(busy.p99 / idle.p99).toFixed(2)}×`);
    const delay = (name: string, histogram: ReturnType<typeof monitorEventLoopDelay>): string =>
      `${name}: p50 ${(histogram.percentile(50) / 1e6).toFixed(1)} ms, p99 ${(histogram.percentile(99) / 1e6).toFixed(1)} ms, ` +
      `max ${(histogram.max / 1e6).toFixed(1)} ms`;
    console.log(`Event loop delay ${delay("idle", idleDelay)}; ${delay("while cleaning", loopDelay)}`);
  } finally {
    await producer.disconnect().catch(() => undefined);
    await running.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
