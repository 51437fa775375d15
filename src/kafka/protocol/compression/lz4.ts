// LZ4 as Kafka uses it: the LZ4 frame format (magic 0x184D2204, a frame descriptor, size-prefixed blocks, an end
// mark). Decompression handles every frame option except dictionaries: dependent or independent blocks, block and
// content checksums, content size, skippable and concatenated frames. Compression writes independent 64 KiB blocks
// without checksums, as Kafka's Java client does, using a greedy single-candidate match finder.

import { ByteSink } from "./byte-sink.js";
import { CompressionError, UnsupportedCompressionError } from "./errors.js";
import { xxhash32 } from "./xxhash32.js";

const FRAME_MAGIC = 0x184d2204;
const SKIPPABLE_MAGIC_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC_BASE = 0x184d2a50;

const FLAG_VERSION_SHIFT = 6;
const FRAME_VERSION = 1;
const FLAG_BLOCK_INDEPENDENCE = 0x20;
const FLAG_BLOCK_CHECKSUM = 0x10;
const FLAG_CONTENT_SIZE = 0x08;
const FLAG_CONTENT_CHECKSUM = 0x04;
const FLAG_RESERVED = 0x02;
const FLAG_DICTIONARY_ID = 0x01;

const BLOCK_UNCOMPRESSED_BIT = 0x80000000;
const BLOCK_SIZE_IDS: Record<number, number> = { 4: 64 * 1024, 5: 256 * 1024, 6: 1024 * 1024, 7: 4 * 1024 * 1024 };
const WRITTEN_BLOCK_SIZE_ID = 4;
const WRITTEN_BLOCK_BYTES = BLOCK_SIZE_IDS[WRITTEN_BLOCK_SIZE_ID]!;

/** The last match must start this many bytes before the end of a block, and the last 5 bytes are literals. */
const MATCH_START_MARGIN_BYTES = 12;
const LAST_LITERAL_BYTES = 5;
const MIN_MATCH_BYTES = 4;
const MATCH_DISTANCE_MAX = 0xffff;
const HASH_BITS = 14;

function readUint32LE(data: Uint8Array, at: number): number {
  return (data[at]! | (data[at + 1]! << 8) | (data[at + 2]! << 16) | (data[at + 3]! << 24)) >>> 0;
}

/** Decodes one LZ4 block (`data[start, end)`), appending to `sink`; matches may reach into earlier output. */
export function lz4DecodeBlock(data: Uint8Array, start: number, end: number, sink: ByteSink): void {
  let at = start;
  while (at < end) {
    const token = data[at++]!;
    let literalLength = token >>> 4;
    if (literalLength === 15) {
      let byte: number;
      do {
        if (at >= end) throw new CompressionError("lz4: truncated literal length");
        byte = data[at++]!;
        literalLength += byte;
      } while (byte === 255);
    }
    if (at + literalLength > end) throw new CompressionError("lz4: literals run past the end of the block");
    sink.append(data, at, at + literalLength);
    at += literalLength;
    if (at === end) return;
    if (at + 2 > end) throw new CompressionError("lz4: truncated match offset");
    const distance = data[at]! | (data[at + 1]! << 8);
    at += 2;
    if (distance === 0) throw new CompressionError("lz4: match offset of zero");
    let matchLength = token & 15;
    if (matchLength === 15) {
      let byte: number;
      do {
        if (at >= end) throw new CompressionError("lz4: truncated match length");
        byte = data[at++]!;
        matchLength += byte;
      } while (byte === 255);
    }
    sink.appendBackReference(distance, matchLength + MIN_MATCH_BYTES);
  }
}

