// Reading a stored batch's records without copying them and rebuilding the batch from the records a log cleaner
// keeps. Magic 2 keeps the original base offset, last offset delta, producer id, epoch and base sequence through
// compaction, so consumers and idempotent producers see the same offsets and sequences; the base timestamp becomes
// the first kept record's, or the delete horizon when the batch holds tombstones (attribute bit 6, KIP-534).

import { crc32c } from "./crc32c.js";
import { ProtocolDecodeError, Reader, Writer } from "./primitives.js";
import { compress, decompress, DECOMPRESSED_BYTES_MAX } from "./compression/index.js";
import {
  BATCH_LENGTH_PREFIX_BYTES,
  BatchField,
  CRC_START,
  RECORD_BATCH_HEADER_BYTES,
  batchBytesOf,
  compressionOf,
  hasLogAppendTime,
  type RecordBatchHeader,
} from "./record-batch.js";

/** Attribute bit 6: the batch's baseTimestamp is the time after which its tombstones may be removed. */
export const ATTRIBUTE_DELETE_HORIZON = 0x40;

export function hasDeleteHorizon(header: RecordBatchHeader): boolean {
  return (header.attributes & ATTRIBUTE_DELETE_HORIZON) !== 0;
}

/** One record of a batch as stored: what a cleaner decides on, and the bytes it copies when it keeps the record. */
export interface RawRecord {
  offsetDelta: number;
  /** The record's own timestamp (base timestamp plus delta), whatever the batch's timestamp type. */
  timestamp: number;
  key: Buffer | null;
  /** A tombstone: a null value. */
  tombstone: boolean;
  /** The record's bytes from its key to its end (key, value, headers), copied unchanged when it is kept. */
  tail: Buffer;
}

/** The records of the batch at the start of `batch`, decompressed. Throws ProtocolDecodeError for malformed bytes. */
export function readRawRecords(batch: Buffer, header: RecordBatchHeader): RawRecord[] {
  const body = decompress(
    compressionOf(header),
    batch.subarray(RECORD_BATCH_HEADER_BYTES, batchBytesOf(header)),
    DECOMPRESSED_BYTES_MAX,
  );
  const reader = new Reader(body);
  const records: RawRecord[] = [];
  for (let index = 0; index < header.recordCount; index++) {
    const length = reader.varint();
    if (length < 0 || length > reader.remaining) {
      throw new ProtocolDecodeError(`record ${index} claims ${length} bytes; ${reader.remaining} remain`);
    }
    const end = reader.offset + length;
    reader.int8();
    const timestamp = header.baseTimestamp + reader.varlong();
    const offsetDelta = reader.varint();
    const tailStart = reader.offset;
    const keyLength = reader.varint();
    const key = keyLength < 0 ? null : reader.raw(keyLength);
    const valueLength = reader.varint();
    if (end > body.length || reader.offset > end) throw new ProtocolDecodeError(`record ${index} is cut off`);
    records.push({ offsetDelta, timestamp, key, tombstone: valueLength < 0, tail: body.subarray(tailStart, end) });
    reader.offset = end;
  }
  if (reader.remaining !== 0) {
    throw new ProtocolDecodeError(`${reader.remaining} bytes follow the ${header.recordCount} records`);
  }
  return records;
}

function writeInt64(buf: Buffer, at: number, value: number): void {
  const high = Math.floor(value / 0x100000000);
  buf.writeInt32BE(high, at);
  buf.writeUInt32BE(value - high * 0x100000000, at + 4);
}

/**
 * Rebuilds a batch with only `kept` (a non-empty subsequence of its records, in order), compressed with the original
 * codec. `deleteHorizonMs`, when not null, is stored as the base timestamp with the delete-horizon bit set.
 */
export function rebuildBatch(
  original: Buffer,
  header: RecordBatchHeader,
  kept: readonly RawRecord[],
  deleteHorizonMs: number | null,
): Buffer {
  if (kept.length === 0) throw new RangeError("a rebuilt batch needs at least one record");
  const baseTimestamp = deleteHorizonMs ?? kept[0]!.timestamp;
  let maxTimestamp = -1;
  const body = new Writer(kept.reduce((total, record) => total + record.tail.length + 24, 0));
  const scratch = new Writer(32);
  for (const record of kept) {
    if (record.timestamp > maxTimestamp) maxTimestamp = record.timestamp;
    scratch.offset = 0;
    scratch.int8(0);
    scratch.varlong(record.timestamp - baseTimestamp);
    scratch.varint(record.offsetDelta);
    const prefix = scratch.finish();
    body.varint(prefix.length + record.tail.length);
    body.raw(prefix);
    body.raw(record.tail);
  }
  const codec = compressionOf(header);
  const plain = body.finish();
  const payload = codec === 0 ? plain : compress(codec, plain);
  const batch = Buffer.alloc(RECORD_BATCH_HEADER_BYTES + payload.length);
  // Offsets, producer fields and the leader epoch come over unchanged; the CRC is computed afresh below.
  original.copy(batch, 0, 0, RECORD_BATCH_HEADER_BYTES);
  batch.writeInt32BE(batch.length - BATCH_LENGTH_PREFIX_BYTES, BatchField.batchLength);
  let attributes = header.attributes & ~ATTRIBUTE_DELETE_HORIZON;
  if (deleteHorizonMs !== null) attributes |= ATTRIBUTE_DELETE_HORIZON;
  batch.writeInt16BE(attributes, BatchField.attributes);
  writeInt64(batch, BatchField.baseTimestamp, baseTimestamp);
  if (!hasLogAppendTime(header)) writeInt64(batch, BatchField.maxTimestamp, maxTimestamp);
  batch.writeInt32BE(kept.length, BatchField.recordCount);
  batch.set(payload, RECORD_BATCH_HEADER_BYTES);
  batch.writeUInt32BE(crc32c(batch, CRC_START), BatchField.crc);
  return batch;
}
