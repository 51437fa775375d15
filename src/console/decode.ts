// How a record's key and value are shown: JSON when the bytes parse as JSON, UTF-8 text when they are printable
// text, hex otherwise; Confluent's wire format (a zero byte and a four-byte schema id) is recognised, so its schema
// id is shown and the rest is decoded by the registry's schema when there is one. The raw bytes travel too (base64,
// cut at a limit), so the page can switch a value between the encodings without asking again.

export type PayloadEncoding = "json" | "text" | "hex" | "avro" | "json-schema" | "null";

export interface DecodedPayload {
  /** How `text` was made from the bytes. */
  readonly encoding: PayloadEncoding;
  /** The value for display: JSON or text as is, hex in pairs; null for a null payload. */
  readonly text: string | null;
  /** The bytes, base64, up to the display limit. */
  readonly base64: string | null;
  readonly bytes: number;
  /** True when the payload was longer than the display limit and `text`/`base64` hold its start only. */
  readonly truncated: boolean;
  /** The schema id of a Confluent wire-format payload. */
  readonly schemaId?: number;
}

/** Payloads longer than this are shown cut (the page says so). */
export const PAYLOAD_DISPLAY_BYTES_MAX = 64 * 1024;
const CONFLUENT_MAGIC = 0;
const CONFLUENT_HEADER_BYTES = 5;

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** The bytes as UTF-8 text when they are valid UTF-8 without control characters other than whitespace. */
export function printableText(bytes: Uint8Array): string | null {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return null;
  }
  // eslint-disable-next-line no-control-regex
  return /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(text) ? null : text;
}

function looksLikeJson(text: string): boolean {
  const first = text.trimStart()[0];
  if (first !== "{" && first !== "[" && first !== '"') return false;
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    .toString("hex")
    .replace(/(..)(?!$)/g, "$1 ");
}

/** The schema id of a Confluent wire-format payload, or null. */
export function confluentSchemaId(bytes: Buffer): number | null {
  if (bytes.length <= CONFLUENT_HEADER_BYTES || bytes[0] !== CONFLUENT_MAGIC) return null;
  return bytes.readUInt32BE(1);
}

/** Given a schema id and the payload after the wire-format header: its JSON text, or null when it cannot tell. */
export type SchemaDecoder = (
  schemaId: number,
  body: Buffer,
) => { readonly encoding: "avro" | "json-schema"; readonly text: string } | null;

export function decodePayload(
  bytes: Buffer | null,
  options: { schemaDecoder?: SchemaDecoder | null; bytesMax?: number } = {},
): DecodedPayload {
  if (bytes === null) return { encoding: "null", text: null, base64: null, bytes: 0, truncated: false };
  const bytesMax = options.bytesMax ?? PAYLOAD_DISPLAY_BYTES_MAX;
  const truncated = bytes.length > bytesMax;
  const shown = truncated ? bytes.subarray(0, bytesMax) : bytes;
  const base = { base64: shown.toString("base64"), bytes: bytes.length, truncated };
  const schemaId = confluentSchemaId(bytes);
  if (schemaId !== null && !truncated) {
    const body = bytes.subarray(CONFLUENT_HEADER_BYTES);
    const decoded = options.schemaDecoder?.(schemaId, body) ?? null;
    if (decoded !== null) return { ...decoded, ...base, schemaId };
    const jsonText = printableText(body);
    if (jsonText !== null && looksLikeJson(jsonText))
      return { encoding: "json-schema", text: jsonText, ...base, schemaId };
    return { encoding: "hex", text: toHex(shown), ...base, schemaId };
  }
  const text = printableText(shown);
  if (text === null) return { encoding: "hex", text: toHex(shown), ...base };
  return { encoding: !truncated && looksLikeJson(text) ? "json" : "text", text, ...base };
}
