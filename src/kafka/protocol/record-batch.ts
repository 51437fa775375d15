// Kafka record batches (magic 2): reading and validating the 61-byte header on the produce path without touching
// the records, patching the fields the broker owns, and building and decoding whole batches for tools, tests and
// timestamp lookups.

import { crc32c } from "./crc32c.js";
import { ErrorCode } from "./error-codes.js";
import { ProtocolDecodeError, Reader } from "./primitives.js";
import { recordsBytes, writeRecords } from "./record-encoding.js";
import {
  CompressionCodec,
  CompressionError,
  DECOMPRESSED_BYTES_MAX,
  compress,
  compressionCodecName,
  decompress,
} from "./compression/index.js";

/** Byte offsets of the header fields. */
export const BatchField = {
  baseOffset: 0,
  batchLength: 8,
  partitionLeaderEpoch: 12,
  magic: 16,
  crc: 17,
  attributes: 21,
  lastOffsetDelta: 23,
  baseTimestamp: 27,
  maxTimestamp: 35,
  producerId: 43,
  producerEpoch: 51,
  baseSequence: 53,
  recordCount: 57,
  records: 61,
} as const;

export const RECORD_BATCH_HEADER_BYTES = 61;
/** baseOffset and batchLength precede what batchLength counts. */
export const BATCH_LENGTH_PREFIX_BYTES = 12;
/** The CRC covers from the attributes to the end, so baseOffset and partitionLeaderEpoch can change freely. */
export const CRC_START = BatchField.attributes;
export const RECORD_BATCH_MAGIC = 2;

export const ATTRIBUTE_COMPRESSION_MASK = 0x07;
export const ATTRIBUTE_LOG_APPEND_TIME = 0x08;
export const ATTRIBUTE_TRANSACTIONAL = 0x10;
export const ATTRIBUTE_CONTROL = 0x20;

export const NO_PRODUCER_ID = -1;
export const NO_PRODUCER_EPOCH = -1;
export const NO_SEQUENCE = -1;

export interface RecordBatchHeader {
  baseOffset: number;
  /** Bytes after the batchLength field; the whole batch is batchLength + 12 bytes. */
  batchLength: number;
  partitionLeaderEpoch: number;
  magic: number;
  crc: number;
  attributes: number;
  lastOffsetDelta: number;
  baseTimestamp: number;
  maxTimestamp: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  recordCount: number;
}

export function compressionOf(header: RecordBatchHeader): number {
  return header.attributes & ATTRIBUTE_COMPRESSION_MASK;
}

export function isTransactional(header: RecordBatchHeader): boolean {
  return (header.attributes & ATTRIBUTE_TRANSACTIONAL) !== 0;
}

export function isControlBatch(header: RecordBatchHeader): boolean {
  return (header.attributes & ATTRIBUTE_CONTROL) !== 0;
}

export function hasLogAppendTime(header: RecordBatchHeader): boolean {
  return (header.attributes & ATTRIBUTE_LOG_APPEND_TIME) !== 0;
}

export function lastOffsetOf(header: RecordBatchHeader): number {
  return header.baseOffset + header.lastOffsetDelta;
}

/** The whole batch's size in bytes. */
export function batchBytesOf(header: RecordBatchHeader): number {
  return header.batchLength + BATCH_LENGTH_PREFIX_BYTES;
}

function readInt64(buf: Uint8Array, at: number): number {
  const view = asBuffer(buf);
  // Exact below 2^53, which every real offset, timestamp and producer id is.
  return view.readInt32BE(at) * 0x100000000 + view.readUInt32BE(at + 4);
}

function writeInt64(buf: Buffer, at: number, value: number): void {
  if (!Number.isSafeInteger(value)) throw new RangeError(`${value} is not a safe integer`);
  const high = Math.floor(value / 0x100000000);
  buf.writeInt32BE(high, at);
  buf.writeUInt32BE(value - high * 0x100000000, at + 4);
}

function asBuffer(buf: Uint8Array): Buffer {
  return Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.length);
}

