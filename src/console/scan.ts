// The filter's hot path: walks one partition's record batches as the broker sent them and tests each record's bytes
// against the filter without decoding it. A record costs a few varint reads and a byte search of its key or value;
// no object is made for a record that does not match, headers are read only when the filter names one, and a JSON
// value is parsed only when its bytes contain what the filter looks for. Only matches become FetchedRecords, with
// their key, value and headers copied out so the fetch's buffer is not kept alive by them.

import { decompress } from "../kafka/protocol/compression/index.js";
import { crc32c } from "../kafka/protocol/crc32c.js";
import { KafkaClientError, KafkaClientErrorCode, type FetchedRecord } from "../kafka/client/index.js";

export interface SearchFilter {
  readonly key?: string;
  readonly value?: string;
  /** A header name, or name=value. */
  readonly header?: string;
  /** A dotted path into a JSON value ("order.customer.id"), compared with jsonEquals as text. */
  readonly jsonPath?: string;
  readonly jsonEquals?: string;
}

/** A filter made ready for bytes: the substrings as UTF-8, and what a JSON value must contain to be worth parsing. */
export interface CompiledFilter {
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headerName: Buffer | null;
  readonly headerValue: Buffer | null;
  readonly path: readonly string[] | null;
  readonly jsonEquals: string | undefined;
  /** Byte strings a value must contain before it is parsed as JSON (the field's name, the wanted value). */
  readonly jsonNeedles: readonly Buffer[];
}

/** Text that JSON writes as it is (printable ASCII without quote or backslash) can be searched for as bytes. */
const JSON_VERBATIM = /^[\x20-\x21\x23-\x5b\x5d-\x7e]+$/;

export function compileFilter(filter: SearchFilter): CompiledFilter {
  const equalsAt = filter.header?.indexOf("=") ?? -1;
  const headerName =
    filter.header === undefined ? null : equalsAt < 0 ? filter.header : filter.header.slice(0, equalsAt);
  const path = filter.jsonPath?.replace(/^\$?\.?/, "").split(".") ?? null;
  const jsonNeedles: Buffer[] = [];
  if (path !== null) {
    const field = path.at(-1)!;
    if (JSON_VERBATIM.test(field)) jsonNeedles.push(Buffer.from(`"${field}"`));
    if (filter.jsonEquals !== undefined && JSON_VERBATIM.test(filter.jsonEquals)) {
      jsonNeedles.push(Buffer.from(filter.jsonEquals));
    }
  }
  return {
    key: filter.key === undefined ? null : Buffer.from(filter.key, "utf8"),
    value: filter.value === undefined ? null : Buffer.from(filter.value, "utf8"),
    headerName: headerName === null ? null : Buffer.from(headerName, "utf8"),
    headerValue: filter.header === undefined || equalsAt < 0 ? null : Buffer.from(filter.header.slice(equalsAt + 1)),
    path,
    jsonEquals: filter.jsonEquals,
    jsonNeedles,
  };
}

/** Ranges shorter than this are searched in JavaScript; longer ones through Buffer#indexOf (memchr and friends). */
const NATIVE_SEARCH_BYTES_MIN = 256;

function contains(buf: Buffer, start: number, end: number, needle: Buffer): boolean {
  const length = needle.length;
  if (length === 0) return true;
  if (end - start >= NATIVE_SEARCH_BYTES_MIN) return buf.subarray(start, end).indexOf(needle) >= 0;
  const first = needle[0]!;
  const last = end - length;
  outer: for (let at = start; at <= last; at++) {
    if (buf[at] !== first) continue;
    for (let index = 1; index < length; index++) if (buf[at + index] !== needle[index]) continue outer;
    return true;
  }
  return false;
}

function equalBytes(buf: Buffer, start: number, end: number, wanted: Buffer): boolean {
  if (end - start !== wanted.length) return false;
  for (let index = 0; index < wanted.length; index++) if (buf[start + index] !== wanted[index]) return false;
  return true;
}

function jsonField(text: string, path: readonly string[]): string | undefined {
  let current: unknown;
  try {
    current = JSON.parse(text);
  } catch {
    return undefined;
  }
  for (const name of path) {
    if (typeof current !== "object" || current === null) return undefined;
    current = (current as Record<string, unknown>)[name];
  }
  if (current === undefined) return undefined;
  return typeof current === "string" ? current : JSON.stringify(current);
}

