// Idempotent-producer bookkeeping for one partition: the last few batches of each producer id, so that a retried
// batch is recognised and answered with its original offset instead of being appended twice.

import { ErrorCode } from "../kafka/protocol/error-codes.js";

/** Kafka keeps the last five batches per producer; clients keep at most five in flight per connection. */
export const PRODUCER_BATCHES_CACHED = 5;
/** Producer ids tracked per partition before the least recently used is forgotten. */
export const PRODUCERS_PER_PARTITION_MAX = 10_000;

interface CachedBatch {
  firstSequence: number;
  lastSequence: number;
  baseOffset: number;
}

interface ProducerEntry {
  epoch: number;
  batches: CachedBatch[];
}

export type SequenceCheck =
  | { kind: "append" }
  | { kind: "duplicate"; baseOffset: number }
  | { kind: "error"; errorCode: number; message: string };

const INT32_MAX = 2147483647;

function nextSequence(sequence: number): number {
  return sequence === INT32_MAX ? 0 : sequence + 1;
}

function lastSequenceOf(baseSequence: number, lastOffsetDelta: number): number {
  const last = baseSequence + lastOffsetDelta;
  return last > INT32_MAX ? last - INT32_MAX - 1 : last;
}

export class PartitionProducerState {
  private readonly producers = new Map<number, ProducerEntry>();

  /** Decides what to do with a batch from `producerId` before anything is written. */
  check(producerId: number, epoch: number, baseSequence: number, lastOffsetDelta: number): SequenceCheck {
    if (producerId < 0) return { kind: "append" };
    const entry = this.producers.get(producerId);
    // The first batch we see from a producer id is accepted whatever its sequence: its earlier batches may have
    // been removed by retention, and Kafka does the same.
    if (entry === undefined) return { kind: "append" };
    if (epoch < entry.epoch) {
      return {
        kind: "error",
        errorCode: ErrorCode.INVALID_PRODUCER_EPOCH,
        message: `producer ${producerId} epoch ${epoch} is older than the current epoch ${entry.epoch}`,
      };
    }
    if (epoch > entry.epoch) {
      return baseSequence === 0
        ? { kind: "append" }
        : {
            kind: "error",
            errorCode: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
            message: `producer ${producerId} started epoch ${epoch} at sequence ${baseSequence}, expected 0`,
          };
    }
    const lastSequence = lastSequenceOf(baseSequence, lastOffsetDelta);
    for (const batch of entry.batches) {
      if (batch.firstSequence === baseSequence && batch.lastSequence === lastSequence) {
        return { kind: "duplicate", baseOffset: batch.baseOffset };
      }
    }
    const newest = entry.batches[entry.batches.length - 1];
    if (newest === undefined || baseSequence === nextSequence(newest.lastSequence)) return { kind: "append" };
    return {
      kind: "error",
      errorCode: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
      message: `producer ${producerId} sent sequence ${baseSequence}, expected ${nextSequence(newest.lastSequence)}`,
    };
  }

  /** Records a batch that was appended (or recovered from the log) at `baseOffset`. */
  record(producerId: number, epoch: number, baseSequence: number, lastOffsetDelta: number, baseOffset: number): void {
    // Transaction markers carry the producer id but no sequence; the producer's numbering runs on across them.
    if (producerId < 0 || baseSequence < 0) return;
    let entry = this.producers.get(producerId);
    if (entry === undefined || epoch !== entry.epoch) {
      entry = { epoch, batches: [] };
    }
    // Re-inserting keeps the map in least-recently-used order for the eviction below.
    this.producers.delete(producerId);
    this.producers.set(producerId, entry);
    entry.batches.push({
      firstSequence: baseSequence,
      lastSequence: lastSequenceOf(baseSequence, lastOffsetDelta),
      baseOffset,
    });
    if (entry.batches.length > PRODUCER_BATCHES_CACHED) entry.batches.shift();
    if (this.producers.size > PRODUCERS_PER_PARTITION_MAX) {
      const oldest = this.producers.keys().next().value as number;
      this.producers.delete(oldest);
    }
  }

  /** Every tracked producer with its epoch and the last sequence it wrote, least recently written first. */
  *entries(): Generator<{ producerId: number; epoch: number; lastSequence: number }> {
    for (const [producerId, entry] of this.producers) {
      yield { producerId, epoch: entry.epoch, lastSequence: entry.batches.at(-1)?.lastSequence ?? -1 };
    }
  }

  get size(): number {
    return this.producers.size;
  }
}
