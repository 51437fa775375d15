// End to end through the toolkit's Kafka client path: `sluice broker` runs in its own process on a fresh data dir,
// and one Node process produces and consumes 100 B and 1 KiB messages (acks=-1, idempotent), then measures the
// latency from a send() call to the consumer seeing the record while 5,000 messages/s are offered, one send() per
// message as a service publishes. Latency goes into a histogram (microsecond resolution), not an average.
// --client picks the Kafka client under the toolkit (kafkajs, sluice, or both side by side); --consumer how records
// are read: through the toolkit's group consumer (the default, as services consume), or, with Sluice's client,
// through the toolkit's partition reader (manual assignment, no group).
// --broker-probe loads bench/broker-probe.ts into the broker and adds its file-call timings, event-loop delay and
// garbage collections during the latency run to the table of where the latency goes.
// Run: npm run bench:e2e [-- --client both|kafkajs|sluice --consumer group|reader --messages 200000 --seconds 10 --quick --json --broker-probe]

import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { IntervalHistogram, RecordableHistogram } from "node:perf_hooks";

import { KAFKA_CLIENT_LIBRARIES, type KafkaClientLibrary } from "../src/toolkit/kafka/connection.js";
import type { ProducerRecord } from "../src/toolkit/kafka/producer.js";
import type { ProbeSpread } from "./broker-probe.js";
import { cpuMicrosPer, log, nowMs, numberArgument, processCpuMs, startBrokerProcess, table } from "./common.js";
import { clientFor, follow, type ConsumerKind } from "./e2e-clients.js";
import { latencyRun, type CpuPerMessage, type LatencyResult } from "./e2e-latency.js";

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const json = args.includes("--json");
const brokerProbe = args.includes("--broker-probe");
const MESSAGES = numberArgument(args, "--messages", quick ? 50_000 : 200_000);
const LATENCY_SECONDS = numberArgument(args, "--seconds", quick ? 3 : 10);
const LATENCY_RATE_PER_S = numberArgument(args, "--rate", 5_000);
/** Records per send() in the throughput runs, and how many sends are outstanding at once (as the outbox relay does). */
const SEND_RECORDS = 1_000;
const SENDS_IN_FLIGHT = 8;
const CONSUME_TIMEOUT_MS = 120_000;
function chosenClients(): KafkaClientLibrary[] {
  const index = args.indexOf("--client");
  const value = index < 0 ? (json ? "sluice" : "both") : args[index + 1];
  if (value === "both") return [...KAFKA_CLIENT_LIBRARIES];
  if (KAFKA_CLIENT_LIBRARIES.includes(value as KafkaClientLibrary)) return [value as KafkaClientLibrary];
  throw new Error(`--client takes ${[...KAFKA_CLIENT_LIBRARIES, "both"].join(", ")}`);
}

function chosenConsumer(): ConsumerKind {
  const index = args.indexOf("--consumer");
  const value = index < 0 ? "group" : args[index + 1];
  if (value === "group" || value === "reader") return value;
  throw new Error("--consumer takes group or reader");
}

const CONSUMER = chosenConsumer();

function seconds(startedMs: number): number {
  return (nowMs() - startedMs) / 1000;
}

interface Run {
  library: KafkaClientLibrary;
  sizeBytes: number;
  produceMsgsPerSec: number;
  consumeMsgsPerSec: number;
  /** CPU microseconds per message, this process and the broker's. */
  produceCpu: CpuPerMessage;
  consumeCpu: CpuPerMessage;
  latency: LatencyResult | null;
}

/** Measures the CPU both processes spend on `work`, per message of `messages`. */
async function withCpu<T>(
  brokerPid: number | undefined,
  messages: number,
  work: () => Promise<T>,
): Promise<[T, CpuPerMessage]> {
  const before = { client: processCpuMs(process.pid), broker: processCpuMs(brokerPid) };
  const result = await work();
  return [
    result,
    {
      client: cpuMicrosPer(before.client, processCpuMs(process.pid), messages),
      broker: cpuMicrosPer(before.broker, processCpuMs(brokerPid), messages),
    },
  ];
}

async function produceRun(
  library: KafkaClientLibrary,
  address: string,
  topic: string,
  sizeBytes: number,
): Promise<number> {
  const client = clientFor(library, address);
  const producer = client.producer();
  await producer.connect();
  const value = Buffer.alloc(sizeBytes, 120);
  let next = 0;
  const started = nowMs();
  const worker = async (): Promise<void> => {
    while (next < MESSAGES) {
      const count = Math.min(SEND_RECORDS, MESSAGES - next);
      next += count;
      const records: ProducerRecord[] = Array.from({ length: count }, () => ({ topic, key: null, value, headers: {} }));
      await producer.send(records);
    }
  };
  await Promise.all(Array.from({ length: SENDS_IN_FLIGHT }, worker));
  const rate = MESSAGES / seconds(started);
  await producer.disconnect();
  return rate;
}