// The walk keeps its position in module state rather than an object per batch: the varint readers are the hottest
// code of a scan, and plain functions over a number stay small enough for V8 to inline.
let position = 0;
let limit = 0;

function invalid(message: string): never {
  throw new RangeError(message);
}

function zigzagVarint(buf: Buffer): number {
  let result = 0;
  let shift = 0;
  let byte: number;
  do {
    if (position >= limit) invalid("a varint runs past its record");
    byte = buf[position++]!;
    result |= (byte & 0x7f) << shift;
    shift += 7;
  } while ((byte & 0x80) !== 0 && shift < 35);
  if ((byte & 0x80) !== 0) invalid("a varint is longer than five bytes");
  return (result >>> 1) ^ -(result & 1);
}

function zigzagVarlong(buf: Buffer): number {
  let result = 0;
  let multiplier = 1;
  let byte: number;
  do {
    if (position >= limit) invalid("a varlong runs past its record");
    byte = buf[position++]!;
    result += (byte & 0x7f) * multiplier;
    multiplier *= 128;
  } while ((byte & 0x80) !== 0 && multiplier <= 2 ** 63);
  return result % 2 === 0 ? result / 2 : -(result + 1) / 2;
}

/** Reads a length-prefixed field's length and moves past it; -1 for null. */
function skipBytes(buf: Buffer): number {
  const length = zigzagVarint(buf);
  if (length > 0) {
    if (position + length > limit) invalid(`a field of ${length} bytes runs past its record`);
    position += length;
  }
  return length;
}

function copyOf(buf: Buffer, start: number, length: number): Buffer | null {
  return length < 0 ? null : Buffer.from(buf.subarray(start, start + length));
}

function readInt64(buf: Buffer, at: number): number {
  return buf.readInt32BE(at) * 0x100000000 + buf.readUInt32BE(at + 4);
}

export interface PartitionScan {
  /** Records tested against the filter. */
  readonly scanned: number;
  /** The next offset to scan. */
  readonly next: number;
  /** True when the scan stopped inside the fetched bytes (budget spent, or enough matches). */
  readonly cut: boolean;
}

const BATCH_HEADER_BYTES = 61;
const CONTROL_ATTRIBUTE = 0x20;
const LOG_APPEND_TIME_ATTRIBUTE = 0x08;
const COMPRESSION_MASK = 0x07;

/**
 * Tests the records of `bytes` (one partition's Fetch answer) with offsets in [from, end), at most `budget` of them,
 * handing each match to `onMatch` until it answers false. Batches are checked against their CRC.
 */
