// The producer's queues: what each partition waits to send, taken as batches within the batch limits and the
// partition's limit of batches out at once. A lone record is taken at once, and so is the next batch while one is
// out. With two or more out, the next one is paced, unless a full batch waits: it goes once the smoothed answer time
// has passed since the last one, and not before the oldest batch out had been out as long as that when the last one
// was taken, so the spacing doubles while an answer is overdue. Without pacing, a slow fsync let the first sends take
// the partition's five slots within a few milliseconds, and every record sent after them waited for the rest of that
// fsync and the next (the end-to-end tail of `npm run bench:e2e`); paced, the slots last through a slow fsync and a
// record waits a fraction of it (docs/kafka-client.md).

import { channel } from "node:diagnostics_channel";
import { performance } from "node:perf_hooks";

import type { RecordInput } from "../../protocol/record-batch.js";
import { partitionKey } from "../cluster/routing.js";

/** The longest pacing holds a partition's next batch back after the last, however slow the answers are. */
export const PRODUCER_PACING_MS_MAX = 100;
/**
 * Batches a partition may have out before pacing starts. Two, so that a record sent while one batch waits for its
 * fsync still goes at once, and so that the sends of several callers resumed by one answer, which may reach the queue
 * on either side of the moment batches are taken, do not wait: holding them would cut throughput, since such callers
 * send again only when answered.
 */
const PACING_FREE_BATCHES = 2;
/** The weight of the newest answer time in the smoothed one. */
const ANSWER_SMOOTHING = 0.25;

/**
 * A diagnostics channel (node:diagnostics_channel): a batch was taken to be sent, with how long each send in it had
 * waited. Nothing is built or published while no one subscribes; the e2e bench does, to time that stage.
 */
export const PRODUCER_BATCH_TAKEN_CHANNEL = "sluice:kafka-client:producer-batch-taken";

export interface BatchTakenMessage {
  readonly topic: string;
  readonly partition: number;
  /** Per send whose records are in the batch, in order: milliseconds from the send to the batch being taken. */
  readonly queuedMs: readonly number[];
}

const batchTaken = channel(PRODUCER_BATCH_TAKEN_CHANNEL);

/** The records of one send for one partition, waiting. */
export interface Pending {
  readonly records: RecordInput[];
  readonly bytes: number;
  /** When the send queued them (performance.now()). */
  readonly queuedAtMs: number;
  resolve(baseOffset: number): void;
  reject(error: unknown): void;
}

export interface Batch {
  readonly queue: PartitionQueue;
  readonly taken: readonly Pending[];
  readonly records: RecordInput[];
  /** When the batch was taken to be sent (performance.now()). */
  readonly takenAtMs: number;
  baseSequence: number;
  encoded: Buffer | null;
  /** Resolves once the batch is answered for good (written or failed). */
  readonly settled: Promise<void>;
  readonly settle: () => void;
}

export interface PartitionQueue {
  readonly topic: string;
  readonly partition: number;
  readonly pending: Pending[];
  pendingRecords: number;
  pendingBytes: number;
  /** Batches sent and not yet answered for good, oldest first. */
  readonly outstanding: Batch[];
  /**
   * Outstanding batches being sent again. No new batch goes out meanwhile (as in Kafka's producer), so that a resent
   * batch is still among the last batches the broker remembers when it arrives, and is recognised as a copy.
   */
  readonly resending: Set<Batch>;
  /** When the last batch was taken (performance.now()). */
  lastTakenAtMs: number;
}

export interface AccumulatorLimits {
  readonly batchRecordsMax: number;
  readonly batchBytesMax: number;
  readonly batchesInFlightMax: number;
  /** False takes a batch whenever a slot is free, as before pacing; bench/producer-pacing.ts compares the two. */
  readonly paced?: boolean;
}

/** Time and timers, replaceable in tests. The timer must not keep the process alive. */
export interface AccumulatorClock {
  now(): number;
  setTimer(callback: () => void, delayMs: number): void;
}

const SYSTEM_CLOCK: AccumulatorClock = {
  now: () => performance.now(),
  setTimer: (callback, delayMs) => {
    // An outstanding batch's answer also reschedules, so the timer need not keep the process alive.
    setTimeout(callback, delayMs).unref();
  },
};

export class RecordAccumulator {
  private readonly queues = new Map<string, PartitionQueue>();
  private scheduled = false;
  private timerDueAtMs = Number.POSITIVE_INFINITY;
  /** The smoothed time from sending a produce request to its answer; 0 until one is answered. */
  private answerMs = 0;

  constructor(
    private readonly limits: AccumulatorLimits,
    /** Receives the batches taken at one moment, to be sent together and answered through succeed or fail. */
    private readonly send: (batches: Batch[]) => void,
    private readonly clock: AccumulatorClock = SYSTEM_CLOCK,
  ) {}

  /** The least time between a partition's batches once two are out: the smoothed answer time. */
  get pacingMs(): number {
    return Math.min(PRODUCER_PACING_MS_MAX, this.answerMs);
  }