async function consumeRun(library: KafkaClientLibrary, address: string, topic: string): Promise<number> {
  const client = clientFor(library, address);
  let received = 0;
  let finish: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (finish = resolve));
  const started = nowMs();
  const stop = await follow(CONSUMER, library, client, topic, 100, (records) => {
    received += records.length;
    if (received >= MESSAGES) finish();
  });
  const timer = setTimeout(() => finish(), CONSUME_TIMEOUT_MS);
  await done;
  clearTimeout(timer);
  const rate = received / seconds(started);
  if (received < MESSAGES)
    throw new Error(`${library}: consumed ${received} of ${MESSAGES} in ${CONSUME_TIMEOUT_MS} ms`);
  await stop();
  return rate;
}

async function createTopics(address: string, names: readonly string[]): Promise<void> {
  const client = clientFor("sluice", address);
  const admin = client.admin();
  await admin.ensureTopics(names.map((name) => ({ name, partitions: 1 })));
  await admin.disconnect();
}

function ms(histogram: RecordableHistogram | null, percentile: number): number {
  if (histogram === null) return Number.NaN;
  return (percentile === 100 ? histogram.max : histogram.percentile(percentile)) / 1000;
}

const formatMs = (value: number): string => (Number.isNaN(value) ? "-" : value.toFixed(1));
const formatRate = (value: number): string => Math.round(value).toLocaleString("en-US");