/** Reads the header of the batch at `at`; throws ProtocolDecodeError when fewer than 61 bytes remain. */
export function readBatchHeader(buf: Uint8Array, at = 0): RecordBatchHeader {
  if (at < 0 || at + RECORD_BATCH_HEADER_BYTES > buf.length) {
    throw new ProtocolDecodeError(`record batch header needs 61 bytes at offset ${at}, have ${buf.length - at}`);
  }
  const view = asBuffer(buf);
  return {
    baseOffset: readInt64(view, at + BatchField.baseOffset),
    batchLength: view.readInt32BE(at + BatchField.batchLength),
    partitionLeaderEpoch: view.readInt32BE(at + BatchField.partitionLeaderEpoch),
    magic: view.readInt8(at + BatchField.magic),
    crc: view.readUInt32BE(at + BatchField.crc),
    attributes: view.readInt16BE(at + BatchField.attributes),
    lastOffsetDelta: view.readInt32BE(at + BatchField.lastOffsetDelta),
    baseTimestamp: readInt64(view, at + BatchField.baseTimestamp),
    maxTimestamp: readInt64(view, at + BatchField.maxTimestamp),
    producerId: readInt64(view, at + BatchField.producerId),
    producerEpoch: view.readInt16BE(at + BatchField.producerEpoch),
    baseSequence: view.readInt32BE(at + BatchField.baseSequence),
    recordCount: view.readInt32BE(at + BatchField.recordCount),
  };
}

/** Whether the stored CRC matches the batch's bytes; `buf[at, at + batchLength + 12)` must all be present. */
export function batchChecksumValid(buf: Uint8Array, header: RecordBatchHeader, at = 0): boolean {
  return crc32c(buf, at + CRC_START, at + batchBytesOf(header)) === header.crc;
}

export type ProducedBatchValidation = { header: RecordBatchHeader } | { errorCode: number; message: string };

/**
 * Checks a Produce partition's `records` bytes: exactly one well-formed magic-2 batch with a good CRC, within
 * `messageBytesMax`, not a control batch, a known codec, and a record count that agrees with its offset range. Only
 * the header is read (plus one CRC pass); the records themselves are stored as they are.
 */
export function validateProducedBatch(records: Uint8Array | null, messageBytesMax: number): ProducedBatchValidation {
  if (records === null || records.length === 0) {
    return { errorCode: ErrorCode.INVALID_RECORD, message: "the request carries no record batch" };
  }
  if (records.length <= BatchField.magic) {
    return { errorCode: ErrorCode.CORRUPT_MESSAGE, message: `${records.length} bytes is too short for a record batch` };
  }
  const magic = asBuffer(records).readInt8(BatchField.magic);
  if (magic !== RECORD_BATCH_MAGIC) {
    return {
      errorCode: ErrorCode.INVALID_RECORD,
      message: `record batch magic ${magic} is not supported; use magic 2`,
    };
  }
  if (records.length < RECORD_BATCH_HEADER_BYTES) {
    return { errorCode: ErrorCode.CORRUPT_MESSAGE, message: `${records.length} bytes is too short for a record batch` };
  }
  const header = readBatchHeader(records);
  const batchBytes = batchBytesOf(header);
  if (header.batchLength < RECORD_BATCH_HEADER_BYTES - BATCH_LENGTH_PREFIX_BYTES) {
    return { errorCode: ErrorCode.CORRUPT_MESSAGE, message: `batch length ${header.batchLength} is below the minimum` };
  }
  if (batchBytes > records.length) {
    return {
      errorCode: ErrorCode.CORRUPT_MESSAGE,
      message: `batch length says ${batchBytes} bytes but only ${records.length} were sent`,
    };
  }
  if (batchBytes < records.length) {
    const trailingBytes = records.length - batchBytes;
    // A second complete batch breaks the one-batch rule; a fragment is just corrupt framing.
    const secondBatch =
      trailingBytes >= RECORD_BATCH_HEADER_BYTES &&
      asBuffer(records).readInt32BE(batchBytes + BatchField.batchLength) + BATCH_LENGTH_PREFIX_BYTES === trailingBytes;
    return secondBatch
      ? {
          errorCode: ErrorCode.INVALID_RECORD,
          message: "a produce request may carry only one record batch per partition",
        }
      : { errorCode: ErrorCode.CORRUPT_MESSAGE, message: `${trailingBytes} bytes follow the record batch` };
  }
  if (batchBytes > messageBytesMax) {
    return {
      errorCode: ErrorCode.MESSAGE_TOO_LARGE,
      message: `record batch of ${batchBytes} bytes exceeds the limit of ${messageBytesMax}`,
    };
  }
  if (!batchChecksumValid(records, header)) {
    return { errorCode: ErrorCode.CORRUPT_MESSAGE, message: "record batch CRC does not match its contents" };
  }
  if (isControlBatch(header)) {
    return { errorCode: ErrorCode.INVALID_RECORD, message: "clients may not write control batches" };
  }
  const codec = compressionOf(header);
  if (codec > CompressionCodec.Zstd) {
    return { errorCode: ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, message: `unknown compression codec ${codec}` };
  }
  if (header.recordCount < 1) {
    return { errorCode: ErrorCode.INVALID_RECORD, message: `record count ${header.recordCount} is not positive` };
  }
  if (header.lastOffsetDelta !== header.recordCount - 1) {
    return {
      errorCode: ErrorCode.INVALID_RECORD,
      message: `last offset delta ${header.lastOffsetDelta} does not match record count ${header.recordCount}`,
    };
  }
  if (header.producerId >= 0 && header.baseSequence < 0) {
    return { errorCode: ErrorCode.INVALID_RECORD, message: "a batch with a producer id needs a base sequence" };
  }
  return { header };
}