  /** Queues one send's records for a partition; they go out after those queued before. */
  add(topic: string, partition: number, entry: Omit<Pending, "queuedAtMs">): void {
    const queue = this.queueFor(topic, partition);
    queue.pending.push({ ...entry, queuedAtMs: this.clock.now() });
    queue.pendingRecords += entry.records.length;
    queue.pendingBytes += entry.bytes;
    this.schedule();
  }

  /** A produce request was answered after `elapsedMs`. */
  answered(elapsedMs: number): void {
    this.answerMs = this.answerMs === 0 ? elapsedMs : this.answerMs + (elapsedMs - this.answerMs) * ANSWER_SMOOTHING;
  }

  /** The batch is answered for good: its slot is free for the partition's next batch. */
  release(batch: Batch): void {
    const { queue } = batch;
    queue.outstanding.splice(queue.outstanding.indexOf(batch), 1);
    queue.resending.delete(batch);
    batch.settle();
    if (queue.pending.length === 0 && queue.outstanding.length === 0) {
      this.queues.delete(partitionKey(queue.topic, queue.partition));
    } else if (queue.pending.length > 0) {
      this.schedule();
    }
  }

  private queueFor(topic: string, partition: number): PartitionQueue {
    const key = partitionKey(topic, partition);
    let queue = this.queues.get(key);
    if (queue === undefined) {
      queue = {
        topic,
        partition,
        pending: [],
        pendingRecords: 0,
        pendingBytes: 0,
        outstanding: [],
        resending: new Set(),
        lastTakenAtMs: Number.NEGATIVE_INFINITY,
      };
      this.queues.set(key, queue);
    }
    return queue;
  }

  /**
   * Takes batches once the sends of this tick are queued, so that they share requests: each round takes at most one
   * batch per partition (a Produce request carries one batch per partition) and hands them over as one. The
   * producer's flushes resume from their first await in the order they started, so a partition's batches are
   * numbered and sent in the order they were taken.
   */
  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      for (;;) {
        const nowMs = this.clock.now();
        let heldUntilMs = Number.POSITIVE_INFINITY;
        const batches: Batch[] = [];
        for (const queue of this.queues.values()) {
          const readyAtMs = this.readyAtMs(queue);
          if (readyAtMs <= nowMs) batches.push(this.take(queue, nowMs));
          else heldUntilMs = Math.min(heldUntilMs, readyAtMs);
        }
        if (heldUntilMs < this.timerDueAtMs) this.wakeAt(heldUntilMs, nowMs);
        if (batches.length === 0) return;
        this.send(batches);
      }
    });
  }

  /** When the queue may give its next batch: infinity while it has none to give or no free slot. */
  private readyAtMs(queue: PartitionQueue): number {
    const { outstanding, pending } = queue;
    if (pending.length === 0 || outstanding.length >= this.limits.batchesInFlightMax || queue.resending.size > 0) {
      return Number.POSITIVE_INFINITY;
    }
    const full = queue.pendingRecords >= this.limits.batchRecordsMax || queue.pendingBytes >= this.limits.batchBytesMax;
    if (outstanding.length < PACING_FREE_BATCHES || full || this.limits.paced === false) {
      return Number.NEGATIVE_INFINITY;
    }
    const overdueMs = queue.lastTakenAtMs - outstanding[0]!.takenAtMs;
    return queue.lastTakenAtMs + Math.min(PRODUCER_PACING_MS_MAX, Math.max(this.pacingMs, overdueMs));
  }

  private wakeAt(dueAtMs: number, nowMs: number): void {
    this.timerDueAtMs = dueAtMs;
    this.clock.setTimer(
      () => {
        if (this.timerDueAtMs === dueAtMs) this.timerDueAtMs = Number.POSITIVE_INFINITY;
        this.schedule();
      },
      Math.max(0, dueAtMs - nowMs),
    );
  }

  /** Takes what waits for the partition, up to the batch limits, as a batch outstanding until it is answered. */
  private take(queue: PartitionQueue, nowMs: number): Batch {
    const taken: Pending[] = [queue.pending.shift()!];
    let records = taken[0]!.records.length;
    let bytes = taken[0]!.bytes;
    while (queue.pending.length > 0) {
      const next = queue.pending[0]!;
      if (records + next.records.length > this.limits.batchRecordsMax || bytes + next.bytes > this.limits.batchBytesMax)
        break;
      taken.push(queue.pending.shift()!);
      records += next.records.length;
      bytes += next.bytes;
    }
    queue.pendingRecords -= records;
    queue.pendingBytes -= bytes;
    queue.lastTakenAtMs = nowMs;
    let settle: () => void = () => undefined;
    const settled = new Promise<void>((resolve) => (settle = resolve));
    const batch: Batch = {
      queue,
      taken,
      records: taken.length === 1 ? taken[0]!.records : taken.flatMap((entry) => entry.records),
      takenAtMs: nowMs,
      baseSequence: -1,
      encoded: null,
      settled,
      settle,
    };
    queue.outstanding.push(batch);
    if (batchTaken.hasSubscribers) {
      batchTaken.publish({
        topic: queue.topic,
        partition: queue.partition,
        queuedMs: taken.map((entry) => nowMs - entry.queuedAtMs),
      } satisfies BatchTakenMessage);
    }
    return batch;
  }
}
