// A growable output buffer with a hard size limit, shared by the decompressors so a small compressed input can never
// make them allocate without bound.

import { CompressionError } from "./errors.js";

export class ByteSink {
  buffer: Buffer;
  length = 0;

  constructor(
    initialBytes: number,
    readonly bytesMax: number,
  ) {
    this.buffer = Buffer.allocUnsafe(Math.max(16, Math.min(initialBytes, bytesMax)));
  }

  /** Makes room for `bytes` more, failing once the total would pass the limit. */
  reserve(bytes: number): void {
    const needed = this.length + bytes;
    if (needed > this.bytesMax) {
      throw new CompressionError(`decompressed data exceeds the limit of ${this.bytesMax} bytes`);
    }
    if (needed <= this.buffer.length) return;
    let size = this.buffer.length * 2;
    while (size < needed) size *= 2;
    const grown = Buffer.allocUnsafe(Math.min(size, this.bytesMax));
    this.buffer.copy(grown, 0, 0, this.length);
    this.buffer = grown;
  }

  append(source: Uint8Array, start: number, end: number): void {
    this.reserve(end - start);
    this.buffer.set(source.subarray(start, end), this.length);
    this.length += end - start;
  }

  /** Appends `length` bytes copied from `distance` bytes back; the ranges may overlap, repeating a pattern. */
  appendBackReference(distance: number, length: number): void {
    if (distance <= 0 || distance > this.length) {
      throw new CompressionError(`back reference of distance ${distance} points before the start of the output`);
    }
    this.reserve(length);
    const buffer = this.buffer;
    let from = this.length - distance;
    let to = this.length;
    if (distance >= length) {
      buffer.copyWithin(to, from, from + length);
    } else {
      const end = to + length;
      while (to < end) buffer[to++] = buffer[from++]!;
    }
    this.length += length;
  }

  finish(): Buffer {
    return this.buffer.subarray(0, this.length);
  }
}
