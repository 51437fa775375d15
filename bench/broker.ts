// Broker throughput and latency: kcat and kafkajs producing and consuming 100 B and 1 KiB messages with acks=1 and
// acks=-1 against `sluice broker` running in its own process on a fresh data dir, then end-to-end latency at a
// fixed offered rate, transactional produce (100 messages per transaction) and read_committed consume against the same
// done without transactions, and the broker's memory. Prints tables.
// Run: npm run bench:broker [-- --messages 1000000 --quick --transactions-only]; with -- --compaction, the log cleaner
// (bench/compaction.ts).

import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Kafka, logLevel } from "kafkajs";

import { cpuMicrosPer, processCpuMs, startBrokerProcess } from "./common.js";

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const messagesArg = args.indexOf("--messages");
const KCAT_MESSAGES = messagesArg >= 0 ? Number(args[messagesArg + 1]) : quick ? 200_000 : 1_000_000;
const KAFKAJS_MESSAGES = Math.min(KCAT_MESSAGES, quick ? 50_000 : 200_000);
const TRANSACTIONS_ONLY = args.includes("--transactions-only");
/** Messages per transaction in the transactional rows, and per send in the rows they are compared with. */
const TXN_BATCH_MESSAGES = 100;
const TXN_MESSAGES = quick ? 20_000 : 100_000;
/** Producers writing at once in the transactional comparison, each one transaction (or send) at a time. */
const TXN_PRODUCERS = 4;
const LATENCY_RATE_PER_S = 1000;
const LATENCY_DURATION_MS = quick ? 3000 : 10_000;

interface Row {
  client: string;
  operation: string;
  size: string;
  acks: string;
  messages: number;
  seconds: number;
  /** The broker's CPU time per batch of TXN_BATCH_MESSAGES (per transaction), for the transactional comparison. */
  cpuMicrosPerBatch?: string;
}

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

function memoryOf(pid: number): { rssMiB: number; peakMiB: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const field = (name: string): number => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) / 1024;
  return { rssMiB: field("VmRSS"), peakMiB: field("VmHWM") };
}

