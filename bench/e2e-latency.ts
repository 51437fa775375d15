// The end-to-end bench's latency run: messages offered at a steady rate, one send() each, and where their time goes
// (the producer's queue, the broker's acknowledgement, the event loops, garbage collection, the broker's own probe).

import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { readFileSync, rmSync } from "node:fs";
import {
  createHistogram,
  monitorEventLoopDelay,
  PerformanceObserver,
  type IntervalHistogram,
  type RecordableHistogram,
} from "node:perf_hooks";

import { PRODUCER_BATCH_TAKEN_CHANNEL, type BatchTakenMessage } from "../src/kafka/client/index.js";
import type { KafkaClientLibrary } from "../src/toolkit/kafka/connection.js";
import type { BrokerProbeReport } from "./broker-probe.js";
import { cpuMicrosPer, log, nowMs, processCpuMs } from "./common.js";
import { clientFor, follow, type ConsumerKind } from "./e2e-clients.js";

const LATENCY_DRAIN_MS = 10_000;
const PROBE_INTERVAL_MS = 20;

/** How the latency run offers messages: the consumer kind, the rate (messages per second) and for how long. */
export interface LatencySettings {
  consumer: ConsumerKind;
  ratePerS: number;
  seconds: number;
}

export interface LatencyResult {
  /** Send call to the consumer's handler. */
  histogram: RecordableHistogram;
  /** Send call to the broker's acknowledgement (acks=-1, so after the fsync). */
  acked: RecordableHistogram;
  failedSends: number;
  eventLoopDelayP99Ms: number;
  /** Where the time goes, as far as this process can see it. */
  stages: LatencyStages;
}

interface LatencyStages {
  /** Sluice's producer only: from a send to its batch being taken to go out (a free slot, pacing). */
  queued: RecordableHistogram;
  /** With --broker-probe: what the broker's process saw during the run. */
  broker: BrokerProbeReport | null;
  /** Messages the consumer's handler saw before their producer had the acknowledgement. */
  handledBeforeAck: number;
  /** The acknowledgement minus the handler time, for messages handled before their ack: the fsync the consumer did not wait for. */
  ackAfterHandler: RecordableHistogram;
  /** This process's event loop: how late timers fired. */
  loopDelay: IntervalHistogram;
  /**
   * The broker's answer to a request that touches no disk (Metadata), every PROBE_INTERVAL_MS on a connection of
   * its own: how long the broker's event loop (and the machine's scheduler) holds any request up.
   */
  brokerProbe: RecordableHistogram;
  /** This process's garbage collections during the run: count, total and longest pause. */
  gcCount: number;
  gcTotalMs: number;
  gcMaxMs: number;
  /** CPU µs per message of this process and the broker's during the run. */
  cpu: CpuPerMessage;
}

export interface CpuPerMessage {
  client: string;
  broker: string;
}

/**
 * Offers settings.ratePerS messages a second of 100 B, one send() each, and records send-to-handler times in
 * microseconds.
 */