export function scanBatches(
  topic: string,
  partition: number,
  bytes: Buffer | null,
  range: { readonly from: number; readonly end: number; readonly budget: number },
  filter: CompiledFilter,
  onMatch: (record: FetchedRecord) => boolean,
): PartitionScan {
  const { from, end, budget } = range;
  let scanned = 0;
  let next = from;
  if (bytes === null) return { scanned, next, cut: false };
  let at = 0;
  try {
    while (at + BATCH_HEADER_BYTES <= bytes.length) {
      const batchBytes = bytes.readInt32BE(at + 8) + 12;
      if (batchBytes < BATCH_HEADER_BYTES) invalid(`a batch claims ${batchBytes} bytes`);
      // A batch cut off at the fetch's byte limit is fetched again from its start.
      if (at + batchBytes > bytes.length) break;
      if (bytes[at + 16] !== 2) invalid(`a batch has magic ${bytes[at + 16]}; only magic 2 is read`);
      const baseOffset = readInt64(bytes, at);
      const lastOffset = baseOffset + bytes.readInt32BE(at + 23);
      const attributes = bytes.readInt16BE(at + 21);
      if (baseOffset >= end) return { scanned, next: Math.max(next, end), cut: false };
      if (lastOffset < from || (attributes & CONTROL_ATTRIBUTE) !== 0) {
        next = Math.max(next, lastOffset + 1);
        at += batchBytes;
        continue;
      }
      if (crc32c(bytes, at + 21, at + batchBytes) !== bytes.readUInt32BE(at + 17)) {
        invalid(`the batch at offset ${baseOffset} fails its CRC`);
      }
      const baseTimestamp = readInt64(bytes, at + 27);
      const logAppendTime = (attributes & LOG_APPEND_TIME_ATTRIBUTE) !== 0 ? readInt64(bytes, at + 35) : -1;
      const recordCount = bytes.readInt32BE(at + 57);
      const body = decompress(attributes & COMPRESSION_MASK, bytes.subarray(at + BATCH_HEADER_BYTES, at + batchBytes));
      position = 0;
      for (let index = 0; index < recordCount; index++) {
        limit = body.length;
        const length = zigzagVarint(body);
        const recordEnd = position + length;
        if (length < 0 || recordEnd > body.length) invalid(`record ${index} claims ${length} bytes`);
        limit = recordEnd;
        position++; // attributes, unused
        const timestampDelta = zigzagVarlong(body);
        const offset = baseOffset + zigzagVarint(body);
        if (offset < from) {
          position = recordEnd;
          continue;
        }
        if (offset >= end) return { scanned, next: end, cut: false };
        if (scanned >= budget) return { scanned, next: offset, cut: true };
        scanned++;
        next = offset + 1;
        const keyLength = skipBytes(body);
        const keyAt = position - Math.max(keyLength, 0);
        const valueLength = skipBytes(body);
        const valueAt = position - Math.max(valueLength, 0);
        const headersAt = position;
        let matched =
          (filter.key === null || (keyLength >= 0 && contains(body, keyAt, keyAt + keyLength, filter.key))) &&
          (filter.value === null || (valueLength >= 0 && contains(body, valueAt, valueAt + valueLength, filter.value)));
        if (matched && filter.headerName !== null) {
          matched = false;
          const count = zigzagVarint(body);
          for (let header = 0; header < count && !matched; header++) {
            const nameLength = skipBytes(body);
            const nameAt = position - Math.max(nameLength, 0);
            const valueOfHeaderLength = skipBytes(body);
            const valueOfHeaderAt = position - Math.max(valueOfHeaderLength, 0);
            matched =
              equalBytes(body, nameAt, nameAt + Math.max(nameLength, 0), filter.headerName) &&
              (filter.headerValue === null ||
                (valueOfHeaderLength >= 0 &&
                  equalBytes(body, valueOfHeaderAt, valueOfHeaderAt + valueOfHeaderLength, filter.headerValue)));
          }
        }
        if (matched && filter.path !== null) {
          matched = valueLength >= 0;
          for (const needle of filter.jsonNeedles) {
            if (!matched) break;
            matched = contains(body, valueAt, valueAt + valueLength, needle);
          }
          if (matched) {
            const field = jsonField(body.toString("utf8", valueAt, valueAt + valueLength), filter.path);
            matched = field !== undefined && (filter.jsonEquals === undefined || field === filter.jsonEquals);
          }
        }
        if (matched) {
          position = headersAt;
          const headers = [];
          const count = zigzagVarint(body);
          for (let header = 0; header < count; header++) {
            const nameLength = skipBytes(body);
            const nameAt = position - Math.max(nameLength, 0);
            const headerValueLength = skipBytes(body);
            const headerValueAt = position - Math.max(headerValueLength, 0);
            if (nameLength < 0) invalid(`record ${index} has a header with a null name`);
            headers.push({
              key: body.toString("utf8", nameAt, nameAt + nameLength),
              value: copyOf(body, headerValueAt, headerValueLength),
            });
          }
          const record: FetchedRecord = {
            topic,
            partition,
            offset,
            timestamp: logAppendTime >= 0 ? logAppendTime : baseTimestamp + timestampDelta,
            key: copyOf(body, keyAt, keyLength),
            value: copyOf(body, valueAt, valueLength),
            headers,
          };
          if (!onMatch(record)) return { scanned, next, cut: true };
        }
        position = recordEnd;
      }
      next = Math.max(next, lastOffset + 1);
      at += batchBytes;
    }
  } catch (error) {
    if (error instanceof KafkaClientError) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw new KafkaClientError(
      KafkaClientErrorCode.RECORDS_INVALID,
      `records of ${topic}-${partition} near offset ${next} cannot be read: ${reason}`,
      { cause: error },
    );
  }
  return { scanned, next, cut: false };
}
