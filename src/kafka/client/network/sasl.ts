// The client's side of SASL: SaslHandshake v1 picks the mechanism, then each token travels in a SaslAuthenticate
// request (KIP-152). PLAIN sends one token; SCRAM-SHA-256/512 send two and check the server's signature, so a
// server that does not know the password cannot pass for the real one. The arithmetic and message texts are the
// ones the broker uses (kafka/protocol/sasl/scram.ts).

import { randomBytes, timingSafeEqual } from "node:crypto";
import {
  deriveScramKeys,
  formatClientFinalMessageWithoutProof,
  formatClientFirstMessageBare,
  hmac,
  parseServerFinalMessage,
  parseServerFirstMessage,
  SCRAM_DIGESTS,
  SCRAM_GS2_HEADER,
  SCRAM_ITERATIONS_MAX,
  SCRAM_ITERATIONS_MIN,
  ScramMessageError,
  scramAuthMessage,
  xorBytes,
  type ScramMechanism,
} from "../../protocol/sasl/scram.js";
import { ErrorCode } from "../../protocol/error-codes.js";
import { Api } from "../apis/definitions.js";
import { KafkaAuthenticationError, KafkaBrokerError } from "../errors.js";
import type { BrokerConnection } from "./connection.js";

export type SaslMechanism = "PLAIN" | ScramMechanism;

export const SASL_MECHANISMS: readonly SaslMechanism[] = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"];

export interface SaslOptions {
  readonly mechanism: SaslMechanism;
  readonly username: string;
  readonly password: string;
}

const SCRAM_CLIENT_NONCE_BYTES = 24;

export async function authenticate(connection: BrokerConnection, sasl: SaslOptions): Promise<void> {
  const handshake = await connection.request(Api.SaslHandshake, { mechanism: sasl.mechanism });
  if (handshake.errorCode === ErrorCode.UNSUPPORTED_SASL_MECHANISM) {
    throw new KafkaAuthenticationError(
      `${connection.address} does not enable SASL mechanism ${sasl.mechanism}; it enables ${handshake.mechanisms.join(", ") || "none"}`,
    );
  }
  if (handshake.errorCode !== ErrorCode.NONE) {
    throw new KafkaAuthenticationError(new KafkaBrokerError(handshake.errorCode, "SaslHandshake").message);
  }
  if (sasl.mechanism === "PLAIN") {
    await exchange(connection, Buffer.from(`\0${sasl.username}\0${sasl.password}`, "utf8"));
    return;
  }
  await scram(connection, sasl.mechanism, sasl.username, sasl.password);
}

/** Sends one token and returns the server's answer; a refusal becomes a KafkaAuthenticationError. */
async function exchange(connection: BrokerConnection, token: Buffer): Promise<Buffer> {
  const response = await connection.request(Api.SaslAuthenticate, { authBytes: token });
  if (response.errorCode !== ErrorCode.NONE) {
    const refusal = new KafkaBrokerError(response.errorCode, "SaslAuthenticate", response.errorMessage);
    throw new KafkaAuthenticationError(`${connection.address} refused the credentials: ${refusal.message}`);
  }
  return response.authBytes;
}

async function scram(
  connection: BrokerConnection,
  mechanism: ScramMechanism,
  username: string,
  password: string,
): Promise<void> {
  const clientNonce = randomBytes(SCRAM_CLIENT_NONCE_BYTES).toString("base64");
  const clientFirstBare = formatClientFirstMessageBare(username, clientNonce);
  try {
    const serverFirstText = (await exchange(connection, Buffer.from(SCRAM_GS2_HEADER + clientFirstBare))).toString();
    const serverFirst = parseServerFirstMessage(serverFirstText);
    if (!serverFirst.nonce.startsWith(clientNonce) || serverFirst.nonce.length === clientNonce.length) {
      throw new ScramMessageError("the server's nonce does not extend the client's");
    }
    if (serverFirst.iterations < SCRAM_ITERATIONS_MIN || serverFirst.iterations > SCRAM_ITERATIONS_MAX) {
      throw new ScramMessageError(
        `the server asks for ${serverFirst.iterations} iterations, outside ${SCRAM_ITERATIONS_MIN}–${SCRAM_ITERATIONS_MAX}`,
      );
    }
    const keys = deriveScramKeys(mechanism, password, serverFirst.salt, serverFirst.iterations);
    const withoutProof = formatClientFinalMessageWithoutProof(SCRAM_GS2_HEADER, serverFirst.nonce);
    const authMessage = scramAuthMessage(clientFirstBare, serverFirstText, withoutProof);
    const { algorithm } = SCRAM_DIGESTS[mechanism];
    const proof = xorBytes(keys.clientKey, hmac(algorithm, keys.storedKey, authMessage));
    const clientFinal = `${withoutProof},p=${proof.toString("base64")}`;
    const serverSignature = parseServerFinalMessage((await exchange(connection, Buffer.from(clientFinal))).toString());
    const expected = hmac(algorithm, keys.serverKey, authMessage);
    if (serverSignature.length !== expected.length || !timingSafeEqual(serverSignature, expected)) {
      throw new ScramMessageError("the server's signature is wrong: it does not know this user's password");
    }
  } catch (error) {
    if (error instanceof ScramMessageError) {
      throw new KafkaAuthenticationError(`${mechanism} with ${connection.address} failed: ${error.message}`, {
        cause: error,
      });
    }
    throw error;
  }
}
