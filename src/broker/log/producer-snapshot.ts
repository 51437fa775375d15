// The idempotent producers' recent batches as of a segment roll, written beside the new active segment. Recovery
// reads only the active segment, so without this a producer whose last batches sit in sealed segments would be
// unknown after a restart, and a retry of one of those batches would be appended a second time. Kafka keeps
// producer-state snapshots for the same reason.
//
// Format: one JSON document with a version and the batches, followed by nothing; a file that does not parse, or has
// another version, is ignored (recovery then knows only the active segment's producers, and says so).

import type { RecordBatchHeader } from "../../kafka/protocol/record-batch.js";
import { RECOVERED_BATCHES_PER_PRODUCER, RECOVERED_PRODUCERS_MAX } from "./log-config.js";
import { parseSegmentFileName, segmentFileName } from "./segment.js";

const SNAPSHOT_VERSION = 1;

/** The fields of a recovered batch the broker needs to rebuild idempotent-producer state. */
export type RecoveredBatch = Pick<
  RecordBatchHeader,
  "baseOffset" | "lastOffsetDelta" | "producerId" | "producerEpoch" | "baseSequence" | "recordCount" | "maxTimestamp"
>;

export function producerSnapshotFileName(baseOffset: number): string {
  return segmentFileName(baseOffset, ".producers");
}

/** The base offset a snapshot file belongs to, or null for any other file. */
export function parseProducerSnapshotFileName(name: string): number | null {
  return parseSegmentFileName(name, ".producers");
}

/**
 * Each producer's last batches (at most RECOVERED_BATCHES_PER_PRODUCER), producers in least-recently-written order
 * so that eviction at RECOVERED_PRODUCERS_MAX drops the one that wrote longest ago.
 */
export class ProducerBatches {
  private readonly byProducer = new Map<number, RecoveredBatch[]>();

  /** Remembers a batch of an idempotent producer (others are ignored), at baseOffset when it was just assigned. */
  remember(header: RecoveredBatch, baseOffset = header.baseOffset): void {
    // Transaction markers (no sequence) say nothing about which batches a retry could repeat.
    if (header.producerId < 0 || header.baseSequence < 0) return;
    const { lastOffsetDelta, producerId, producerEpoch, baseSequence, recordCount, maxTimestamp } = header;
    const batch = { baseOffset, lastOffsetDelta, producerId, producerEpoch, baseSequence, recordCount, maxTimestamp };
    const batches = this.byProducer.get(producerId) ?? [];
    this.byProducer.delete(producerId);
    batches.push(batch);
    if (batches.length > RECOVERED_BATCHES_PER_PRODUCER) batches.shift();
    this.byProducer.set(producerId, batches);
    if (this.byProducer.size > RECOVERED_PRODUCERS_MAX) this.byProducer.delete(this.byProducer.keys().next().value!);
  }

  /** Forgets producers whose last batch lies wholly before offset (deleted by retention or DeleteRecords). */
  dropBefore(offset: number): void {
    for (const [producerId, batches] of this.byProducer) {
      const last = batches[batches.length - 1]!;
      if (last.baseOffset + last.lastOffsetDelta < offset) this.byProducer.delete(producerId);
    }
  }

  /** Every remembered batch, oldest first. */
  batches(): RecoveredBatch[] {
    return [...this.byProducer.values()].flat().sort((a, b) => a.baseOffset - b.baseOffset);
  }

  encode(): Buffer {
    return Buffer.from(JSON.stringify({ version: SNAPSHOT_VERSION, batches: this.batches() }), "utf8");
  }

  /** Adds the batches of an encoded snapshot; returns false (adding nothing) when it cannot be read. */
  load(data: Buffer): boolean {
    let parsed: unknown;
    try {
      parsed = JSON.parse(data.toString("utf8"));
    } catch {
      return false;
    }
    if (typeof parsed !== "object" || parsed === null) return false;
    const { version, batches } = parsed as { version?: unknown; batches?: unknown };
    if (version !== SNAPSHOT_VERSION || !Array.isArray(batches) || !batches.every(isRecoveredBatch)) return false;
    for (const batch of batches) this.remember(batch);
    return true;
  }
}

const BATCH_FIELDS = [
  "baseOffset",
  "lastOffsetDelta",
  "producerId",
  "producerEpoch",
  "baseSequence",
  "recordCount",
  "maxTimestamp",
] as const;

function isRecoveredBatch(value: unknown): value is RecoveredBatch {
  if (typeof value !== "object" || value === null) return false;
  const record = value as Record<string, unknown>;
  return BATCH_FIELDS.every((field) => Number.isSafeInteger(record[field]));
}