/** Decompresses one or more concatenated LZ4 frames. */
export function lz4Decompress(data: Uint8Array, outputBytesMax: number): Buffer {
  const sink = new ByteSink(data.length * 3, outputBytesMax);
  let at = 0;
  while (at < data.length) {
    if (at + 4 > data.length) throw new CompressionError("lz4: truncated frame magic");
    const magic = readUint32LE(data, at);
    at += 4;
    if ((magic & SKIPPABLE_MAGIC_MASK) >>> 0 === SKIPPABLE_MAGIC_BASE) {
      if (at + 4 > data.length) throw new CompressionError("lz4: truncated skippable frame");
      at += 4 + readUint32LE(data, at);
      if (at > data.length) throw new CompressionError("lz4: skippable frame runs past the end of the input");
      continue;
    }
    if (magic !== FRAME_MAGIC) throw new CompressionError(`lz4: bad frame magic 0x${magic.toString(16)}`);
    at = decodeFrame(data, at, sink);
  }
  return sink.finish();
}

/** Decodes a frame whose magic ends at `start`; returns the position after it. */
function decodeFrame(data: Uint8Array, start: number, sink: ByteSink): number {
  let at = start;
  if (at + 3 > data.length) throw new CompressionError("lz4: truncated frame descriptor");
  const flags = data[at]!;
  const blockDescriptor = data[at + 1]!;
  if (flags >>> FLAG_VERSION_SHIFT !== FRAME_VERSION) {
    throw new CompressionError(`lz4: unsupported frame version ${flags >>> FLAG_VERSION_SHIFT}`);
  }
  if (flags & FLAG_RESERVED || blockDescriptor & 0x8f) throw new CompressionError("lz4: reserved descriptor bits set");
  if (flags & FLAG_DICTIONARY_ID) throw new UnsupportedCompressionError("lz4: frames with a dictionary id");
  const blockBytesMax = BLOCK_SIZE_IDS[(blockDescriptor >>> 4) & 7];
  if (blockBytesMax === undefined) throw new CompressionError("lz4: invalid block maximum size");
  const hasBlockChecksum = (flags & FLAG_BLOCK_CHECKSUM) !== 0;
  const hasContentChecksum = (flags & FLAG_CONTENT_CHECKSUM) !== 0;
  const descriptorEnd = at + 2 + (flags & FLAG_CONTENT_SIZE ? 8 : 0);
  if (descriptorEnd + 1 > data.length) throw new CompressionError("lz4: truncated frame descriptor");
  let contentBytes: number | null = null;
  if (flags & FLAG_CONTENT_SIZE) contentBytes = readUint32LE(data, at + 2) + readUint32LE(data, at + 6) * 2 ** 32;
  const headerChecksum = (xxhash32(data, 0, at, descriptorEnd) >>> 8) & 0xff;
  if (headerChecksum !== data[descriptorEnd]) throw new CompressionError("lz4: frame descriptor checksum mismatch");
  at = descriptorEnd + 1;
  const frameOutputStart = sink.length;
  while (true) {
    if (at + 4 > data.length) throw new CompressionError("lz4: truncated block size (missing end mark)");
    const sizeField = readUint32LE(data, at);
    at += 4;
    if (sizeField === 0) break;
    const blockBytes = sizeField & ~BLOCK_UNCOMPRESSED_BIT;
    if (blockBytes > blockBytesMax) throw new CompressionError(`lz4: block of ${blockBytes} bytes exceeds the maximum`);
    const blockEnd = at + blockBytes;
    if (blockEnd + (hasBlockChecksum ? 4 : 0) > data.length) throw new CompressionError("lz4: truncated block");
    if (hasBlockChecksum && xxhash32(data, 0, at, blockEnd) !== readUint32LE(data, blockEnd)) {
      throw new CompressionError("lz4: block checksum mismatch");
    }
    const blockOutputStart = sink.length;
    if (sizeField & BLOCK_UNCOMPRESSED_BIT) sink.append(data, at, blockEnd);
    else lz4DecodeBlock(data, at, blockEnd, sink);
    if (sink.length - blockOutputStart > blockBytesMax) throw new CompressionError("lz4: block decodes too large");
    at = blockEnd + (hasBlockChecksum ? 4 : 0);
  }
  if (hasContentChecksum) {
    if (at + 4 > data.length) throw new CompressionError("lz4: truncated content checksum");
    if (xxhash32(sink.buffer, 0, frameOutputStart, sink.length) !== readUint32LE(data, at)) {
      throw new CompressionError("lz4: content checksum mismatch");
    }
    at += 4;
  }
  if (contentBytes !== null && contentBytes !== sink.length - frameOutputStart) {
    throw new CompressionError(`lz4: frame declared ${contentBytes} bytes but held ${sink.length - frameOutputStart}`);
  }
  return at;
}

