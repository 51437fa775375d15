// The KIP-43 path: after SaslHandshake v0 the client sends its SASL tokens as bare length-prefixed frames, without
// Kafka request headers, and the server answers each with a length-prefixed token (empty ones included). There is
// no error response on this path: a failed exchange simply ends the connection.

import { SaslAuthenticationError } from "./errors.js";
import { expectsRawSaslToken, runSaslStep, SASL_FAILED, saslStateOf } from "./session.js";
import type { ConnectionInfo } from "../handlers/handler.js";

export { SaslAuthenticationError };

export interface SaslFrameResult {
  /** The token to write back, framed by a 4-byte length. */
  readonly response: Buffer;
  /** True once the user is authenticated: the frames that follow are Kafka requests again. */
  readonly done: boolean;
}

/**
 * Runs one step of the exchange for a raw token. Throws SaslAuthenticationError when authentication fails or no raw
 * exchange is in progress; the server then closes the connection without answering, as Kafka does.
 */
export function handleRawSaslToken(connection: ConnectionInfo, token: Buffer): SaslFrameResult {
  const state = saslStateOf(connection);
  if (state === null || connection.principal !== null || !expectsRawSaslToken(connection)) {
    connection.saslExchange = SASL_FAILED;
    throw new SaslAuthenticationError("A raw SASL token may only follow a successful SaslHandshake of version 0");
  }
  const { response, done } = runSaslStep(connection, state, token);
  return { response, done };
}
