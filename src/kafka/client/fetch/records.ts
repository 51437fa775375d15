// Turning one partition's Fetch bytes into records: walks the concatenated batches, checks each CRC, decompresses,
// drops records before the fetch offset (a batch is returned whole even when the offset falls inside it), skips
// control batches, and, reading committed, skips the records of aborted transactions. The next offset to fetch is
// the end of the last whole batch, so a cut-off batch at the end is fetched again next time.

import {
  decodeRecordBatchAs,
  isControlBatch,
  isTransactional,
  iterateBatches,
  lastOffsetOf,
  type DecodedRecordHeader,
} from "../../protocol/record-batch.js";
import { UnsupportedCompressionError } from "../../protocol/compression/index.js";
import { ProtocolDecodeError } from "../../protocol/primitives.js";
import { KafkaClientError, KafkaClientErrorCode } from "../errors.js";

export interface FetchedRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  /** Milliseconds since the epoch: the producer's create time, or the broker's append time. */
  readonly timestamp: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: readonly DecodedRecordHeader[];
}

export interface AbortedTransaction {
  readonly producerId: number;
  readonly firstOffset: number;
}

export interface DecodedPartitionRecords {
  readonly records: FetchedRecord[];
  /** Where the next fetch starts: past the last whole batch, or the fetch offset when none arrived. */
  readonly nextOffset: number;
}

export function decodePartitionRecords(
  topic: string,
  partition: number,
  fetchOffset: number,
  bytes: Buffer | null,
  options: { readCommitted: boolean; abortedTransactions: readonly AbortedTransaction[] | null },
): DecodedPartitionRecords {
  const records: FetchedRecord[] = [];
  let nextOffset = fetchOffset;
  if (bytes === null || bytes.length === 0) return { records, nextOffset };
  const aborted = options.readCommitted
    ? [...(options.abortedTransactions ?? [])].sort((left, right) => left.firstOffset - right.firstOffset)
    : [];
  const abortingProducers = new Set<number>();
  let sawBatch = false;
  try {
    for (const batch of iterateBatches(bytes)) {
      sawBatch = true;
      const { header } = batch;
      nextOffset = Math.max(nextOffset, lastOffsetOf(header) + 1);
      while (aborted.length > 0 && aborted[0]!.firstOffset <= lastOffsetOf(header)) {
        abortingProducers.add(aborted.shift()!.producerId);
      }
      if (isControlBatch(header)) {
        // A commit or abort marker ends its producer's transaction either way.
        abortingProducers.delete(header.producerId);
        continue;
      }
      if (lastOffsetOf(header) < fetchOffset) continue;
      if (options.readCommitted && isTransactional(header) && abortingProducers.has(header.producerId)) continue;
      const decoded = decodeRecordBatchAs(batch.bytes, {}, (offset, timestamp, key, value, headers) => ({
        topic,
        partition,
        offset,
        timestamp,
        key,
        value,
        headers,
      }));
      for (const record of decoded.records) if (record.offset >= fetchOffset) records.push(record);
    }
  } catch (error) {
    if (!(error instanceof ProtocolDecodeError || error instanceof UnsupportedCompressionError)) throw error;
    throw new KafkaClientError(
      KafkaClientErrorCode.RECORDS_INVALID,
      `records of ${topic}-${partition} from offset ${nextOffset} cannot be read: ${error.message}; ` +
        "the log may be corrupt, or written by a client this one cannot read",
      { cause: error },
    );
  }
  if (!sawBatch) {
    throw new KafkaClientError(
      KafkaClientErrorCode.RECORDS_INVALID,
      `the next batch of ${topic}-${partition} at offset ${fetchOffset} is larger than the ${bytes.length} bytes ` +
        "the fetch allowed; raise partitionMaxBytes (and maxBytes)",
    );
  }
  return { records, nextOffset };
}