export async function latencyRun(
  library: KafkaClientLibrary,
  address: string,
  topic: string,
  brokerPid: number | undefined,
  probeFile: string | undefined,
  settings: LatencySettings,
): Promise<LatencyResult> {
  const client = clientFor(library, address);
  const histogram = createHistogram();
  const total = settings.ratePerS * settings.seconds;
  /** Per message (by the sequence number in its value): when the handler saw it, and when its send was acknowledged. */
  const handledAtMs = new Float64Array(total);
  const ackedAtMs = new Float64Array(total);
  let received = 0;
  const stop = await follow(settings.consumer, library, client, topic, 500, (records) => {
    const atMs = nowMs();
    for (const record of records) {
      histogram.record(Math.max(1, Math.round((atMs - record.value!.readDoubleBE(0)) * 1000)));
      const sequence = record.value!.readUInt32BE(8);
      if (sequence < total) handledAtMs[sequence] = atMs;
    }
    received += records.length;
  });
  const producer = client.producer();
  await producer.connect();
  // A few sends first so that connections and metadata are warm before measuring.
  await producer.send([{ topic: `${topic}-warmup`, key: null, value: Buffer.alloc(100), headers: {} }]).catch(() => []);
  const intervalMs = 1000 / settings.ratePerS;
  const loopDelay = monitorEventLoopDelay({ resolution: 1 });
  loopDelay.enable();
  const gc = { count: 0, totalMs: 0, maxMs: 0 };
  const gcObserver = new PerformanceObserver((entries) => {
    for (const entry of entries.getEntries()) {
      gc.count++;
      gc.totalMs += entry.duration;
      gc.maxMs = Math.max(gc.maxMs, entry.duration);
    }
  });
  gcObserver.observe({ entryTypes: ["gc"] });
  const queued = createHistogram();
  const onBatchTaken = (message: unknown): void => {
    const taken = message as BatchTakenMessage;
    if (taken.topic !== topic) return;
    for (const waitedMs of taken.queuedMs) queued.record(Math.max(1, Math.round(waitedMs * 1000)));
  };
  subscribe(PRODUCER_BATCH_TAKEN_CHANNEL, onBatchTaken);
  // The probe's report covers what happened between these two signals.
  if (probeFile !== undefined && brokerPid !== undefined) process.kill(brokerPid, "SIGUSR2");
  const cpuBefore = { client: processCpuMs(process.pid), broker: processCpuMs(brokerPid) };
  const noDiskProbe = createHistogram();
  const probeClient = clientFor("sluice", address).native();
  let probing = true;
  const probes = (async () => {
    while (probing) {
      const startedMs = nowMs();
      await probeClient.admin.describeTopics([topic]);
      noDiskProbe.record(Math.max(1, Math.round((nowMs() - startedMs) * 1000)));
      await new Promise((resolve) => setTimeout(resolve, PROBE_INTERVAL_MS));
    }
  })();
  // Counted rather than kept in a list, so that the bench does not hold every send's promise on the client's heap.
  let sendsOpen = 0;
  let allAnswered: () => void = () => undefined;
  const answered = new Promise<void>((resolve) => (allAnswered = resolve));
  const acked = createHistogram();
  let failedSends = 0;
  const started = nowMs();
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor((nowMs() - started) / intervalMs) + 1);
    for (; sent < due; sent++) {
      const value = Buffer.alloc(100);
      value.writeDoubleBE(nowMs(), 0);
      value.writeUInt32BE(sent, 8);
      const sentAtMs = nowMs();
      const sequence = sent;
      sendsOpen++;
      producer
        .send([{ topic, key: null, value, headers: {} }])
        .then(
          () => {
            ackedAtMs[sequence] = nowMs();
            acked.record(Math.max(1, Math.round((ackedAtMs[sequence]! - sentAtMs) * 1000)));
          },
          // kafkajs queues every send behind a lock and gives up on some when it falls behind.
          () => failedSends++,
        )
        .finally(() => {
          sendsOpen--;
          if (sendsOpen === 0 && sent === total) allAnswered();
        });
    }
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  if (sendsOpen > 0) await answered;
  const deadline = nowMs() + LATENCY_DRAIN_MS;
  while (received < total - failedSends && nowMs() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  loopDelay.disable();
  unsubscribe(PRODUCER_BATCH_TAKEN_CHANNEL, onBatchTaken);
  const broker = probeFile === undefined ? null : await probeReport(brokerPid, probeFile);
  gcObserver.disconnect();
  probing = false;
  await probes;
  await probeClient.close();
  const cpu = {
    client: cpuMicrosPer(cpuBefore.client, processCpuMs(process.pid), total),
    broker: cpuMicrosPer(cpuBefore.broker, processCpuMs(brokerPid), total),
  };
  const ackAfterHandler = createHistogram();
  let handledBeforeAck = 0;
  for (let sequence = 0; sequence < total; sequence++) {
    const handled = handledAtMs[sequence]!;
    const ackedAt = ackedAtMs[sequence]!;
    if (handled === 0 || ackedAt === 0 || handled >= ackedAt) continue;
    handledBeforeAck++;
    ackAfterHandler.record(Math.max(1, Math.round((ackedAt - handled) * 1000)));
  }
  if (received < total)
    log(`${library}: ${received} of ${total} latency messages arrived, ${failedSends} sends failed`);
  await producer.disconnect();
  await stop();
  return {
    histogram,
    acked,
    failedSends,
    eventLoopDelayP99Ms: loopDelay.percentile(99) / 1e6,
    stages: {
      queued,
      broker,
      handledBeforeAck,
      ackAfterHandler,
      loopDelay,
      brokerProbe: noDiskProbe,
      gcCount: gc.count,
      gcTotalMs: gc.totalMs,
      gcMaxMs: gc.maxMs,
      cpu,
    },
  };
}

/** Asks the broker's probe for its report of the time since the last ask, and reads it. */
async function probeReport(brokerPid: number | undefined, probeFile: string): Promise<BrokerProbeReport | null> {
  if (brokerPid === undefined) return null;
  rmSync(probeFile, { force: true });
  process.kill(brokerPid, "SIGUSR2");
  const deadline = nowMs() + 5_000;
  while (nowMs() < deadline) {
    try {
      return JSON.parse(readFileSync(probeFile, "utf8")) as BrokerProbeReport;
    } catch {
      // Not written (or not completely written) yet.
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
  log("the broker's probe did not report");
  return null;
}
