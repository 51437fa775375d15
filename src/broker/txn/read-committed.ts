// What a read_committed fetch may see: the stored batches below the partition's last stable offset, and the aborted
// transactions among them, which the client uses to drop the aborted records (Kafka sends both, leaving the
// filtering to the client, so that stored batches are still sent exactly as stored).

import { BatchField, BATCH_LENGTH_PREFIX_BYTES } from "../../kafka/protocol/record-batch.js";
import type { AbortedTxn } from "./partition-txns.js";
import type { PartitionTxns } from "./partition-txns.js";

/** The leading batches of `records` (whole stored batches) whose base offset is below `limitOffset`. */
export function batchesBelow(records: Buffer, limitOffset: number): Buffer {
  let at = 0;
  while (at + BatchField.batchLength + 4 <= records.length) {
    if (Number(records.readBigInt64BE(at + BatchField.baseOffset)) >= limitOffset) break;
    at += records.readInt32BE(at + BatchField.batchLength) + BATCH_LENGTH_PREFIX_BYTES;
  }
  return at >= records.length ? records : records.subarray(0, at);
}

/** The offset after the last record of the last batch in `records`, or `fallback` when there is none. */
function endOffsetOf(records: Buffer, fallback: number): number {
  let at = 0;
  let end = fallback;
  while (at + BatchField.lastOffsetDelta + 4 <= records.length) {
    end =
      Number(records.readBigInt64BE(at + BatchField.baseOffset)) +
      records.readInt32BE(at + BatchField.lastOffsetDelta) +
      1;
    at += records.readInt32BE(at + BatchField.batchLength) + BATCH_LENGTH_PREFIX_BYTES;
  }
  return end;
}

/** The aborted transactions a fetch from `fetchOffset` returning `records` must list, as the protocol shapes them. */
export function abortedTransactionsFor(
  txns: PartitionTxns,
  fetchOffset: number,
  records: Buffer,
): Array<{ producerId: number; firstOffset: number }> {
  if (records.length === 0) return [];
  // Ordered by first offset: kafkajs walks the list as a queue in that order (Kafka's consumer sorts it itself).
  return txns
    .abortedBetween(fetchOffset, endOffsetOf(records, fetchOffset))
    .sort((a, b) => a.firstOffset - b.firstOffset)
    .map(({ producerId, firstOffset }: AbortedTxn) => ({ producerId, firstOffset }));
}
