// Result parsers that make both drivers return the same JavaScript values for the same column types: bigint
// columns as numbers (like the rest of Sluice, which keeps int64 as a JS number) and bytea columns as Buffers; and
// PGlite's serializer of bytea parameters.

export const BYTEA_OID = 17;
export const INT8_OID = 20;
export const INT8_ARRAY_OID = 1016;
export const BYTEA_ARRAY_OID = 1001;

/** Returns a number, or a BigInt for the values a number cannot hold exactly, so nothing is silently rounded. */
export function parseInt8(text: string): number | bigint {
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : BigInt(text);
}

/** Parses bytea in PostgreSQL's hex output format ("\x0a0b"), the default since PostgreSQL 9.0. */
export function parseByteaHex(text: string): Buffer {
  if (!text.startsWith("\\x")) {
    throw new Error(`bytea value is not in hex format (bytea_output must be "hex"): ${text.slice(0, 20)}`);
  }
  return Buffer.from(text.slice(2), "hex");
}

/**
 * Writes a bytea parameter in PostgreSQL's hex input format. PGlite's own serializer builds the hex one byte at a time
 * in JavaScript (an array and a string per byte), which cost the outbox's writers about a tenth of their CPU time;
 * Buffer's hex encoding does the same in one native call.
 */
export function serializeByteaHex(value: unknown): string {
  if (!(value instanceof Uint8Array)) throw new TypeError("a bytea parameter must be a Buffer or a Uint8Array");
  return `\\x${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("hex")}`;
}

/** Parses a one-dimensional int8[] literal such as {1,2,NULL}. */
export function parseInt8Array(text: string): (number | bigint | null)[] {
  const inner = text.slice(1, -1);
  if (inner === "") return [];
  return inner.split(",").map((item) => (item === "NULL" ? null : parseInt8(item)));
}

/** PGlite's parsers and serializers, the same in PGlite on the calling thread and in its worker thread. */
export const PGLITE_VALUE_TYPES = {
  parsers: { [INT8_OID]: parseInt8, [INT8_ARRAY_OID]: parseInt8Array, [BYTEA_OID]: parseByteaHex },
  serializers: { [BYTEA_OID]: serializeByteaHex },
};
