// Kafka wire primitives: a growable writer and a bounds-checked reader. Every read that would run past the end
// throws ProtocolDecodeError, so a truncated or lying frame can never read another frame's bytes or crash a caller
// that catches that one error type.

const INT64_MAX = 9223372036854775807n;
const INT64_MIN = -9223372036854775808n;

export class ProtocolDecodeError extends Error {
  override name = "ProtocolDecodeError";
}

/** Converts a JS number to a signed 64-bit bigint, clamping values that rounding pushed past the int64 range. */
export function toInt64(value: number): bigint {
  if (!Number.isFinite(value)) return value > 0 ? INT64_MAX : INT64_MIN;
  const big = BigInt(Math.trunc(value));
  if (big > INT64_MAX) return INT64_MAX;
  if (big < INT64_MIN) return INT64_MIN;
  return big;
}

export class Writer {
  private buffer: Buffer;
  offset = 0;

  constructor(initialBytes = 256) {
    this.buffer = Buffer.allocUnsafe(initialBytes);
  }

  private ensure(bytes: number): void {
    const needed = this.offset + bytes;
    if (needed <= this.buffer.length) return;
    let size = this.buffer.length * 2;
    while (size < needed) size *= 2;
    const grown = Buffer.allocUnsafe(size);
    this.buffer.copy(grown, 0, 0, this.offset);
    this.buffer = grown;
  }

  /** The bytes written so far; a view, valid until the next write. */
  finish(): Buffer {
    return this.buffer.subarray(0, this.offset);
  }

  int8(value: number): this {
    this.ensure(1);
    this.buffer.writeInt8(value, this.offset);
    this.offset += 1;
    return this;
  }

  uint8(value: number): this {
    this.ensure(1);
    this.buffer[this.offset++] = value & 0xff;
    return this;
  }

  bool(value: boolean): this {
    return this.uint8(value ? 1 : 0);
  }

  int16(value: number): this {
    this.ensure(2);
    this.buffer.writeInt16BE(value, this.offset);
    this.offset += 2;
    return this;
  }

  uint16(value: number): this {
    this.ensure(2);
    this.buffer.writeUInt16BE(value, this.offset);
    this.offset += 2;
    return this;
  }

  int32(value: number): this {
    this.ensure(4);
    this.buffer.writeInt32BE(value, this.offset);
    this.offset += 4;
    return this;
  }

  uint32(value: number): this {
    this.ensure(4);
    this.buffer.writeUInt32BE(value >>> 0, this.offset);
    this.offset += 4;
    return this;
  }

  int64(value: number): this {
    this.ensure(8);
    if (Number.isSafeInteger(value)) {
      // Two 32-bit halves avoid a bigint allocation for the common case.
      const high = Math.floor(value / 0x100000000);
      const low = value - high * 0x100000000;
      this.buffer.writeInt32BE(high, this.offset);
      this.buffer.writeUInt32BE(low, this.offset + 4);
    } else {
      this.buffer.writeBigInt64BE(toInt64(value), this.offset);
    }
    this.offset += 8;
    return this;
  }

  float64(value: number): this {
    this.ensure(8);
    this.buffer.writeDoubleBE(value, this.offset);
    this.offset += 8;
    return this;
  }

