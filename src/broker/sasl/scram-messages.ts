// Reading the client's two SCRAM messages of RFC 5802 section 7 on the broker's side; the server's two messages and
// the arithmetic are shared with Sluice's client in kafka/protocol/sasl/scram.ts. The parsers keep the exact text of
// the parts that enter the AuthMessage, because the signatures are computed over the bytes as sent, not over a
// re-encoding.

import { decodeSaslName as decodeEscapedName, decodeStrictBase64 } from "../../kafka/protocol/sasl/scram.js";
import { SaslAuthenticationError } from "./errors.js";

export { formatServerFinalMessage, formatServerFirstMessage } from "../../kafka/protocol/sasl/scram.js";

export interface ClientFirstMessage {
  /** The GS2 header as sent, including its trailing comma ("n,," or "y,," or "n,a=name,"). */
  readonly gs2Header: string;
  readonly authorizationId: string | null;
  readonly username: string;
  readonly clientNonce: string;
  readonly extensions: ReadonlyMap<string, string>;
  /** client-first-message-bare as sent. */
  readonly bare: string;
}

export interface ClientFinalMessage {
  readonly channelBinding: Buffer;
  readonly nonce: string;
  readonly proof: Buffer;
  /** client-final-message-without-proof as sent. */
  readonly withoutProof: string;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });
// RFC 5802 "printable": any ASCII from 0x21 to 0x7E except the comma.
const NONCE = /^[\x21-\x2b\x2d-\x7e]+$/;
const EXTENSION_NAME = /^[A-Za-z]+$/;

function invalid(what: string): SaslAuthenticationError {
  return new SaslAuthenticationError(`Invalid SCRAM ${what}`);
}

export function decodeScramText(token: Buffer, what: string): string {
  let text: string;
  try {
    text = utf8.decode(token);
  } catch {
    throw invalid(`${what}: not valid UTF-8`);
  }
  if (text.includes("\0")) throw invalid(`${what}: contains a NUL character`);
  return text;
}

/** Decodes a saslname, in which "," and "=" travel as "=2C" and "=3D" and no other "=" may appear. */
export function decodeSaslName(encoded: string, what: string): string {
  if (encoded.length === 0) throw invalid(`${what}: empty name`);
  const name = decodeEscapedName(encoded);
  if (name === null) throw invalid(`${what}: "=" must be escaped as =3D and "," as =2C`);
  return name;
}

function decodeBase64(value: string, what: string): Buffer {
  const bytes = decodeStrictBase64(value);
  if (bytes === null) throw invalid(`${what}: not valid base64`);
  return bytes;
}

function attribute(part: string | undefined, name: string, what: string): string {
  if (part === undefined || !part.startsWith(`${name}=`)) throw invalid(`${what}: expected the ${name}= attribute`);
  return part.slice(name.length + 1);
}

function parseExtensions(parts: readonly string[], what: string): Map<string, string> {
  const extensions = new Map<string, string>();
  for (const part of parts) {
    const equals = part.indexOf("=");
    const name = part.slice(0, equals);
    if (equals <= 0 || !EXTENSION_NAME.test(name) || equals === part.length - 1) {
      throw invalid(`${what}: malformed extension ${JSON.stringify(part)}`);
    }
    if (extensions.has(name)) throw invalid(`${what}: extension ${name} appears twice`);
    extensions.set(name, part.slice(equals + 1));
  }
  return extensions;
}

export function parseClientFirstMessage(text: string): ClientFirstMessage {
  const what = "client-first message";
  const flagEnd = text.indexOf(",");
  const authzidEnd = flagEnd < 0 ? -1 : text.indexOf(",", flagEnd + 1);
  if (authzidEnd < 0) throw invalid(`${what}: expected a GS2 header such as "n,,"`);
  const flag = text.slice(0, flagEnd);
  if (flag.startsWith("p=")) throw new SaslAuthenticationError("SCRAM channel binding is not supported");
  if (flag !== "n" && flag !== "y") throw invalid(`${what}: unknown channel binding flag ${JSON.stringify(flag)}`);
  const authzidPart = text.slice(flagEnd + 1, authzidEnd);
  const authorizationId = authzidPart === "" ? null : decodeSaslName(attribute(authzidPart, "a", what), what);

  const bare = text.slice(authzidEnd + 1);
  const parts = bare.split(",");
  if (parts[0]?.startsWith("m=")) throw new SaslAuthenticationError("SCRAM mandatory extensions are not supported");
  const username = decodeSaslName(attribute(parts[0], "n", what), what);
  const clientNonce = attribute(parts[1], "r", what);
  if (!NONCE.test(clientNonce)) throw invalid(`${what}: the nonce must be printable ASCII without commas`);
  return {
    gs2Header: text.slice(0, authzidEnd + 1),
    authorizationId,
    username,
    clientNonce,
    extensions: parseExtensions(parts.slice(2), what),
    bare,
  };
}

export function parseClientFinalMessage(text: string): ClientFinalMessage {
  const what = "client-final message";
  const proofStart = text.lastIndexOf(",p=");
  if (proofStart < 0) throw invalid(`${what}: expected the proof (p=) last`);
  const withoutProof = text.slice(0, proofStart);
  const parts = withoutProof.split(",");
  const channelBinding = decodeBase64(attribute(parts[0], "c", what), `${what} channel binding`);
  const nonce = attribute(parts[1], "r", what);
  parseExtensions(parts.slice(2), what);
  const proof = decodeBase64(text.slice(proofStart + 3), `${what} proof`);
  return { channelBinding, nonce, proof, withoutProof };
}
