// SASL on one connection, following Kafka's server: SaslHandshake picks a mechanism, then the client's tokens
// arrive either in SaslAuthenticate requests (handshake v1, KIP-152) or as raw length-prefixed frames without Kafka
// headers (handshake v0, KIP-43; see raw.ts), until the mechanism names the user. Any failure before authentication
// ends the connection once its response has been sent, as Kafka does; a handshake or authenticate request after
// success is answered with ILLEGAL_SASL_STATE and the connection stays open. The state lives in the connection's
// saslExchange.

import { ErrorCode } from "../../kafka/protocol/error-codes.js";
import type { SaslAuthenticateResponse, SaslHandshakeResponse } from "../../kafka/protocol/messages/index.js";
import type { ConnectionInfo } from "../handlers/handler.js";
import { SaslAuthenticationError } from "./errors.js";
import type { SaslServerExchange, SaslStepResult } from "./exchange.js";
import { createSaslServer, type SaslServerOptions } from "./mechanisms.js";
import type { SaslUserStore } from "./user-store.js";

export const API_KEY_SASL_HANDSHAKE = 17;
export const API_KEY_API_VERSIONS = 18;
export const API_KEY_SASL_AUTHENTICATE = 36;

/** The only requests a connection may send before it has authenticated, when SASL is on. */
export const PRE_AUTHENTICATION_API_KEYS: ReadonlySet<number> = new Set([
  API_KEY_API_VERSIONS,
  API_KEY_SASL_HANDSHAKE,
  API_KEY_SASL_AUTHENTICATE,
]);

/** 0 tells clients the session never expires, so they never re-authenticate (KIP-368). */
const SESSION_LIFETIME_MS = 0;

export type SaslTokenFraming = "raw" | "sasl-authenticate";

export class SaslConnectionState {
  constructor(
    readonly phase: "authenticating" | "authenticated" | "failed",
    readonly exchange: SaslServerExchange | null = null,
    readonly framing: SaslTokenFraming | null = null,
  ) {}
}

export const SASL_FAILED = new SaslConnectionState("failed");
const AUTHENTICATED = new SaslConnectionState("authenticated");

export function saslStateOf(connection: ConnectionInfo): SaslConnectionState | null {
  return connection.saslExchange instanceof SaslConnectionState ? connection.saslExchange : null;
}

/** True when the connection may send only ApiVersions, SaslHandshake and SaslAuthenticate until it authenticates. */
export function needsAuthentication(users: SaslUserStore | null, connection: ConnectionInfo): boolean {
  return users !== null && connection.principal === null;
}

export function isAllowedBeforeAuthentication(apiKey: number): boolean {
  return PRE_AUTHENTICATION_API_KEYS.has(apiKey);
}

/** True after a SaslHandshake v0 succeeded and until the exchange ends: the next frames are raw SASL tokens. */
export function expectsRawSaslToken(connection: ConnectionInfo): boolean {
  const state = saslStateOf(connection);
  return state !== null && state.phase === "authenticating" && state.framing === "raw";
}

/** True when the response just produced for this connection is its last: the server sends it, then closes. */
export function mustCloseAfterResponse(connection: ConnectionInfo): boolean {
  return saslStateOf(connection)?.phase === "failed";
}

export function saslHandshake(
  connection: ConnectionInfo,
  users: SaslUserStore | null,
  mechanism: string,
  apiVersion: number,
  options: SaslServerOptions = {},
): SaslHandshakeResponse {
  const enabled = users === null ? [] : [...users.mechanisms];
  if (connection.principal !== null) return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, mechanisms: enabled };
  if (saslStateOf(connection) !== null) {
    connection.saslExchange = SASL_FAILED;
    return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, mechanisms: enabled };
  }
  if (users === null || !users.isEnabled(mechanism)) {
    connection.saslExchange = SASL_FAILED;
    return { errorCode: ErrorCode.UNSUPPORTED_SASL_MECHANISM, mechanisms: enabled };
  }
  const framing: SaslTokenFraming = apiVersion === 0 ? "raw" : "sasl-authenticate";
  connection.saslMechanism = mechanism;
  connection.saslExchange = new SaslConnectionState(
    "authenticating",
    createSaslServer(mechanism, users, options),
    framing,
  );
  return { errorCode: ErrorCode.NONE, mechanisms: enabled };
}

function authenticationFailure(errorCode: number, message: string): SaslAuthenticateResponse {
  return { errorCode, errorMessage: message, authBytes: Buffer.alloc(0), sessionLifetimeMs: SESSION_LIFETIME_MS };
}

/** Runs one step of the exchange for a token that came in a SaslAuthenticate request. */
export function saslAuthenticate(connection: ConnectionInfo, authBytes: Buffer): SaslAuthenticateResponse {
  if (connection.principal !== null) {
    return authenticationFailure(
      ErrorCode.ILLEGAL_SASL_STATE,
      "SaslAuthenticate request received after successful authentication",
    );
  }
  const state = saslStateOf(connection);
  if (state === null || state.phase !== "authenticating" || state.framing !== "sasl-authenticate") {
    connection.saslExchange = SASL_FAILED;
    return authenticationFailure(
      ErrorCode.ILLEGAL_SASL_STATE,
      "SaslAuthenticate must follow a successful SaslHandshake of version 1",
    );
  }
  try {
    const { response } = runSaslStep(connection, state, authBytes);
    return {
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      authBytes: response,
      sessionLifetimeMs: SESSION_LIFETIME_MS,
    };
  } catch (error) {
    if (!(error instanceof SaslAuthenticationError)) throw error;
    return authenticationFailure(ErrorCode.SASL_AUTHENTICATION_FAILED, error.message);
  }
}

/** Feeds one client token to the connection's exchange; on failure the connection is marked to be closed. */
export function runSaslStep(connection: ConnectionInfo, state: SaslConnectionState, token: Buffer): SaslStepResult {
  const exchange = state.exchange;
  let result: SaslStepResult;
  try {
    if (exchange === null) throw new SaslAuthenticationError("No SASL exchange is in progress");
    result = exchange.step(token);
  } catch (error) {
    connection.saslExchange = SASL_FAILED;
    throw error;
  }
  if (result.done) {
    if (result.principal === undefined) throw new Error(`SASL ${exchange.mechanism} finished without naming a user`);
    connection.principal = result.principal;
    connection.saslExchange = AUTHENTICATED;
  }
  return result;
}
