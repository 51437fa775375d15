// The WebSocket gateway's JSON protocol: what a client may send (parsed and checked here, so that the rest of the
// gateway only sees well-formed requests), what the server sends back, and the close codes it ends connections with.

import { GatewayErrorCode } from "../errors.js";

export const DEFAULT_WEBSOCKET_PATH = "/ws";
/** The subprotocol the gateway speaks; a client that offers subprotocols must offer this one. */
export const SLUICE_SUBPROTOCOL = "sluice.v1";
/** A client may carry its token as the subprotocol `sluice.token.<JWT>`, since browsers cannot set headers. */
export const TOKEN_SUBPROTOCOL_PREFIX = "sluice.token.";

export const TOPIC_NAME_PATTERN = /^[A-Za-z0-9._-]{1,249}$/;
export const SUBSCRIPTION_KEY_CHARS_MAX = 1024;
export const REQUEST_ID_CHARS_MAX = 64;
export const TOKEN_CHARS_MAX = 8192;
/** Partitions one resume request may name; no topic the gateway serves has more. */
export const RESUME_PARTITIONS_MAX = 1024;
const PARTITION_KEY_PATTERN = /^(0|[1-9][0-9]{0,8})$/;

export const WebSocketCloseCode = {
  /** The gateway is shutting down; the client should reconnect (and resume) elsewhere or later. */
  GOING_AWAY: 1001,
  /** The client read too slowly and its send buffer passed the limit. */
  SEND_BUFFER_EXCEEDED: 4000,
  /** The token was refused. */
  UNAUTHORIZED: 4001,
  /** Authentication is required and the client did not authenticate in time. */
  AUTH_TIMEOUT: 4002,
} as const;

export const WebSocketCloseReason = {
  GOING_AWAY: "server shutting down",
  SEND_BUFFER_EXCEEDED: "send buffer exceeded",
  UNAUTHORIZED: "unauthorized",
  AUTH_TIMEOUT: "authentication timed out",
} as const;

/** Error codes of `{ "type": "error" }` messages, from the gateway's catalogue. */
export const WebSocketErrorCode = {
  INVALID_JSON: GatewayErrorCode.INVALID_JSON,
  VALIDATION_FAILED: GatewayErrorCode.VALIDATION_FAILED,
  UNAUTHORIZED: GatewayErrorCode.UNAUTHORIZED,
  FORBIDDEN: GatewayErrorCode.FORBIDDEN,
  NOT_FOUND: GatewayErrorCode.NOT_FOUND,
  UNAVAILABLE: GatewayErrorCode.UNAVAILABLE,
  INTERNAL: GatewayErrorCode.INTERNAL,
  LIMIT_EXCEEDED: GatewayErrorCode.LIMIT_EXCEEDED,
} as const;

export type WebSocketErrorCode = (typeof WebSocketErrorCode)[keyof typeof WebSocketErrorCode];

/** A client's own label for a request, echoed in the answer so that it can match the two. */
export type RequestId = string | number;

export interface SubscribeRequest {
  type: "subscribe";
  id: RequestId | null;
  topic: string;
  /** Only events with exactly this key; null for every event. */
  key: string | null;
  /** Per partition, the next offset the client wants (one past the last offset it saw). */
  resume: Map<number, number>;
}

export interface UnsubscribeRequest {
  type: "unsubscribe";
  id: RequestId | null;
  topic: string;
}

export interface AuthRequest {
  type: "auth";
  id: RequestId | null;
  token: string;
}

export type ClientRequest = SubscribeRequest | UnsubscribeRequest | AuthRequest;

/** A request the gateway refuses; it answers with an error message and keeps the connection. */
export class WebSocketRequestError extends Error {
  readonly code: WebSocketErrorCode;
  readonly field: string | undefined;
  readonly id: RequestId | null;
  readonly topic: string | undefined;

