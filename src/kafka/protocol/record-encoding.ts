// The records of a magic-2 batch written straight into one buffer: every record's size is worked out first (varint
// lengths are arithmetic, not trial writes), so the batch is allocated once and each key, value and header is copied
// once, with no per-record scratch buffer and no bigint for the timestamp delta. This runs for every record a
// producer sends.

/** The bytes an unsigned varint of `value` (0 ≤ value < 2^32) takes. */
function uvarintBytes(value: number): number {
  if (value < 0x80) return 1;
  if (value < 0x4000) return 2;
  if (value < 0x200000) return 3;
  if (value < 0x10000000) return 4;
  return 5;
}

/** Zigzag of a safe integer as a (non-negative) double: 0, -1, 1, -2 … become 0, 1, 2, 3 …. */
function zigzag(value: number): number {
  return value >= 0 ? value * 2 : -value * 2 - 1;
}

/** Above this magnitude a zigzag no longer fits a double exactly, so bigints do the rare remainder. */
const DOUBLE_ZIGZAG_MAX = 2 ** 52;

function bigZigzag(value: number): bigint {
  const big = BigInt(value);
  return BigInt.asUintN(64, (big << 1n) ^ (big >> 63n));
}

/** The bytes a signed varint or varlong of the safe integer `value` takes. */
export function signedVarBytes(value: number): number {
  if (Math.abs(value) >= DOUBLE_ZIGZAG_MAX) return Math.ceil(bigZigzag(value).toString(2).length / 7);
  let z = zigzag(value);
  if (z < 0x100000000) return uvarintBytes(z);
  let bytes = 1;
  while (z >= 0x80) {
    z = Math.floor(z / 0x80);
    bytes++;
  }
  return bytes;
}

/** Writes the signed varint or varlong of the safe integer `value` at `at`; returns where it ends. */
export function writeSignedVar(buf: Buffer, at: number, value: number): number {
  if (Math.abs(value) >= DOUBLE_ZIGZAG_MAX) {
    let big = bigZigzag(value);
    while (big >= 0x80n) {
      buf[at++] = Number(big & 0x7fn) | 0x80;
      big >>= 7n;
    }
    buf[at++] = Number(big);
    return at;
  }
  let z = zigzag(value);
  while (z >= 0x100000000) {
    buf[at++] = (z % 0x80) | 0x80;
    z = Math.floor(z / 0x80);
  }
  let small = z >>> 0;
  while (small >= 0x80) {
    buf[at++] = (small & 0x7f) | 0x80;
    small >>>= 7;
  }
  buf[at++] = small;
  return at;
}

export type RecordBytes = Uint8Array | string | null | undefined;

export interface EncodableRecord {
  readonly key?: RecordBytes;
  readonly value: RecordBytes;
  readonly headers?: ReadonlyArray<{ readonly key: string; readonly value: RecordBytes }>;
}

function fieldBytes(value: RecordBytes): number {
  if (value === null || value === undefined) return 1;
  const length = typeof value === "string" ? Buffer.byteLength(value) : value.length;
  return signedVarBytes(length) + length;
}

function writeField(buf: Buffer, at: number, value: RecordBytes): number {
  if (value === null || value === undefined) return writeSignedVar(buf, at, -1);
  if (typeof value === "string") {
    const length = Buffer.byteLength(value);
    at = writeSignedVar(buf, at, length);
    return at + buf.write(value, at, length, "utf8");
  }
  at = writeSignedVar(buf, at, value.length);
  buf.set(value, at);
  return at + value.length;
}

/** The bytes of one record after its length prefix. */
function recordBodyBytes(record: EncodableRecord, offsetDelta: number, timestampDelta: number): number {
  let bytes = 1 + signedVarBytes(timestampDelta) + signedVarBytes(offsetDelta);
  bytes += fieldBytes(record.key) + fieldBytes(record.value);
  const headers = record.headers;
  const headerCount = headers === undefined ? 0 : headers.length;
  bytes += signedVarBytes(headerCount);
  for (let h = 0; h < headerCount; h++) bytes += fieldBytes(headers![h]!.key) + fieldBytes(headers![h]!.value);
  return bytes;
}

/** The bytes the records take in a batch (length prefixes included); `timestampDeltas[i]` is record i's. */
export function recordsBytes(records: readonly EncodableRecord[], timestampDeltas: readonly number[]): number {
  let total = 0;
  for (let index = 0; index < records.length; index++) {
    const body = recordBodyBytes(records[index]!, index, timestampDeltas[index]!);
    total += signedVarBytes(body) + body;
  }
  return total;
}

/** Writes the records at `at` (exactly recordsBytes of them); returns where they end. */
export function writeRecords(
  buf: Buffer,
  at: number,
  records: readonly EncodableRecord[],
  timestampDeltas: readonly number[],
): number {
  for (let index = 0; index < records.length; index++) {
    const record = records[index]!;
    const timestampDelta = timestampDeltas[index]!;
    at = writeSignedVar(buf, at, recordBodyBytes(record, index, timestampDelta));
    buf[at++] = 0;
    at = writeSignedVar(buf, at, timestampDelta);
    at = writeSignedVar(buf, at, index);
    at = writeField(buf, at, record.key);
    at = writeField(buf, at, record.value);
    const headers = record.headers;
    const headerCount = headers === undefined ? 0 : headers.length;
    at = writeSignedVar(buf, at, headerCount);
    for (let h = 0; h < headerCount; h++) {
      at = writeField(buf, at, headers![h]!.key);
      at = writeField(buf, at, headers![h]!.value);
    }
  }
  return at;
}