/** Rewrites the base offset in place; the CRC does not cover it. */
export function setBaseOffset(buf: Buffer, offset: number, at = 0): void {
  writeInt64(buf, at + BatchField.baseOffset, offset);
}

/** Rewrites the partition leader epoch in place; the CRC does not cover it. */
export function setPartitionLeaderEpoch(buf: Buffer, epoch: number, at = 0): void {
  buf.writeInt32BE(epoch, at + BatchField.partitionLeaderEpoch);
}

/** Marks the batch as LogAppendTime with `timestampMs` as its time and recomputes the CRC. */
export function setLogAppendTime(buf: Buffer, timestampMs: number, at = 0): void {
  const attributes = buf.readInt16BE(at + BatchField.attributes);
  buf.writeInt16BE(attributes | ATTRIBUTE_LOG_APPEND_TIME, at + BatchField.attributes);
  writeInt64(buf, at + BatchField.maxTimestamp, timestampMs);
  const end = at + buf.readInt32BE(at + BatchField.batchLength) + BATCH_LENGTH_PREFIX_BYTES;
  buf.writeUInt32BE(crc32c(buf, at + CRC_START, end), at + BatchField.crc);
}

export interface RecordHeaderInput {
  key: string;
  value: Uint8Array | string | null;
}

export interface RecordInput {
  key?: Uint8Array | string | null;
  value: Uint8Array | string | null;
  headers?: readonly RecordHeaderInput[];
  /** Milliseconds since the epoch; defaults to the batch's `timestamp`. */
  timestamp?: number;
}

function readVarintBytes(reader: Reader): Buffer | null {
  const length = reader.varint();
  return length < 0 ? null : reader.raw(length);
}

export interface BuildRecordBatchOptions {
  records: readonly RecordInput[];
  baseOffset?: number;
  compression?: CompressionCodec;
  producerId?: number;
  producerEpoch?: number;
  baseSequence?: number;
  partitionLeaderEpoch?: number;
  transactional?: boolean;
  /** A control batch (transaction markers); its one record's key and value carry the marker. */
  control?: boolean;
  /** Default record timestamp; Date.now() when absent. */
  timestamp?: number;
  /** Builds a LogAppendTime batch stamped with this time. */
  logAppendTime?: number;
}