function timed(command: string, commandArgs: string[]): number {
  const started = process.hrtime.bigint();
  const result = spawnSync(command, commandArgs, { stdio: ["ignore", "ignore", "pipe"], maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) throw new Error(`${command} ${commandArgs.join(" ")} failed: ${result.stderr?.toString()}`);
  return Number(process.hrtime.bigint() - started) / 1e9;
}

function payloadFile(dir: string, sizeBytes: number, count: number): string {
  const path = join(dir, `payload-${sizeBytes}.txt`);
  const line = "x".repeat(sizeBytes - 1) + "\n";
  writeFileSync(path, line.repeat(count));
  return path;
}

async function kafkajsProduce(
  address: string,
  topic: string,
  sizeBytes: number,
  acks: number,
  count: number,
): Promise<number> {
  const kafka = new Kafka({ brokers: [address], logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ allowAutoTopicCreation: true });
  await producer.connect();
  const value = Buffer.alloc(sizeBytes, 120);
  const batchSize = 1000;
  const inFlight = 4;
  let sent = 0;
  const started = process.hrtime.bigint();
  const worker = async (): Promise<void> => {
    while (sent < count) {
      const n = Math.min(batchSize, count - sent);
      sent += n;
      await producer.send({ topic, acks, messages: Array.from({ length: n }, () => ({ value })) });
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await producer.disconnect();
  return seconds;
}

async function kafkajsConsume(address: string, topic: string, count: number): Promise<number> {
  const kafka = new Kafka({ brokers: [address], logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `bench-${topic}`, maxBytes: 50 * 1024 * 1024, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let received = 0;
  const started = process.hrtime.bigint();
  let finish: (seconds: number) => void;
  const done = new Promise<number>((resolve) => (finish = resolve));
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      received += batch.messages.length;
      if (received >= count) finish(Number(process.hrtime.bigint() - started) / 1e9);
    },
  });
  const seconds = await done;
  await consumer.disconnect();
  return seconds;
}

/**
 * TXN_PRODUCERS producers each write count / TXN_PRODUCERS messages of 100 B, acks=-1, one batch of
 * TXN_BATCH_MESSAGES at a time: each batch its own transaction (begin, send, commit), or a plain idempotent send.
 */
async function batchedProduce(address: string, topic: string, count: number, transactional: boolean): Promise<number> {
  const kafka = new Kafka({ brokers: [address], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: TXN_PRODUCERS }] });
  await admin.disconnect();
  const value = Buffer.alloc(100, 120);
  const perProducer = Math.floor(count / TXN_PRODUCERS);
  const producers = await Promise.all(
    Array.from({ length: TXN_PRODUCERS }, async (_, index) => {
      const producer = kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        ...(transactional ? { transactionalId: `bench-${topic}-${index}` } : {}),
      });
      await producer.connect();
      return producer;
    }),
  );
  const started = process.hrtime.bigint();
  await Promise.all(
    producers.map(async (producer, partition) => {
      for (let sent = 0; sent < perProducer; sent += TXN_BATCH_MESSAGES) {
        const messages = Array.from({ length: TXN_BATCH_MESSAGES }, () => ({ value, partition }));
        if (!transactional) {
          await producer.send({ topic, acks: -1, messages });
          continue;
        }
        const transaction = await producer.transaction();
        await transaction.send({ topic, acks: -1, messages });
        await transaction.commit();
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await Promise.all(producers.map((producer) => producer.disconnect()));
  return seconds;
}

async function transactionRows(address: string, brokerPid: number | undefined): Promise<Row[]> {
  const count = Math.floor(TXN_MESSAGES / (TXN_PRODUCERS * TXN_BATCH_MESSAGES)) * TXN_PRODUCERS * TXN_BATCH_MESSAGES;
  const rows: Row[] = [];
  for (const transactional of [false, true]) {
    const topic = transactional ? "txn-batched" : "plain-batched";
    const client = transactional ? "kafkajs txn" : "kafkajs idem";
    log(`${client}: producing ${count} × 100 B in batches of ${TXN_BATCH_MESSAGES}…`);
    const cpuBeforeMs = processCpuMs(brokerPid);
    const produceSeconds = await batchedProduce(address, topic, count, transactional);
    const cpuMicrosPerBatch = cpuMicrosPer(cpuBeforeMs, processCpuMs(brokerPid), count / TXN_BATCH_MESSAGES);
    rows.push({
      cpuMicrosPerBatch,
      client,
      operation: "produce ×100",
      size: "100 B",
      acks: "-1",
      messages: count,
      seconds: produceSeconds,
    });
    log(`${client}: consuming ${count} read_committed…`);
    const consumeSeconds = await kafkajsConsume(address, topic, count);
    rows.push({ client, operation: "consume rc", size: "100 B", acks: "-", messages: count, seconds: consumeSeconds });
  }
  return rows;
}

function printTransactionRatios(rows: Row[]): void {
  const rate = (client: string, operation: string): number => {
    const row = rows.find((r) => r.client === client && r.operation === operation)!;
    return row.messages / row.seconds;
  };
  for (const operation of ["produce ×100", "consume rc"]) {
    const ratio = rate("kafkajs txn", operation) / rate("kafkajs idem", operation);
    console.log(`Transactional ${operation}: ${(ratio * 100).toFixed(0)}% of the non-transactional rate`);
  }
  for (const row of rows.filter((r) => r.cpuMicrosPerBatch !== undefined)) {
    console.log(
      `${row.client} ${row.operation}: broker CPU ${row.cpuMicrosPerBatch} µs per batch of ${TXN_BATCH_MESSAGES}`,
    );
  }
}

async function latency(address: string): Promise<{ p50: number; p99: number; max: number; samples: number }> {
  const kafka = new Kafka({ brokers: [address], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: "latency", numPartitions: 1 }] });
  await admin.disconnect();
  const consumer = kafka.consumer({ groupId: "latency", maxWaitTimeInMs: 500 });
  await consumer.connect();
  await consumer.subscribe({ topic: "latency", fromBeginning: true });
  const samples: number[] = [];
  await consumer.run({
    eachMessage: async ({ message }) => {
      samples.push(Number(process.hrtime.bigint() - BigInt(message.value!.toString())) / 1e6);
    },
  });
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const producer = kafka.producer();
  await producer.connect();
  const intervalMs = 1000 / LATENCY_RATE_PER_S;
  const total = Math.floor(LATENCY_DURATION_MS / intervalMs);
  const started = Date.now();
  const sends: Promise<unknown>[] = [];
  for (let i = 0; i < total; i++) {
    const dueMs = started + i * intervalMs;
    const waitMs = dueMs - Date.now();
    if (waitMs > 1) await new Promise((resolve) => setTimeout(resolve, waitMs));
    sends.push(producer.send({ topic: "latency", acks: -1, messages: [{ value: String(process.hrtime.bigint()) }] }));
  }
  await Promise.all(sends);
  const deadline = Date.now() + 10_000;
  while (samples.length < total && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  await producer.disconnect();
  await consumer.disconnect();
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
  return { p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1] ?? NaN, samples: samples.length };
}

function printTable(rows: Row[]): void {
  const header = ["client", "operation", "size", "acks", "messages", "msgs/s", "MB/s"];
  const lines = rows.map((row) => {
    const sizeBytes = row.size === "100 B" ? 100 : 1024;
    const rate = row.messages / row.seconds;
    return [
      row.client,
      row.operation,
      row.size,
      row.acks,
      String(row.messages),
      Math.round(rate).toLocaleString("en-US"),
      ((rate * sizeBytes) / 1e6).toFixed(1),
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((line) => line[i]!.length)));
  const format = (cells: string[]): string => `| ${cells.map((cell, i) => cell.padEnd(widths[i]!)).join(" | ")} |`;
  console.log(format(header));
  console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
  for (const line of lines) console.log(format(line));
}

async function main(): Promise<void> {
  const haveKcat = spawnSync("sh", ["-c", "command -v kcat"]).status === 0;
  if (!haveKcat) log("kcat is not installed (apt-get install kcat): the kcat rows are left out");
  const work = mkdtempSync(join(tmpdir(), "sluice-bench-"));
  const { child, address } = await startBrokerProcess(join(work, "data"));
  log(`broker ${address}, pid ${child.pid}, data in ${work}`);
  const rows: Row[] = [];
  try {
    if (TRANSACTIONS_ONLY) {
      const txnRows = await transactionRows(address, child.pid);
      console.log(`\nnpm run bench:broker -- ${args.join(" ")}\n`);
      printTable(txnRows);
      console.log("");
      printTransactionRatios(txnRows);
      return;
    }
    // Latency first, on a quiet broker, so that writeback of the throughput runs' data does not colour it.
    log(`latency: ${LATENCY_RATE_PER_S} msgs/s for ${LATENCY_DURATION_MS / 1000} s, acks=-1…`);
    const lat = await latency(address);
    for (const sizeBytes of [100, 1024]) {
      const size = sizeBytes === 100 ? "100 B" : "1 KiB";
      const kcatCount = sizeBytes === 100 ? KCAT_MESSAGES : Math.floor(KCAT_MESSAGES / 4);
      const file = haveKcat ? payloadFile(work, sizeBytes, kcatCount) : "";
      for (const acks of [1, -1]) {
        if (haveKcat) {
          const topic = `kcat-${sizeBytes}-${acks === 1 ? "one" : "all"}`;
          log(`kcat: producing ${kcatCount} × ${size}, acks=${acks}…`);
          const produceSeconds = timed("kcat", [
            "-P",
            "-b",
            address,
            "-t",
            topic,
            "-l",
            file,
            "-X",
            `acks=${acks}`,
            "-X",
            "linger.ms=5",
            "-X",
            "batch.num.messages=10000",
            "-X",
            "batch.size=1000000",
            "-X",
            "queue.buffering.max.messages=1000000",
          ]);
          rows.push({
            client: "kcat",
            operation: "produce",
            size,
            acks: String(acks),
            messages: kcatCount,
            seconds: produceSeconds,
          });
          log(`kcat: consuming ${kcatCount}…`);
          const consumeSeconds = timed("kcat", [
            "-C",
            "-b",
            address,
            "-t",
            topic,
            "-o",
            "beginning",
            "-e",
            "-q",
            "-f",
            "%o\\n",
          ]);
          rows.push({
            client: "kcat",
            operation: "consume",
            size,
            acks: "-",
            messages: kcatCount,
            seconds: consumeSeconds,
          });
        }
        const topic = `kafkajs-${sizeBytes}-${acks === 1 ? "one" : "all"}`;
        const count = sizeBytes === 100 ? KAFKAJS_MESSAGES : Math.floor(KAFKAJS_MESSAGES / 2);
        log(`kafkajs: producing ${count} × ${size}, acks=${acks}…`);
        rows.push({
          client: "kafkajs",
          operation: "produce",
          size,
          acks: String(acks),
          messages: count,
          seconds: await kafkajsProduce(address, topic, sizeBytes, acks, count),
        });
        log(`kafkajs: consuming ${count}…`);
        rows.push({
          client: "kafkajs",
          operation: "consume",
          size,
          acks: "-",
          messages: count,
          seconds: await kafkajsConsume(address, topic, count),
        });
      }
    }
    const txnRows = await transactionRows(address, child.pid);
    rows.push(...txnRows);
    const memory = memoryOf(child.pid!);
    console.log(
      `\nnpm run bench:broker${args.length ? ` -- ${args.join(" ")}` : ""}  (node ${process.version}, ${spawnSync("nproc").stdout.toString().trim()} cores)\n`,
    );
    printTable(rows);
    console.log(
      `\nEnd-to-end latency (kafkajs → broker → kafkajs, acks=-1, fsync per batch, ${LATENCY_RATE_PER_S} msgs/s offered): p50 ${lat.p50.toFixed(1)} ms, p99 ${lat.p99.toFixed(1)} ms, max ${lat.max.toFixed(1)} ms over ${lat.samples} messages`,
    );
    printTransactionRatios(txnRows);
    console.log(`Broker memory: RSS ${memory.rssMiB.toFixed(0)} MiB now, peak ${memory.peakMiB.toFixed(0)} MiB`);
  } finally {
    child.kill("SIGTERM");
    await new Promise((resolve) => child.once("exit", resolve));
    rmSync(work, { recursive: true, force: true });
  }
}

// `--compaction` measures the log cleaner instead (bench/compaction.ts).
if (args.includes("--compaction")) await import("./compaction.js");
else await main();
