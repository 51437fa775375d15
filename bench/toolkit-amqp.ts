// The RabbitMQ side of bench:toolkit --transport amqp: RabbitMQ's own publish and consume rate through amqplib on
// this machine (the floor the toolkit's guarantees are measured against), and deleting what a run declared on the
// shared server.

import { performance } from "node:perf_hooks";

import amqp from "amqplib";

import { DEFAULT_AMQP_PREFETCH } from "../src/toolkit/amqp/options.js";
import type { AmqpClient } from "../src/toolkit/index.js";
import { startCpuMeter } from "./toolkit-cpu.js";
import { rateOf, type RateRow } from "./toolkit-repeat.js";

export const AMQP_RAW_WINDOW = 500;
/** The toolkit's default prefetch, so that the raw consume and the toolkit's get the same window. */
export const AMQP_RAW_PREFETCH = DEFAULT_AMQP_PREFETCH;

export interface RawAmqpRow {
  kind: "publish" | "consume";
  measure: string;
  events: number;
  seconds: number;
  result: string;
  cpu: string;
}

/**
 * RabbitMQ's own rate through amqplib with its default settings: persistent publishes to a durable quorum queue
 * with confirms (waited for per window of AMQP_RAW_WINDOW), then consuming them with an ack per message.
 */
export async function rawAmqp(
  url: string,
  queue: string,
  count: number,
  log: (line: string) => void,
): Promise<RawAmqpRow[]> {
  const connection = await amqp.connect(url);
  try {
    const channel = await connection.createConfirmChannel();
    await channel.assertQueue(queue, { durable: true, arguments: { "x-queue-type": "quorum" } });
    const body = Buffer.from(JSON.stringify({ entryId: "raw-000000", accountId: "account-00", amountCents: 12345 }));
    log(`amqplib: publishing ${count} persistent messages with confirms…`);
    const publishMeter = startCpuMeter(null);
    const publishStarted = performance.now();
    for (let first = 0; first < count; first += AMQP_RAW_WINDOW) {
      for (let index = first; index < Math.min(count, first + AMQP_RAW_WINDOW); index++) {
        channel.publish("", queue, body, { persistent: true });
      }
      await channel.waitForConfirms();
    }
    const publishSeconds = (performance.now() - publishStarted) / 1000;
    const publishCpu = await publishMeter.perEvent(count);
    log(`amqplib: consuming ${count} messages with acks…`);
    const consumer = await connection.createChannel();
    await consumer.prefetch(AMQP_RAW_PREFETCH);
    let received = 0;
    const consumeMeter = startCpuMeter(null);
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
    const consumeCpu = await consumeMeter.perEvent(count);
    await channel.deleteQueue(queue);
    const rate = (seconds: number): string => `${Math.round(count / seconds).toLocaleString("en-US")} events/s`;
    return [
      {
        kind: "publish",
        measure: `raw publish, persistent, confirms per ${AMQP_RAW_WINDOW} (quorum queue)`,
        events: count,
        seconds: publishSeconds,
        result: rate(publishSeconds),
        cpu: publishCpu,
      },
      {
        kind: "consume",
        measure: `raw consume, ack per message, prefetch ${AMQP_RAW_PREFETCH}`,
        events: count,
        seconds: consumeSeconds,
        result: rate(consumeSeconds),
        cpu: consumeCpu,
      },
    ];
  } finally {
    await connection.close().catch(() => undefined);
  }
}

/**
 * How many times slower a relay or consumer measure's runs were than RabbitMQ's own publish or consume through
 * amqplib in the raw run that opened its round: the aim is at most 2× for what the toolkit's guarantees
 * cost. Each run is compared with its own raw run, since the machine's speed drifts by a third over a minute, more
 * than either rate's own spread; with repeats the text gives the median ratio and the range. Empty for other measures.
 */
export function pairedRawRatio(measureRuns: readonly RateRow[], rawRuns: ReadonlyArray<readonly RawAmqpRow[]>): string {
  const measure = measureRuns[0]?.measure ?? "";
  const kind = measure.startsWith("outbox relay") ? "publish" : measure.startsWith("inbox consumer") ? "consume" : null;
  if (kind === null) return "";
  const ratios: number[] = [];
  for (const [index, run] of measureRuns.entries()) {
    const raw = rawRuns[index]?.find((row) => row.kind === kind);
    if (raw !== undefined && rateOf(run) > 0) ratios.push(rateOf(raw) / rateOf(run));
  }
  if (ratios.length === 0) return "";
  ratios.sort((a, b) => a - b);
  const median = ratios[Math.floor((ratios.length - 1) / 2)]!;
  if (ratios.length === 1) return ` (raw ${kind} ÷ ${median.toFixed(1)})`;
  return (
    ` (raw ${kind} ÷ ${median.toFixed(1)}, median of ${ratios.length} pairs, ` +
    `${ratios[0]!.toFixed(1)} – ${ratios[ratios.length - 1]!.toFixed(1)})`
  );
}

/** Deletes what the run declared on the shared RabbitMQ server. */
export async function deleteAmqpNames(url: string, client: AmqpClient): Promise<void> {
  const connection = await amqp.connect(url);
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