  constructor(
    code: WebSocketErrorCode,
    message: string,
    details: { field?: string; id?: RequestId | null; topic?: string } = {},
  ) {
    super(message);
    this.name = "WebSocketRequestError";
    this.code = code;
    this.field = details.field;
    this.id = details.id ?? null;
    this.topic = details.topic;
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function invalid(field: string, message: string, id: RequestId | null): WebSocketRequestError {
  return new WebSocketRequestError(WebSocketErrorCode.VALIDATION_FAILED, `${field} ${message}`, { field, id });
}

function readRequestId(message: Record<string, unknown>): RequestId | null {
  const id = message.id;
  if (id === undefined || id === null) return null;
  if (typeof id === "number" && Number.isFinite(id)) return id;
  if (typeof id === "string" && id.length <= REQUEST_ID_CHARS_MAX) return id;
  throw invalid("id", `must be a number or a string of at most ${REQUEST_ID_CHARS_MAX} characters`, null);
}

function readTopic(message: Record<string, unknown>, id: RequestId | null): string {
  const topic = message.topic;
  if (topic === undefined) throw invalid("topic", "is required", id);
  if (typeof topic !== "string" || !TOPIC_NAME_PATTERN.test(topic)) {
    throw invalid("topic", "must be 1 to 249 letters, digits, '.', '_' and '-'", id);
  }
  return topic;
}

function readKey(message: Record<string, unknown>, id: RequestId | null): string | null {
  const key = message.key;
  if (key === undefined || key === null) return null;
  if (typeof key !== "string" || key.length > SUBSCRIPTION_KEY_CHARS_MAX) {
    throw invalid("key", `must be a string of at most ${SUBSCRIPTION_KEY_CHARS_MAX} characters`, id);
  }
  return key;
}

/** Reads `{ "<partition>": <last offset seen> }` into the next offset wanted per partition; -1 means none seen. */
function readResume(message: Record<string, unknown>, id: RequestId | null): Map<number, number> {
  const resume = message.resume;
  const next = new Map<number, number>();
  if (resume === undefined || resume === null) return next;
  if (!isPlainObject(resume)) throw invalid("resume", "must be an object of partition to last offset seen", id);
  const entries = Object.entries(resume);
  if (entries.length > RESUME_PARTITIONS_MAX) {
    throw invalid("resume", `may name at most ${RESUME_PARTITIONS_MAX} partitions`, id);
  }
  for (const [partition, lastSeen] of entries) {
    if (!PARTITION_KEY_PATTERN.test(partition)) {
      throw invalid(`resume.${partition}`, "is not a partition number", id);
    }
    if (typeof lastSeen !== "number" || !Number.isSafeInteger(lastSeen) || lastSeen < -1) {
      throw invalid(`resume.${partition}`, "must be the last offset seen (an integer, or -1 for none)", id);
    }
    next.set(Number(partition), lastSeen + 1);
  }
  return next;
}

/** Parses one text message from a client; throws WebSocketRequestError saying what is wrong with it. */
export function parseClientRequest(text: string): ClientRequest {
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch {
    throw new WebSocketRequestError(WebSocketErrorCode.INVALID_JSON, "the message is not valid JSON");
  }
  if (!isPlainObject(message)) {
    throw new WebSocketRequestError(WebSocketErrorCode.VALIDATION_FAILED, "the message must be a JSON object", {
      field: "type",
    });
  }
  const id = readRequestId(message);
  switch (message.type) {
    case "subscribe":
      return {
        type: "subscribe",
        id,
        topic: readTopic(message, id),
        key: readKey(message, id),
        resume: readResume(message, id),
      };
    case "unsubscribe":
      return { type: "unsubscribe", id, topic: readTopic(message, id) };
    case "auth": {
      const token = message.token;
      if (typeof token !== "string" || token.length === 0 || token.length > TOKEN_CHARS_MAX) {
        throw invalid("token", `must be a non-empty string of at most ${TOKEN_CHARS_MAX} characters`, id);
      }
      return { type: "auth", id, token };
    }
    case undefined:
      throw invalid("type", "is required: subscribe, unsubscribe or auth", id);
    default:
      throw invalid("type", "must be subscribe, unsubscribe or auth", id);
  }
}

/** Picks the subprotocol to answer with and the token a client carried in its offered subprotocols, if any. */
export function readSubprotocols(offered: ReadonlySet<string>): { selected: string | null; token: string | null } {
  let token: string | null = null;
  let other: string | null = null;
  for (const protocol of offered) {
    if (protocol.startsWith(TOKEN_SUBPROTOCOL_PREFIX)) token ??= protocol.slice(TOKEN_SUBPROTOCOL_PREFIX.length);
    else other ??= protocol;
  }
  // The token subprotocol is never echoed back: the answer's headers end up in logs that should not hold tokens.
  const selected = offered.has(SLUICE_SUBPROTOCOL) ? SLUICE_SUBPROTOCOL : other;
  return { selected, token: token === "" ? null : token };
}

export interface WebSocketUser {
  userId: string;
  username: string;
  /** The roles the token grants (the gateway's tokens always carry the list, possibly empty). */
  roles?: readonly string[];
}

function withId(message: Record<string, unknown>, id: RequestId | null): string {
  return JSON.stringify(id === null ? message : { ...message, id });
}

export function welcomeMessage(user: WebSocketUser | null, authRequired: boolean): string {
  return JSON.stringify({ type: "welcome", user, authRequired });
}

export function authenticatedMessage(user: WebSocketUser, id: RequestId | null): string {
  return withId({ type: "authenticated", user }, id);
}

/** offsets: per partition, the next offset the client will receive on this subscription. */
export function subscribedMessage(
  topic: string,
  key: string | null,
  offsets: ReadonlyMap<number, number>,
  id: RequestId | null,
): string {
  const byPartition: Record<string, number> = {};
  for (const [partition, offset] of [...offsets].sort(([left], [right]) => left - right)) {
    byPartition[String(partition)] = offset;
  }
  return withId({ type: "subscribed", topic, key, offsets: byPartition }, id);
}

export function unsubscribedMessage(topic: string, id: RequestId | null): string {
  return withId({ type: "unsubscribed", topic }, id);
}

/** The error message for a refused request; id labels it when the error itself does not carry the request's id. */
export function errorMessage(error: WebSocketRequestError, id: RequestId | null = null): string {
  const body: Record<string, unknown> = { type: "error", code: error.code, message: error.message };
  if (error.field !== undefined) body.field = error.field;
  if (error.topic !== undefined) body.topic = error.topic;
  return withId(body, error.id ?? id);
}