/** Builds one complete magic-2 batch, compressed as asked, with a correct CRC. */
export function buildRecordBatch(options: BuildRecordBatchOptions): Buffer {
  const { records } = options;
  if (records.length === 0) throw new RangeError("a record batch needs at least one record");
  const defaultTimestamp = options.timestamp ?? Date.now();
  const baseTimestamp = records[0]!.timestamp ?? defaultTimestamp;
  let maxTimestamp = -1;
  const timestampDeltas = new Array<number>(records.length);
  for (let index = 0; index < records.length; index++) {
    const timestamp = records[index]!.timestamp ?? defaultTimestamp;
    if (timestamp > maxTimestamp) maxTimestamp = timestamp;
    timestampDeltas[index] = timestamp - baseTimestamp;
  }
  const codec = options.compression ?? CompressionCodec.None;
  const bodyBytes = recordsBytes(records, timestampDeltas);
  let batch: Buffer;
  if (codec === CompressionCodec.None) {
    batch = Buffer.allocUnsafe(RECORD_BATCH_HEADER_BYTES + bodyBytes);
    writeRecords(batch, RECORD_BATCH_HEADER_BYTES, records, timestampDeltas);
  } else {
    const body = Buffer.allocUnsafe(bodyBytes);
    writeRecords(body, 0, records, timestampDeltas);
    const payload = compress(codec, body);
    batch = Buffer.allocUnsafe(RECORD_BATCH_HEADER_BYTES + payload.length);
    batch.set(payload, RECORD_BATCH_HEADER_BYTES);
  }

  let attributes = codec;
  if (options.transactional === true) attributes |= ATTRIBUTE_TRANSACTIONAL;
  if (options.control === true) attributes |= ATTRIBUTE_CONTROL;
  if (options.logAppendTime !== undefined) attributes |= ATTRIBUTE_LOG_APPEND_TIME;
  writeInt64(batch, BatchField.baseOffset, options.baseOffset ?? 0);
  batch.writeInt32BE(batch.length - BATCH_LENGTH_PREFIX_BYTES, BatchField.batchLength);
  batch.writeInt32BE(options.partitionLeaderEpoch ?? -1, BatchField.partitionLeaderEpoch);
  batch.writeInt8(RECORD_BATCH_MAGIC, BatchField.magic);
  batch.writeInt16BE(attributes, BatchField.attributes);
  batch.writeInt32BE(records.length - 1, BatchField.lastOffsetDelta);
  writeInt64(batch, BatchField.baseTimestamp, baseTimestamp);
  writeInt64(batch, BatchField.maxTimestamp, options.logAppendTime ?? maxTimestamp);
  writeInt64(batch, BatchField.producerId, options.producerId ?? NO_PRODUCER_ID);
  batch.writeInt16BE(options.producerEpoch ?? NO_PRODUCER_EPOCH, BatchField.producerEpoch);
  batch.writeInt32BE(options.baseSequence ?? NO_SEQUENCE, BatchField.baseSequence);
  batch.writeInt32BE(records.length, BatchField.recordCount);
  batch.writeUInt32BE(crc32c(batch, CRC_START), BatchField.crc);
  return batch;
}

export interface DecodedRecordHeader {
  key: string;
  value: Buffer | null;
}

export interface DecodedRecord {
  offset: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  /** Read-only: records without headers share one empty array. */
  headers: readonly DecodedRecordHeader[];
}

/** Shared by every decoded record without headers; callers must not add to it. */
const NO_HEADERS: readonly DecodedRecordHeader[] = [];

export interface DecodedRecordBatch {
  header: RecordBatchHeader;
  records: DecodedRecord[];
}

export interface DecodeRecordBatchOptions {
  /** Check the CRC first (default true). */
  verifyChecksum?: boolean;
  /** The most bytes decompression may produce. */
  decompressedBytesMax?: number;
}

/**
 * Decodes the batch at the start of `buf`, decompressing its records. Throws ProtocolDecodeError for malformed bytes
 * and UnsupportedCompressionError for a codec this runtime cannot decompress.
 */
export function decodeRecordBatch(buf: Uint8Array, options: DecodeRecordBatchOptions = {}): DecodedRecordBatch {
  return decodeRecordBatchAs(buf, options, (offset, timestamp, key, value, headers) => ({
    offset,
    timestamp,
    key,
    value,
    headers,
  }));
}

/** Makes one decoded record of the caller's shape, so that callers with their own record type build one object each. */
export type RecordMaker<T> = (
  offset: number,
  timestamp: number,
  key: Buffer | null,
  value: Buffer | null,
  headers: readonly DecodedRecordHeader[],
) => T;

