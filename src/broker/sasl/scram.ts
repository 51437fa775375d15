// SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802, RFC 7677) the way Kafka runs them: two client tokens, no channel
// binding, no authorization id other than the user name, and no delegation tokens (the `tokenauth` extension is
// refused). A failed proof is reported as an error rather than a server-final `e=` message, because Kafka clients
// read the SaslAuthenticate error code. An unknown user gets a stable made-up salt and fails only at the proof, so
// the exchange does not reveal which user names exist.

import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { scramAuthMessage, xorBytes } from "../../kafka/protocol/sasl/scram.js";
import { SaslAuthenticationError } from "./errors.js";
import { SASL_TOKEN_BYTES_MAX, type SaslServerExchange, type SaslStepResult } from "./exchange.js";
import {
  decodeScramText,
  formatServerFinalMessage,
  formatServerFirstMessage,
  parseClientFinalMessage,
  parseClientFirstMessage,
  type ClientFirstMessage,
} from "./scram-messages.js";
import { hmac, SCRAM_DIGESTS, type SaslUserStore, type ScramCredential, type ScramMechanism } from "./user-store.js";

export const SCRAM_SERVER_NONCE_BYTES = 24;

export interface ScramSaslServerOptions {
  /** Produces the server's half of the nonce; random unless a test reproduces a published exchange. */
  readonly serverNonce?: () => string;
}

type ScramState =
  | { readonly phase: "client-first" }
  | {
      readonly phase: "client-final";
      readonly clientFirst: ClientFirstMessage;
      readonly serverFirst: string;
      readonly nonce: string;
      readonly credential: ScramCredential;
      readonly userKnown: boolean;
    }
  | { readonly phase: "finished" };

function defaultServerNonce(): string {
  return randomBytes(SCRAM_SERVER_NONCE_BYTES).toString("base64");
}

export class ScramSaslServer implements SaslServerExchange {
  private state: ScramState = { phase: "client-first" };
  private readonly serverNonce: () => string;

  constructor(
    readonly mechanism: ScramMechanism,
    private readonly users: SaslUserStore,
    options: ScramSaslServerOptions = {},
  ) {
    this.serverNonce = options.serverNonce ?? defaultServerNonce;
  }

  step(clientToken: Buffer): SaslStepResult {
    const state = this.state;
    // Any failure ends the exchange; only a successful first step moves it on to the client-final message.
    this.state = { phase: "finished" };
    if (state.phase === "finished") throw new SaslAuthenticationError(`The ${this.mechanism} exchange has finished`);
    if (clientToken.length > SASL_TOKEN_BYTES_MAX) {
      throw new SaslAuthenticationError(`Invalid SCRAM message: longer than ${SASL_TOKEN_BYTES_MAX} bytes`);
    }
    if (state.phase === "client-first") return this.answerClientFirst(clientToken);
    return this.answerClientFinal(clientToken, state);
  }

  private answerClientFirst(clientToken: Buffer): SaslStepResult {
    const clientFirst = parseClientFirstMessage(decodeScramText(clientToken, "client-first message"));
    if (clientFirst.authorizationId !== null && clientFirst.authorizationId !== clientFirst.username) {
      throw new SaslAuthenticationError(
        "Authentication failed: the authorization id must be empty or equal to the user name",
      );
    }
    if (clientFirst.extensions.get("tokenauth")?.toLowerCase() === "true") {
      throw new SaslAuthenticationError("Authentication failed: delegation tokens (tokenauth) are not supported");
    }
    const known = this.users.scramCredential(this.mechanism, clientFirst.username);
    const credential = known ?? this.users.absentUserScramCredential(this.mechanism, clientFirst.username);
    const nonce = clientFirst.clientNonce + this.serverNonce();
    const serverFirst = formatServerFirstMessage(nonce, credential.salt, credential.iterations);
    this.state = { phase: "client-final", clientFirst, serverFirst, nonce, credential, userKnown: known !== null };
    return { response: Buffer.from(serverFirst, "utf8"), done: false };
  }

  private answerClientFinal(
    clientToken: Buffer,
    state: Extract<ScramState, { phase: "client-final" }>,
  ): SaslStepResult {
    const { algorithm, bytes } = SCRAM_DIGESTS[this.mechanism];
    const clientFinal = parseClientFinalMessage(decodeScramText(clientToken, "client-final message"));
    if (!clientFinal.channelBinding.equals(Buffer.from(state.clientFirst.gs2Header, "utf8"))) {
      throw new SaslAuthenticationError("Invalid SCRAM client-final message: c= does not repeat the GS2 header");
    }
    if (clientFinal.nonce !== state.nonce) {
      throw new SaslAuthenticationError("Authentication failed: the nonce does not match the one the server sent");
    }
    if (clientFinal.proof.length !== bytes) {
      throw new SaslAuthenticationError(`Invalid SCRAM client-final message: the proof must be ${bytes} bytes`);
    }
    const authMessage = scramAuthMessage(state.clientFirst.bare, state.serverFirst, clientFinal.withoutProof);
    const clientSignature = hmac(algorithm, state.credential.storedKey, authMessage);
    const clientKey = xorBytes(clientFinal.proof, clientSignature);
    const proofMatches = timingSafeEqual(createHash(algorithm).update(clientKey).digest(), state.credential.storedKey);
    if (!proofMatches || !state.userKnown) {
      throw new SaslAuthenticationError("Authentication failed: invalid username or password");
    }
    const serverSignature = hmac(algorithm, state.credential.serverKey, authMessage);
    return {
      response: Buffer.from(formatServerFinalMessage(serverSignature), "utf8"),
      done: true,
      principal: state.clientFirst.username,
    };
  }
}