function writeLength(out: Buffer, at: number, value: number): number {
  let remaining = value;
  let position = at;
  while (remaining >= 255) {
    out[position++] = 255;
    remaining -= 255;
  }
  out[position++] = remaining;
  return position;
}

function writeSequence(
  out: Buffer,
  at: number,
  source: Uint8Array,
  literalStart: number,
  literalEnd: number,
  distance: number,
  matchLength: number,
): number {
  const literalLength = literalEnd - literalStart;
  const matchCode = matchLength - MIN_MATCH_BYTES;
  let position = at;
  const tokenAt = position++;
  let token = 0;
  if (literalLength >= 15) {
    token = 15 << 4;
    position = writeLength(out, position, literalLength - 15);
  } else {
    token = literalLength << 4;
  }
  out.set(source.subarray(literalStart, literalEnd), position);
  position += literalLength;
  if (matchLength > 0) {
    out[position++] = distance & 0xff;
    out[position++] = distance >>> 8;
    if (matchCode >= 15) {
      token |= 15;
      position = writeLength(out, position, matchCode - 15);
    } else {
      token |= matchCode;
    }
  }
  out[tokenAt] = token;
  return position;
}

/** Compresses `data` into one LZ4 block. */
export function lz4CompressBlock(data: Uint8Array): Buffer {
  const length = data.length;
  const out = Buffer.allocUnsafe(length + Math.ceil(length / 255) + 16);
  let position = 0;
  let literalStart = 0;
  const matchStartLast = length - MATCH_START_MARGIN_BYTES;
  const matchEndMax = length - LAST_LITERAL_BYTES;
  const table = new Int32Array(1 << HASH_BITS).fill(-1);
  let at = 0;
  while (at <= matchStartLast) {
    const word = readUint32LE(data, at);
    const slot = Math.imul(word, 2654435761) >>> (32 - HASH_BITS);
    const candidate = table[slot]!;
    table[slot] = at;
    if (candidate >= 0 && at - candidate <= MATCH_DISTANCE_MAX && readUint32LE(data, candidate) === word) {
      let matchLength = MIN_MATCH_BYTES;
      while (at + matchLength < matchEndMax && data[candidate + matchLength] === data[at + matchLength]) matchLength++;
      position = writeSequence(out, position, data, literalStart, at, at - candidate, matchLength);
      at += matchLength;
      literalStart = at;
    } else {
      at++;
    }
  }
  position = writeSequence(out, position, data, literalStart, length, 0, 0);
  return out.subarray(0, position);
}

/** Compresses `data` into one LZ4 frame of independent 64 KiB blocks. */
export function lz4Compress(data: Uint8Array): Buffer {
  const parts: Buffer[] = [];
  const header = Buffer.allocUnsafe(7);
  header.writeUInt32LE(FRAME_MAGIC, 0);
  header[4] = (FRAME_VERSION << FLAG_VERSION_SHIFT) | FLAG_BLOCK_INDEPENDENCE;
  header[5] = WRITTEN_BLOCK_SIZE_ID << 4;
  header[6] = (xxhash32(header, 0, 4, 6) >>> 8) & 0xff;
  parts.push(header);
  for (let start = 0; start < data.length; start += WRITTEN_BLOCK_BYTES) {
    const block = data.subarray(start, Math.min(start + WRITTEN_BLOCK_BYTES, data.length));
    const compressed = lz4CompressBlock(block);
    const size = Buffer.allocUnsafe(4);
    if (compressed.length < block.length) {
      size.writeUInt32LE(compressed.length, 0);
      parts.push(size, compressed);
    } else {
      size.writeUInt32LE((block.length | BLOCK_UNCOMPRESSED_BIT) >>> 0, 0);
      parts.push(size, Buffer.from(block));
    }
  }
  parts.push(Buffer.alloc(4));
  return Buffer.concat(parts);
}
