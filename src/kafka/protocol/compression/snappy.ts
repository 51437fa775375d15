// Snappy as Kafka clients use it. Java clients wrap raw snappy in xerial's framing: an 8-byte magic, two big-endian
// int32 versions, then blocks of [int32 compressed length][raw snappy]. librdkafka also reads and writes plain raw
// snappy. Decompression accepts both; compression writes the xerial framing, which every client reads.

import { ByteSink } from "./byte-sink.js";
import { CompressionError } from "./errors.js";

const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER_BYTES = 16;
const XERIAL_VERSION = 1;
const XERIAL_COMPATIBLE_VERSION = 1;
/** The uncompressed size of each xerial block we write; xerial's own default. */
const XERIAL_BLOCK_BYTES = 32 * 1024;

const TAG_LITERAL = 0;
const TAG_COPY_1 = 1;
const TAG_COPY_2 = 2;

const HASH_BITS = 14;
/** Matches are only sought this far back so every copy fits the 2-byte-offset form. */
const MATCH_DISTANCE_MAX = 0xffff;

function readUint32LE(data: Uint8Array, at: number): number {
  return (data[at]! | (data[at + 1]! << 8) | (data[at + 2]! << 16) | (data[at + 3]! << 24)) >>> 0;
}

function hasXerialMagic(data: Uint8Array): boolean {
  if (data.length < XERIAL_MAGIC.length) return false;
  for (let i = 0; i < XERIAL_MAGIC.length; i++) if (data[i] !== XERIAL_MAGIC[i]) return false;
  return true;
}

/** Decodes one raw snappy stream (`data[start, end)`), appending its bytes to `sink`. */
function decodeRaw(data: Uint8Array, start: number, end: number, sink: ByteSink): void {
  let at = start;
  let expectedBytes = 0;
  for (let shift = 0; ; shift += 7) {
    if (at >= end || shift > 28) throw new CompressionError("snappy: truncated or oversized length preamble");
    const byte = data[at++]!;
    expectedBytes += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) break;
  }
  const outputStart = sink.length;
  const outputEnd = outputStart + expectedBytes;
  if (expectedBytes > sink.bytesMax - outputStart) {
    throw new CompressionError(`decompressed data exceeds the limit of ${sink.bytesMax} bytes`);
  }
  sink.reserve(expectedBytes);
  while (at < end) {
    const tag = data[at++]!;
    let length: number;
    let distance: number;
    switch (tag & 3) {
      case TAG_LITERAL: {
        length = tag >>> 2;
        if (length >= 60) {
          const extraBytes = length - 59;
          if (at + extraBytes > end) throw new CompressionError("snappy: truncated literal length");
          length = 0;
          for (let i = 0; i < extraBytes; i++) length += data[at + i]! * 2 ** (8 * i);
          at += extraBytes;
        }
        length += 1;
        if (at + length > end) throw new CompressionError("snappy: literal runs past the end of the input");
        if (sink.length + length > outputEnd) throw new CompressionError("snappy: output longer than its preamble");
        sink.append(data, at, at + length);
        at += length;
        continue;
      }
      case TAG_COPY_1:
        if (at + 1 > end) throw new CompressionError("snappy: truncated copy");
        length = ((tag >>> 2) & 7) + 4;
        distance = ((tag >>> 5) << 8) | data[at]!;
        at += 1;
        break;
      case TAG_COPY_2:
        if (at + 2 > end) throw new CompressionError("snappy: truncated copy");
        length = (tag >>> 2) + 1;
        distance = data[at]! | (data[at + 1]! << 8);
        at += 2;
        break;
      default:
        // Tag 3: a copy with a 4-byte little-endian offset.
        if (at + 4 > end) throw new CompressionError("snappy: truncated copy");
        length = (tag >>> 2) + 1;
        distance = readUint32LE(data, at);
        at += 4;
        break;
    }
    if (sink.length + length > outputEnd) throw new CompressionError("snappy: output longer than its preamble");
    if (distance > sink.length - outputStart) throw new CompressionError("snappy: copy reaches before the block");
    sink.appendBackReference(distance, length);
  }
  if (sink.length !== outputEnd) {
    throw new CompressionError(`snappy: produced ${sink.length - outputStart} bytes, preamble said ${expectedBytes}`);
  }
}

