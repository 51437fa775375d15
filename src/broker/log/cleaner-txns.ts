// What the log cleaner knows of transactions while it walks a log in offset order, as Kafka's
// CleanedTransactionMetadata does: which transactional batches belong to an aborted transaction (they are removed),
// which belong to a committed one (compacted by key like any other records), and whether a transaction marker may be
// removed: an abort marker once no batch of its transaction is left, a commit marker once every record of its
// transaction has been compacted away. A removable marker is then kept for delete.retention.ms, as a tombstone is.
// The cleaner only walks segments below the last stable offset, so every transactional batch it meets is decided.

import { isControlBatch, isTransactional, type RecordBatchHeader } from "../../kafka/protocol/record-batch.js";

export interface AbortedRange {
  producerId: number;
  firstOffset: number;
  /** The offset of the abort marker. */
  lastOffset: number;
}

/** A marker's key: int16 version, int16 type (0 abort, 1 commit), as Kafka's ControlRecordType lays it out. */
const CONTROL_KEY_BYTES = 4;
const CONTROL_TYPE_ABORT = 0;
const CONTROL_TYPE_COMMIT = 1;

/** What a marker's key says: "abort", "commit", or null for an unknown control type (kept as it is). */
export function markerType(key: Buffer | null): "abort" | "commit" | null {
  if (key === null || key.length < CONTROL_KEY_BYTES) return null;
  const type = key.readInt16BE(2);
  return type === CONTROL_TYPE_ABORT ? "abort" : type === CONTROL_TYPE_COMMIT ? "commit" : null;
}

export class CleanerTxnWalk {
  private readonly aborted = new Map<number, AbortedRange[]>();
  /** Aborted ranges one of whose batches this walk has met (and removed): their markers must stay this time. */
  private readonly abortedSeen = new Set<AbortedRange>();
  /** Producers with a batch of a committed transaction met since their last marker. */
  private readonly committedSeen = new Set<number>();

  constructor(abortedTxns: readonly AbortedRange[]) {
    for (const range of abortedTxns) {
      const ranges = this.aborted.get(range.producerId);
      if (ranges === undefined) this.aborted.set(range.producerId, [range]);
      else ranges.push(range);
    }
  }

  /** Whether a data batch belongs to an aborted transaction (without noting that it was met). */
  isAborted(header: RecordBatchHeader): boolean {
    return this.abortedRangeOf(header) !== undefined;
  }

  /** Notes a data batch met in the walk; true when it belongs to an aborted transaction and is to be removed. */
  onDataBatch(header: RecordBatchHeader): boolean {
    if (!isTransactional(header) || isControlBatch(header)) return false;
    const range = this.abortedRangeOf(header);
    if (range !== undefined) {
      this.abortedSeen.add(range);
      return true;
    }
    this.committedSeen.add(header.producerId);
    return false;
  }

  /**
   * Notes a marker met in the walk: whether its transaction has nothing left in the log (the marker may go once its
   * delete horizon has passed) and, for an abort, the aborted range the marker ends, which the partition must forget
   * when the marker goes (a reader told of an aborted range without its marker would drop the producer's later
   * records).
   */
  onMarker(header: RecordBatchHeader, type: "abort" | "commit" | null): { removable: boolean; range?: AbortedRange } {
    const { producerId } = header;
    const committedSeen = this.committedSeen.delete(producerId);
    if (type === "commit") return { removable: !committedSeen };
    if (type === "abort") {
      const range = this.aborted.get(producerId)?.find((r) => r.lastOffset === header.baseOffset);
      if (range === undefined) return { removable: true };
      return { removable: !this.abortedSeen.has(range), range };
    }
    return { removable: false };
  }

  private abortedRangeOf(header: RecordBatchHeader): AbortedRange | undefined {
    if (!isTransactional(header) || isControlBatch(header)) return undefined;
    return this.aborted
      .get(header.producerId)
      ?.find((r) => r.firstOffset <= header.baseOffset && header.baseOffset < r.lastOffset);
  }
}