/** decodeRecordBatch, with each record made by `make`. */
export function decodeRecordBatchAs<T>(
  buf: Uint8Array,
  options: DecodeRecordBatchOptions,
  make: RecordMaker<T>,
): { header: RecordBatchHeader; records: T[] } {
  const header = readBatchHeader(buf);
  if (header.magic !== RECORD_BATCH_MAGIC) throw new ProtocolDecodeError(`record batch magic ${header.magic}`);
  const batchBytes = batchBytesOf(header);
  if (header.batchLength < RECORD_BATCH_HEADER_BYTES - BATCH_LENGTH_PREFIX_BYTES || batchBytes > buf.length) {
    throw new ProtocolDecodeError(`batch length ${header.batchLength} does not fit the ${buf.length} bytes given`);
  }
  if (options.verifyChecksum !== false && !batchChecksumValid(buf, header)) {
    throw new ProtocolDecodeError(`record batch at offset ${header.baseOffset} fails its CRC`);
  }
  const view = asBuffer(buf);
  const codec = compressionOf(header);
  let body: Buffer;
  try {
    body = decompress(
      codec,
      view.subarray(RECORD_BATCH_HEADER_BYTES, batchBytes),
      options.decompressedBytesMax ?? DECOMPRESSED_BYTES_MAX,
    );
  } catch (error) {
    if (error instanceof CompressionError) {
      throw new ProtocolDecodeError(`${compressionCodecName(codec)} records: ${error.message}`);
    }
    throw error;
  }
  const reader = new Reader(body);
  const logAppendTime = hasLogAppendTime(header);
  const records: T[] = [];
  for (let index = 0; index < header.recordCount; index++) {
    const length = reader.varint();
    if (length < 0 || length > reader.remaining) {
      throw new ProtocolDecodeError(`record ${index} claims ${length} bytes; ${reader.remaining} remain`);
    }
    const end = reader.offset + length;
    reader.int8();
    const timestampDelta = reader.varlong();
    const offsetDelta = reader.varint();
    const key = readVarintBytes(reader);
    const value = readVarintBytes(reader);
    const headerCount = reader.varint();
    if (headerCount < 0 || headerCount > end - reader.offset) {
      throw new ProtocolDecodeError(`record ${index} claims ${headerCount} headers`);
    }
    const headers: DecodedRecordHeader[] | null = headerCount === 0 ? null : [];
    for (let h = 0; h < headerCount; h++) {
      const headerKey = readVarintBytes(reader);
      if (headerKey === null) throw new ProtocolDecodeError(`record ${index} has a header with a null key`);
      headers!.push({ key: headerKey.toString("utf8"), value: readVarintBytes(reader) });
    }
    if (reader.offset !== end) {
      throw new ProtocolDecodeError(`record ${index} length ${length} disagrees with its contents`);
    }
    records.push(
      make(
        header.baseOffset + offsetDelta,
        logAppendTime ? header.maxTimestamp : header.baseTimestamp + timestampDelta,
        key,
        value,
        headers ?? NO_HEADERS,
      ),
    );
  }
  if (reader.remaining !== 0) {
    throw new ProtocolDecodeError(`${reader.remaining} bytes follow the ${header.recordCount} records`);
  }
  return { header, records };
}

export interface BatchView {
  header: RecordBatchHeader;
  /** The whole batch, a view into the buffer walked. */
  bytes: Buffer;
}

/**
 * Walks the batches concatenated in `buf` (a Fetch response's records), stopping quietly at a truncated last batch,
 * which brokers may send when a fetch is cut at its byte limit.
 */
export function* iterateBatches(buf: Uint8Array): Generator<BatchView> {
  const view = asBuffer(buf);
  let at = 0;
  while (at + RECORD_BATCH_HEADER_BYTES <= view.length) {
    const header = readBatchHeader(view, at);
    const batchBytes = batchBytesOf(header);
    if (header.batchLength < RECORD_BATCH_HEADER_BYTES - BATCH_LENGTH_PREFIX_BYTES) {
      throw new ProtocolDecodeError(`batch at byte ${at} has impossible length ${header.batchLength}`);
    }
    if (at + batchBytes > view.length) return;
    if (header.magic !== RECORD_BATCH_MAGIC) {
      throw new ProtocolDecodeError(`batch at byte ${at} has magic ${header.magic}; only magic 2 is supported`);
    }
    yield { header, bytes: view.subarray(at, at + batchBytes) };
    at += batchBytes;
  }
}
