// Helpers for the SASL tests: a seeded byte source, an RFC 5802 client computed independently of the server with
// node:crypto, and a fresh connection record like the one the server keeps.

import { createHash, createHmac, pbkdf2Sync } from "node:crypto";
import type { ConnectionInfo } from "../../../src/broker/handlers/handler.js";

/** A reproducible byte source (mulberry32), so failures replay with the same salts and nonces. */
export function seededRandomBytes(seed: number): (size: number) => Buffer {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return (value ^ (value >>> 14)) >>> 0;
  };
  return (size) => {
    const bytes = Buffer.alloc(size);
    for (let index = 0; index < size; index++) bytes[index] = next() & 0xff;
    return bytes;
  };
}

export function newConnection(id = 1): ConnectionInfo {
  return {
    id,
    remoteAddress: "127.0.0.1:50000",
    clientId: "test",
    principal: null,
    saslMechanism: null,
    saslExchange: null,
  };
}

export type ScramAlgorithm = "sha1" | "sha256" | "sha512";

const DIGEST_BYTES: Record<ScramAlgorithm, number> = { sha1: 20, sha256: 32, sha512: 64 };

function escapeSaslName(name: string): string {
  return name.replaceAll("=", "=3D").replaceAll(",", "=2C");
}

function attributes(message: string): Map<string, string> {
  return new Map(
    message.split(",").map((part) => [part.slice(0, part.indexOf("=")), part.slice(part.indexOf("=") + 1)]),
  );
}

/** The client side of RFC 5802 section 3, written from the RFC for these tests. */
export class ScramTestClient {
  private serverSignature: string | null = null;

  constructor(
    readonly algorithm: ScramAlgorithm,
    readonly username: string,
    readonly password: string,
    readonly clientNonce: string,
    readonly gs2Header = "n,,",
  ) {}

  get clientFirstBare(): string {
    return `n=${escapeSaslName(this.username)},r=${this.clientNonce}`;
  }

  clientFirst(): string {
    return this.gs2Header + this.clientFirstBare;
  }

  /** The client-final message for a server-first message, with the proof computed from the password. */
  clientFinal(serverFirst: string, options: { nonce?: string } = {}): string {
    const fields = attributes(serverFirst);
    const nonce = options.nonce ?? fields.get("r") ?? "";
    const salt = Buffer.from(fields.get("s") ?? "", "base64");
    const iterations = Number(fields.get("i"));
    const saltedPassword = pbkdf2Sync(this.password, salt, iterations, DIGEST_BYTES[this.algorithm], this.algorithm);
    const clientKey = createHmac(this.algorithm, saltedPassword).update("Client Key").digest();
    const storedKey = createHash(this.algorithm).update(clientKey).digest();
    const withoutProof = `c=${Buffer.from(this.gs2Header).toString("base64")},r=${nonce}`;
    const authMessage = `${this.clientFirstBare},${serverFirst},${withoutProof}`;
    const clientSignature = createHmac(this.algorithm, storedKey).update(authMessage).digest();
    const proof = Buffer.from(clientKey.map((byte, index) => byte ^ clientSignature[index]!));
    const serverKey = createHmac(this.algorithm, saltedPassword).update("Server Key").digest();
    this.serverSignature = createHmac(this.algorithm, serverKey).update(authMessage).digest("base64");
    return `${withoutProof},p=${proof.toString("base64")}`;
  }

  /** The server-final message a server holding the right password must send for the last clientFinal(). */
  expectedServerFinal(): string {
    if (this.serverSignature === null) throw new Error("clientFinal() has not run");
    return `v=${this.serverSignature}`;
  }
}
