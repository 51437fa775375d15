// The contract every server-side SASL mechanism fulfils: it is fed the client's tokens one at a time and answers
// each with the server's token, until it reports the exchange done and names the authenticated user.

export interface SaslStepResult {
  /** The server's token; empty when the mechanism has nothing to say (PLAIN's success). */
  readonly response: Buffer;
  readonly done: boolean;
  /** The authenticated user, present exactly when done is true. */
  readonly principal?: string;
}

export interface SaslServerExchange {
  readonly mechanism: string;
  /** Consumes one client token. Throws SaslAuthenticationError for a failed or malformed exchange. */
  step(clientToken: Buffer): SaslStepResult;
}

/** The largest client token any mechanism accepts; Kafka's default for sasl.server.max.receive.size. */
export const SASL_TOKEN_BYTES_MAX = 512 * 1024;