async function main(): Promise<void> {
  const clients = chosenClients();
  const sizes = json ? [100] : [100, 1024];
  const work = mkdtempSync(join(tmpdir(), "sluice-bench-e2e-"));
  const probeFile = brokerProbe ? join(work, "probe.json") : undefined;
  const { child, address } = await startBrokerProcess(join(work, "data"), { probeFile });
  log(`broker ${address}, pid ${child.pid}, data in ${work}`);
  const runs: Run[] = [];
  try {
    const topics = clients.flatMap((library) => [
      `latency-${library}`,
      `latency-${library}-warmup`,
      ...sizes.map((size) => `throughput-${library}-${size}`),
    ]);
    await createTopics(address, topics);
    for (const library of clients) {
      // Latency first, on a quiet broker, so that writeback of the throughput runs' data does not colour it.
      log(`${library}: latency at ${LATENCY_RATE_PER_S} msgs/s for ${LATENCY_SECONDS} s…`);
      const latency = await latencyRun(library, address, `latency-${library}`, child.pid, probeFile, {
        consumer: CONSUMER,
        ratePerS: LATENCY_RATE_PER_S,
        seconds: LATENCY_SECONDS,
      });
      for (const sizeBytes of sizes) {
        const topic = `throughput-${library}-${sizeBytes}`;
        log(`${library}: producing ${MESSAGES} × ${sizeBytes} B…`);
        const [produceMsgsPerSec, produceCpu] = await withCpu(child.pid, MESSAGES, () =>
          produceRun(library, address, topic, sizeBytes),
        );
        log(`${library}: consuming ${MESSAGES}…`);
        const [consumeMsgsPerSec, consumeCpu] = await withCpu(child.pid, MESSAGES, () =>
          consumeRun(library, address, topic),
        );
        runs.push({
          library,
          sizeBytes,
          produceMsgsPerSec,
          consumeMsgsPerSec,
          produceCpu,
          consumeCpu,
          latency: sizeBytes === 100 ? latency : null,
        });
      }
    }
  } finally {
    child.kill("SIGTERM");
    await new Promise((resolve) => child.once("exit", resolve));
    rmSync(work, { recursive: true, force: true });
  }
  if (json) {
    const run = runs[0]!;
    console.log(
      JSON.stringify({
        produceMsgsPerSec: Math.round(run.produceMsgsPerSec),
        consumeMsgsPerSec: Math.round(run.consumeMsgsPerSec),
        p50Ms: Number(ms(run.latency?.histogram ?? null, 50).toFixed(2)),
        p99Ms: Number(ms(run.latency?.histogram ?? null, 99).toFixed(2)),
        p999Ms: Number(ms(run.latency?.histogram ?? null, 99.9).toFixed(2)),
      }),
    );
    return;
  }
  const cores = spawnSync("nproc").stdout.toString().trim();
  console.log(
    `\nnpm run bench:e2e${args.length ? ` -- ${args.join(" ")}` : ""}  (node ${process.version}, ${cores} cores, ` +
      `${MESSAGES} messages per throughput run, latency at ${LATENCY_RATE_PER_S} msgs/s for ${LATENCY_SECONDS} s, ` +
      `consuming through the ${CONSUMER === "group" ? "group consumer" : "partition reader"})\n`,
  );
  console.log(
    table(
      [
        "client",
        "size",
        "produce msgs/s",
        "CPU µs/msg client / broker",
        "consume msgs/s",
        "CPU µs/msg client / broker",
        "e2e p50 ms",
        "p99 ms",
        "p999 ms",
        "max ms",
        "ack p50 / p99 ms",
        "failed sends",
        "loop delay p99 ms",
      ],
      runs.map((run) => [
        run.library,
        run.sizeBytes === 100 ? "100 B" : "1 KiB",
        formatRate(run.produceMsgsPerSec),
        `${run.produceCpu.client} / ${run.produceCpu.broker}`,
        formatRate(run.consumeMsgsPerSec),
        `${run.consumeCpu.client} / ${run.consumeCpu.broker}`,
        formatMs(ms(run.latency?.histogram ?? null, 50)),
        formatMs(ms(run.latency?.histogram ?? null, 99)),
        formatMs(ms(run.latency?.histogram ?? null, 99.9)),
        formatMs(ms(run.latency?.histogram ?? null, 100)),
        run.latency === null ? "-" : `${formatMs(ms(run.latency.acked, 50))} / ${formatMs(ms(run.latency.acked, 99))}`,
        run.latency === null ? "-" : String(run.latency.failedSends),
        run.latency === null ? "-" : formatMs(run.latency.eventLoopDelayP99Ms),
      ]),
    ),
  );
  const staged = runs.filter((run) => run.latency !== null);
  if (staged.length === 0) return;
  console.log(`\nWhere the latency goes (${LATENCY_RATE_PER_S} msgs/s of 100 B; ms as p50 / p99 / p999 / max):\n`);
  const spread = (histogram: RecordableHistogram | IntervalHistogram, unit: number): string =>
    [50, 99, 99.9, 100]
      .map((percentile) => formatMs((percentile === 100 ? histogram.max : histogram.percentile(percentile)) / unit))
      .join(" / ");
  console.log(
    table(
      ["client", "stage", "value"],
      staged.flatMap((run) => {
        const latency = run.latency!;
        const { stages } = latency;
        const total = LATENCY_RATE_PER_S * LATENCY_SECONDS;
        const probed = (spreadOf: ProbeSpread): string =>
          [spreadOf.p50Ms, spreadOf.p99Ms, spreadOf.p999Ms, spreadOf.maxMs].map(formatMs).join(" / ");
        const broker = stages.broker;
        const brokerRows =
          broker === null
            ? []
            : [
                [run.library, "broker event-loop delay", probed(broker.loopDelay)],
                ...Object.entries(broker.calls).map(([name, calls]) => [
                  run.library,
                  `broker ${name} (${calls.count} calls)`,
                  probed(calls),
                ]),
                [
                  run.library,
                  "broker garbage collection",
                  `${broker.gc.count} pauses, ${broker.gc.totalMs.toFixed(1)} ms in all, longest ${broker.gc.maxMs.toFixed(1)} ms`,
                ],
              ];
        return [
          [run.library, "send → consumer's handler (end to end)", spread(latency.histogram, 1000)],
          ...(stages.queued.count === 0
            ? []
            : [[run.library, "send → batch taken (a free slot, pacing)", spread(stages.queued, 1000)]]),
          [run.library, "send → acknowledgement (acks=-1: write + fsync)", spread(latency.acked, 1000)],
          [
            run.library,
            "handled before the ack (visible before fsync)",
            `${((100 * stages.handledBeforeAck) / total).toFixed(1)}% of messages`,
          ],
          [run.library, "  … by how long the ack came after the handler", spread(stages.ackAfterHandler, 1000)],
          [run.library, "client event-loop delay (timer lateness)", spread(stages.loopDelay, 1e6)],
          [run.library, "broker's answer to a no-disk request (Metadata)", spread(stages.brokerProbe, 1000)],
          [
            run.library,
            "client garbage collection",
            `${stages.gcCount} pauses, ${stages.gcTotalMs.toFixed(1)} ms in all, longest ${stages.gcMaxMs.toFixed(1)} ms`,
          ],
          [run.library, "CPU µs per message, client / broker", `${stages.cpu.client} / ${stages.cpu.broker}`],
          ...brokerRows,
        ];
      }),
    ),
  );
}

await main();
