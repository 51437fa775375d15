// Reading a stored batch's records without copying them and rebuilding the batch from the records a log cleaner
// keeps. Magic 2 keeps the original base offset, last offset delta, producer id, epoch and base sequence through
// compaction, so consumers and idempotent producers see the same offsets and sequences; the base timestamp becomes
// the first kept record's, or the delete horizon when the batch holds tombstones (attribute bit 6, KIP-534).

import { crc32c } from "./crc32c.js";
import { ProtocolDecodeError, Writer } from "./primitives.js";
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

/** A record's place in a decompressed batch body, as scanRecords shows it; reused from record to record. */
export interface RecordView {
  /** The decompressed records of the batch. */
  body: Buffer;
  offsetDelta: number;
  timestampDelta: number;
  /** Where the key's bytes are in `body`; keyStart is -1 for a null key. */
  keyStart: number;
  keyEnd: number;
  tombstone: boolean;
  /** Where the record's bytes from its key to its end start and end in `body`. */
  tailStart: number;
  tailEnd: number;
}

function malformed(message: string): never {
  throw new ProtocolDecodeError(message);
}

/**
 * Reads a zigzag varint of up to 64 bits as a Number, without BigInt: exact for every value below 2^53, which holds
 * every real offset and timestamp delta. Returns the value and moves `at[0]` past it.
 */
function readVarNumber(body: Buffer, at: number[], maxBytes: number): number {
  let raw = 0;
  let scale = 1;
  let position = at[0]!;
  for (let i = 0; i < maxBytes; i++) {
    if (position >= body.length) malformed(`varint cut off at ${position}`);
    const byte = body[position++]!;
    raw += (byte & 0x7f) * scale;
    if ((byte & 0x80) === 0) {
      at[0] = position;
      return raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2;
    }
    scale *= 128;
  }
  return malformed(`varint longer than ${maxBytes} bytes at ${at[0]}`);
}

/**
 * Calls `visit` for each record of the batch at the start of `batch`, decompressed, with a view that is reused:
 * read what is needed before returning. Allocates nothing per record, so a cleaner can look at millions of records
 * cheaply. Throws ProtocolDecodeError for malformed bytes.
 */
export function scanRecords(batch: Buffer, header: RecordBatchHeader, visit: (record: RecordView) => void): void {
  const body = decompress(
    compressionOf(header),
    batch.subarray(RECORD_BATCH_HEADER_BYTES, batchBytesOf(header)),
    DECOMPRESSED_BYTES_MAX,
  );
  const view: RecordView = {
    body,
    offsetDelta: 0,
    timestampDelta: 0,
    keyStart: -1,
    keyEnd: -1,
    tombstone: false,
    tailStart: 0,
    tailEnd: 0,
  };
  const at = [0];
  for (let index = 0; index < header.recordCount; index++) {
    const length = readVarNumber(body, at, 5);
    const end = at[0]! + length;
    if (length < 0 || end > body.length) malformed(`record ${index} claims ${length} bytes; the batch is shorter`);
    at[0]!++; // attributes
    view.timestampDelta = readVarNumber(body, at, 10);
    view.offsetDelta = readVarNumber(body, at, 5);
    view.tailStart = at[0]!;
    const keyLength = readVarNumber(body, at, 5);
    view.keyStart = keyLength < 0 ? -1 : at[0]!;
    at[0]! += Math.max(keyLength, 0);
    view.keyEnd = keyLength < 0 ? -1 : at[0]!;
    if (at[0]! > end) malformed(`record ${index} is cut off`);
    view.tombstone = readVarNumber(body, at, 5) < 0;
    if (at[0]! > end) malformed(`record ${index} is cut off`);
    view.tailEnd = end;
    visit(view);
    at[0] = end;
  }
  if (at[0] !== body.length) malformed(`${body.length - at[0]!} bytes follow the ${header.recordCount} records`);
}

/**
 * The records of the batch at the start of `batch` that `keep` (when given) keeps, as copies-free views of the
 * decompressed body. Throws ProtocolDecodeError for malformed bytes.
 */
export function readRawRecords(
  batch: Buffer,
  header: RecordBatchHeader,
  keep: (record: RecordView) => boolean = () => true,
): RawRecord[] {
  const records: RawRecord[] = [];
  scanRecords(batch, header, (view) => {
    if (!keep(view)) return;
    records.push({
      offsetDelta: view.offsetDelta,
      timestamp: header.baseTimestamp + view.timestampDelta,
      key: view.keyStart < 0 ? null : view.body.subarray(view.keyStart, view.keyEnd),
      tombstone: view.tombstone,
      tail: view.body.subarray(view.tailStart, view.tailEnd),
    });
  });
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