/** Decompresses raw snappy or xerial-framed snappy. */
export function snappyDecompress(data: Uint8Array, outputBytesMax: number): Buffer {
  const sink = new ByteSink(data.length * 2, outputBytesMax);
  if (!hasXerialMagic(data)) {
    decodeRaw(data, 0, data.length, sink);
    return sink.finish();
  }
  if (data.length < XERIAL_HEADER_BYTES) throw new CompressionError("snappy: truncated xerial header");
  const view = Buffer.from(data.buffer, data.byteOffset, data.length);
  let at = XERIAL_HEADER_BYTES;
  while (at < data.length) {
    if (at + 4 > data.length) throw new CompressionError("snappy: truncated xerial block length");
    const blockBytes = view.readInt32BE(at);
    at += 4;
    if (blockBytes < 0 || at + blockBytes > data.length) {
      throw new CompressionError(`snappy: xerial block of ${blockBytes} bytes runs past the end of the input`);
    }
    decodeRaw(data, at, at + blockBytes, sink);
    at += blockBytes;
  }
  return sink.finish();
}

class ByteWriter {
  at = 0;
  constructor(readonly buffer: Buffer) {}

  byte(value: number): void {
    this.buffer[this.at++] = value;
  }

  bytes(source: Uint8Array, start: number, end: number): void {
    this.buffer.set(source.subarray(start, end), this.at);
    this.at += end - start;
  }
}

function writeLiteral(out: ByteWriter, source: Uint8Array, start: number, end: number): void {
  if (start === end) return;
  const lengthMinusOne = end - start - 1;
  if (lengthMinusOne < 60) {
    out.byte(TAG_LITERAL | (lengthMinusOne << 2));
  } else {
    const extraBytes = lengthMinusOne < 0x100 ? 1 : lengthMinusOne < 0x10000 ? 2 : lengthMinusOne < 0x1000000 ? 3 : 4;
    out.byte(TAG_LITERAL | ((59 + extraBytes) << 2));
    for (let i = 0; i < extraBytes; i++) out.byte((lengthMinusOne >>> (8 * i)) & 0xff);
  }
  out.bytes(source, start, end);
}

function writeCopy(out: ByteWriter, distance: number, length: number): void {
  let remaining = length;
  while (remaining > 0) {
    // Copies of 4..11 bytes within 2 KiB have a 2-byte form; everything else uses the 3-byte form (1..64 bytes).
    if (remaining >= 4 && remaining <= 11 && distance < 2048) {
      out.byte(TAG_COPY_1 | ((remaining - 4) << 2) | ((distance >>> 8) << 5));
      out.byte(distance & 0xff);
      return;
    }
    const chunk = Math.min(remaining, 64);
    out.byte(TAG_COPY_2 | ((chunk - 1) << 2));
    out.byte(distance & 0xff);
    out.byte(distance >>> 8);
    remaining -= chunk;
  }
}

/** Compresses `data` into one raw snappy stream with a greedy single-candidate match finder. */
export function snappyCompressRaw(data: Uint8Array): Buffer {
  const length = data.length;
  const out = new ByteWriter(Buffer.allocUnsafe(32 + length + Math.ceil(length / 6)));
  let preamble = length;
  while (preamble >= 0x80) {
    out.byte((preamble & 0x7f) | 0x80);
    preamble = Math.floor(preamble / 128);
  }
  out.byte(preamble);
  const table = new Int32Array(1 << HASH_BITS).fill(-1);
  let literalStart = 0;
  let at = 0;
  while (at + 4 <= length) {
    const word = readUint32LE(data, at);
    const slot = Math.imul(word, 0x1e35a7bd) >>> (32 - HASH_BITS);
    const candidate = table[slot]!;
    table[slot] = at;
    if (candidate >= 0 && at - candidate <= MATCH_DISTANCE_MAX && readUint32LE(data, candidate) === word) {
      let matchLength = 4;
      while (at + matchLength < length && data[candidate + matchLength] === data[at + matchLength]) matchLength++;
      writeLiteral(out, data, literalStart, at);
      writeCopy(out, at - candidate, matchLength);
      at += matchLength;
      literalStart = at;
    } else {
      at++;
    }
  }
  writeLiteral(out, data, literalStart, length);
  return out.buffer.subarray(0, out.at);
}

/** Compresses `data` into xerial-framed snappy, the form Java clients expect. */
export function snappyCompress(data: Uint8Array): Buffer {
  const parts: Buffer[] = [XERIAL_MAGIC];
  const versions = Buffer.allocUnsafe(8);
  versions.writeInt32BE(XERIAL_VERSION, 0);
  versions.writeInt32BE(XERIAL_COMPATIBLE_VERSION, 4);
  parts.push(versions);
  for (let start = 0; start < data.length; start += XERIAL_BLOCK_BYTES) {
    const block = snappyCompressRaw(data.subarray(start, Math.min(start + XERIAL_BLOCK_BYTES, data.length)));
    const blockLength = Buffer.allocUnsafe(4);
    blockLength.writeInt32BE(block.length, 0);
    parts.push(blockLength, block);
  }
  return Buffer.concat(parts);
}
