// The arithmetic and the message texts of SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802, RFC 7677) that both sides of a
// Kafka SASL exchange need: the broker verifies a client's proof with the same keys a client derives from its
// password, and both read and write the same four messages. Kept here, beside the wire codec, so that the broker and
// Sluice's own client share one implementation. Passwords are used as their UTF-8 bytes without SASLprep, as Kafka
// and its clients do.

import { createHash, createHmac, pbkdf2Sync } from "node:crypto";

export type ScramMechanism = "SCRAM-SHA-256" | "SCRAM-SHA-512";

export interface ScramDigest {
  readonly algorithm: "sha256" | "sha512";
  readonly bytes: number;
}

export const SCRAM_DIGESTS: Readonly<Record<ScramMechanism, ScramDigest>> = {
  "SCRAM-SHA-256": { algorithm: "sha256", bytes: 32 },
  "SCRAM-SHA-512": { algorithm: "sha512", bytes: 64 },
};

/** Kafka's minimum for SCRAM-SHA-256/512; clients refuse fewer, and so does Sluice's. */
export const SCRAM_ITERATIONS_MIN = 4096;
/** A server asking for more than this many PBKDF2 iterations would stall the client for seconds; refused. */
export const SCRAM_ITERATIONS_MAX = 1_000_000;

export function isScramMechanism(mechanism: string): mechanism is ScramMechanism {
  return mechanism === "SCRAM-SHA-256" || mechanism === "SCRAM-SHA-512";
}

export function hmac(algorithm: string, key: Buffer, data: Buffer | string): Buffer {
  return createHmac(algorithm, key).update(data).digest();
}

/** The keys RFC 5802 section 3 derives from a password: the client proves ClientKey, the server proves ServerKey. */
export interface ScramKeys {
  readonly clientKey: Buffer;
  readonly storedKey: Buffer;
  readonly serverKey: Buffer;
}

export function deriveScramKeys(
  mechanism: ScramMechanism,
  password: string,
  salt: Buffer,
  iterations: number,
): ScramKeys {
  const { algorithm, bytes } = SCRAM_DIGESTS[mechanism];
  const saltedPassword = pbkdf2Sync(Buffer.from(password, "utf8"), salt, iterations, bytes, algorithm);
  const clientKey = hmac(algorithm, saltedPassword, "Client Key");
  return {
    clientKey,
    storedKey: createHash(algorithm).update(clientKey).digest(),
    serverKey: hmac(algorithm, saltedPassword, "Server Key"),
  };
}

/** Byte-wise XOR of two equally long buffers: ClientProof = ClientKey XOR ClientSignature, and back. */
export function xorBytes(left: Buffer, right: Buffer): Buffer {
  if (left.length !== right.length) throw new RangeError(`cannot XOR ${left.length} bytes with ${right.length}`);
  const result = Buffer.alloc(left.length);
  for (let index = 0; index < left.length; index++) result[index] = left[index]! ^ right[index]!;
  return result;
}

/** The text both signatures are computed over, from the messages exactly as they were sent. */
export function scramAuthMessage(
  clientFirstBare: string,
  serverFirst: string,
  clientFinalWithoutProof: string,
): string {
  return `${clientFirstBare},${serverFirst},${clientFinalWithoutProof}`;
}

/** Encodes a saslname: "," and "=" travel as "=2C" and "=3D". */
export function encodeSaslName(name: string): string {
  return name.replaceAll("=", "=3D").replaceAll(",", "=2C");
}

/** Decodes a saslname, or returns null when an "=" is not one of the two escapes or the name is empty. */
export function decodeSaslName(encoded: string): string | null {
  if (encoded.length === 0 || /=(?!2C|3D)/.test(encoded)) return null;
  return encoded.replaceAll("=2C", ",").replaceAll("=3D", "=");
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Strict base64 (padding required, no whitespace), or null. */
export function decodeStrictBase64(value: string): Buffer | null {
  return BASE64.test(value) ? Buffer.from(value, "base64") : null;
}

export function formatServerFirstMessage(nonce: string, salt: Buffer, iterations: number): string {
  return `r=${nonce},s=${salt.toString("base64")},i=${iterations}`;
}

export function formatServerFinalMessage(serverSignature: Buffer): string {
  return `v=${serverSignature.toString("base64")}`;
}

/** The GS2 header Kafka clients send: no channel binding, no separate authorization id. */
export const SCRAM_GS2_HEADER = "n,,";

export function formatClientFirstMessageBare(username: string, clientNonce: string): string {
  return `n=${encodeSaslName(username)},r=${clientNonce}`;
}

export function formatClientFinalMessageWithoutProof(gs2Header: string, nonce: string): string {
  return `c=${Buffer.from(gs2Header, "utf8").toString("base64")},r=${nonce}`;
}

export interface ServerFirstMessage {
  readonly nonce: string;
  readonly salt: Buffer;
  readonly iterations: number;
}

/** What is wrong with a server's SCRAM message, in words for the person reading the client's error. */
export class ScramMessageError extends Error {
  override name = "ScramMessageError";
}

function attributeValue(part: string | undefined, name: string, what: string): string {
  if (part === undefined || !part.startsWith(`${name}=`)) {
    throw new ScramMessageError(`invalid SCRAM ${what}: expected the ${name}= attribute`);
  }
  return part.slice(name.length + 1);
}

/** Reads the server-first message; an "e=" error from the server is reported as its text. */
export function parseServerFirstMessage(text: string): ServerFirstMessage {
  const what = "server-first message";
  if (text.startsWith("e=")) throw new ScramMessageError(`the server refused the exchange: ${text.slice(2)}`);
  const parts = text.split(",");
  if (parts[0]?.startsWith("m=")) throw new ScramMessageError(`invalid SCRAM ${what}: mandatory extensions`);
  const nonce = attributeValue(parts[0], "r", what);
  const salt = decodeStrictBase64(attributeValue(parts[1], "s", what));
  if (salt === null || salt.length === 0) throw new ScramMessageError(`invalid SCRAM ${what}: the salt is not base64`);
  const iterationsText = attributeValue(parts[2], "i", what);
  const iterations = /^[0-9]{1,9}$/.test(iterationsText) ? Number(iterationsText) : NaN;
  if (!Number.isInteger(iterations)) {
    throw new ScramMessageError(`invalid SCRAM ${what}: the iteration count ${JSON.stringify(iterationsText)}`);
  }
  return { nonce, salt, iterations };
}

/** Reads the server-final message's signature; an "e=" error from the server is reported as its text. */
export function parseServerFinalMessage(text: string): Buffer {
  if (text.startsWith("e=")) throw new ScramMessageError(`the server refused the proof: ${text.slice(2)}`);
  const signature = decodeStrictBase64(attributeValue(text.split(",")[0], "v", "server-final message"));
  if (signature === null) throw new ScramMessageError("invalid SCRAM server-final message: v= is not base64");
  return signature;
}