  uvarint(value: number): this {
    this.ensure(5);
    let v = value >>> 0;
    while (v >= 0x80) {
      this.buffer[this.offset++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buffer[this.offset++] = v;
    return this;
  }

  varint(value: number): this {
    return this.uvarint(((value << 1) ^ (value >> 31)) >>> 0);
  }

  varlong(value: number): this {
    this.ensure(10);
    let v = toInt64(value);
    v = (v << 1n) ^ (v >> 63n);
    v = BigInt.asUintN(64, v);
    while (v >= 0x80n) {
      this.buffer[this.offset++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buffer[this.offset++] = Number(v);
    return this;
  }

  raw(bytes: Uint8Array): this {
    this.ensure(bytes.length);
    this.buffer.set(bytes, this.offset);
    this.offset += bytes.length;
    return this;
  }

  uuid(value: Buffer | null): this {
    this.ensure(16);
    if (value === null) this.buffer.fill(0, this.offset, this.offset + 16);
    else value.copy(this.buffer, this.offset, 0, 16);
    this.offset += 16;
    return this;
  }

  string(value: string | null, compact: boolean): this {
    if (value === null) return compact ? this.uvarint(0) : this.int16(-1);
    const length = Buffer.byteLength(value, "utf8");
    if (compact) this.uvarint(length + 1);
    else this.int16(length);
    this.ensure(length);
    this.buffer.write(value, this.offset, length, "utf8");
    this.offset += length;
    return this;
  }

  bytes(value: Uint8Array | null, compact: boolean): this {
    if (value === null) return compact ? this.uvarint(0) : this.int32(-1);
    if (compact) this.uvarint(value.length + 1);
    else this.int32(value.length);
    return this.raw(value);
  }

  arrayLength(length: number | null, compact: boolean): this {
    if (length === null) return compact ? this.uvarint(0) : this.int32(-1);
    return compact ? this.uvarint(length + 1) : this.int32(length);
  }

  /** Reserves 4 bytes and returns their position, for a size written after the content. */
  reserveInt32(): number {
    this.ensure(4);
    const at = this.offset;
    this.offset += 4;
    return at;
  }

  patchInt32(at: number, value: number): void {
    this.buffer.writeInt32BE(value, at);
  }
}

export class Reader {
  offset: number;

  constructor(
    readonly buffer: Buffer,
    offset = 0,
    readonly end = buffer.length,
  ) {
    this.offset = offset;
  }

  get remaining(): number {
    return this.end - this.offset;
  }

  private need(bytes: number): void {
    if (bytes < 0 || this.offset + bytes > this.end) {
      throw new ProtocolDecodeError(
        `truncated: needed ${bytes} bytes at offset ${this.offset}, have ${this.remaining}`,
      );
    }
  }

  int8(): number {
    this.need(1);
    return this.buffer.readInt8(this.offset++);
  }

  uint8(): number {
    this.need(1);
    return this.buffer[this.offset++]!;
  }

  bool(): boolean {
    return this.uint8() !== 0;
  }

  int16(): number {
    this.need(2);
    const value = this.buffer.readInt16BE(this.offset);
    this.offset += 2;
    return value;
  }

  uint16(): number {
    this.need(2);
    const value = this.buffer.readUInt16BE(this.offset);
    this.offset += 2;
    return value;
  }

  int32(): number {
    this.need(4);
    const value = this.buffer.readInt32BE(this.offset);
    this.offset += 4;
    return value;
  }

  uint32(): number {
    this.need(4);
    const value = this.buffer.readUInt32BE(this.offset);
    this.offset += 4;
    return value;
  }

  int64(): number {
    this.need(8);
    const high = this.buffer.readInt32BE(this.offset);
    const low = this.buffer.readUInt32BE(this.offset + 4);
    this.offset += 8;
    // Exact while |value| < 2^53; beyond that the nearest double, which only sentinel values reach.
    return high * 0x100000000 + low;
  }

  float64(): number {
    this.need(8);
    const value = this.buffer.readDoubleBE(this.offset);
    this.offset += 8;
    return value;
  }

  uvarint(): number {
    let result = 0;
    let shift = 0;
    for (let i = 0; i < 5; i++) {
      this.need(1);
      const byte = this.buffer[this.offset++]!;
      result |= (byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result >>> 0;
      shift += 7;
    }
    throw new ProtocolDecodeError(`unsigned varint longer than 5 bytes at offset ${this.offset}`);
  }

  varint(): number {
    const raw = this.uvarint();
    return (raw >>> 1) ^ -(raw & 1);
  }

  varlong(): number {
    // Most varlongs (timestamp deltas) are short: up to 7 bytes (49 bits) add up exactly in a double, no bigint.
    const start = this.offset;
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 7 && this.offset < this.end; i++) {
      const byte = this.buffer[this.offset++]!;
      value += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) return value % 2 === 0 ? value / 2 : -(value + 1) / 2;
      scale *= 0x80;
    }
    this.offset = start;
    return this.longVarlong();
  }

  private longVarlong(): number {
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      this.need(1);
      const byte = this.buffer[this.offset++]!;
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) {
        const signed = (result >> 1n) ^ -(result & 1n);
        return Number(BigInt.asIntN(64, signed));
      }
      shift += 7n;
    }
    throw new ProtocolDecodeError(`varlong longer than 10 bytes at offset ${this.offset}`);
  }

  /** A zero-copy view of the next `length` bytes. */
  raw(length: number): Buffer {
    this.need(length);
    const slice = this.buffer.subarray(this.offset, this.offset + length);
    this.offset += length;
    return slice;
  }

  skip(length: number): void {
    this.need(length);
    this.offset += length;
  }

  uuid(): Buffer {
    return Buffer.from(this.raw(16));
  }

  string(compact: boolean): string | null {
    const length = compact ? this.uvarint() - 1 : this.int16();
    if (length < 0) return null;
    this.need(length);
    const value = this.buffer.toString("utf8", this.offset, this.offset + length);
    this.offset += length;
    return value;
  }

  bytes(compact: boolean): Buffer | null {
    const length = compact ? this.uvarint() - 1 : this.int32();
    if (length < 0) return null;
    return this.raw(length);
  }

  /** An array's element count, or null; rejects counts that could not fit in the rest of the frame. */
  arrayLength(compact: boolean): number | null {
    const length = compact ? this.uvarint() - 1 : this.int32();
    if (length < 0) return null;
    // Every element takes at least one byte, so a larger count is a lie that would make us allocate wildly.
    if (length > this.remaining) {
      throw new ProtocolDecodeError(`array of ${length} elements cannot fit in ${this.remaining} remaining bytes`);
    }
    return length;
  }
}
