// The WebSocket gateway's settings: every limit with a named default, checked once when the gateway is attached.

import type { KafkaClient } from "../../toolkit/kafka/connection.js";
import { InvalidArgumentError } from "../../toolkit/errors.js";
import { silentLogger, type ToolkitLogger } from "../../toolkit/logger.js";
import { DEFAULT_WEBSOCKET_PATH, type WebSocketUser } from "./protocol.js";
import { defaultAllowTopic, type AllowTopic } from "./topic-access.js";
import { integerOption as declaredInteger, resolveInteger } from "../../platform/options.js";

/** Bytes waiting to be sent to one client before it counts as too slow and is closed. */
export const DEFAULT_WS_SEND_BUFFER_BYTES_MAX = 1024 * 1024;
export const DEFAULT_WS_SUBSCRIPTIONS_PER_CONNECTION_MAX = 32;
export const DEFAULT_WS_CONNECTIONS_MAX = 10_000;
/** Largest message a client may send; requests are small JSON objects. */
export const DEFAULT_WS_CLIENT_MESSAGE_BYTES_MAX = 16 * 1024;
/** Requests of one client waiting to be handled (they are handled in order, one at a time). */
export const DEFAULT_WS_PENDING_REQUESTS_PER_CONNECTION_MAX = 64;
/** Topics read at once for subscribers; each costs a consumer and its recent events. */
export const DEFAULT_WS_TOPICS_MAX = 64;
export const DEFAULT_WS_RECENT_EVENTS_PER_TOPIC_MAX = 1_000;
export const DEFAULT_WS_RECENT_BYTES_PER_TOPIC_MAX = 2 * 1024 * 1024;
/** Resumes reaching further back than the recent events, replayed at once across all connections. */
export const DEFAULT_WS_RESUME_READERS_MAX = 8;
export const DEFAULT_WS_RESUME_TIMEOUT_MS = 30_000;
/** How long a topic nobody subscribes to any more keeps being read (and its recent events kept) for resumes. */
export const DEFAULT_WS_TOPIC_IDLE_MS = 5 * 60_000;
/** How long starting to read a topic may take before the subscribe is answered SLUICE_UNAVAILABLE. */
export const DEFAULT_WS_TOPIC_OPEN_TIMEOUT_MS = 10_000;
export const DEFAULT_WS_AUTH_TIMEOUT_MS = 10_000;
export const DEFAULT_WS_PING_INTERVAL_MS = 30_000;
/** After a slow client is sent its close frame, how long it has to read up to it before the socket is dropped. */
export const DEFAULT_WS_SLOW_CLIENT_CLOSE_GRACE_MS = 5_000;
/** How long close() waits for clients to answer the close handshake. */
export const DEFAULT_WS_CLOSE_TIMEOUT_MS = 2_000;
/** How long a fetch waits for new events; it also bounds how long stopping a reader waits. */
export const DEFAULT_WS_FETCH_WAIT_MS = 500;
export const DEFAULT_WS_PARTITION_FETCH_BYTES_MAX = 1024 * 1024;

export interface WebSocketGatewayOptions {
  /** The toolkit's Kafka client; the gateway reads topics through it. */
  kafka: KafkaClient;
  /** Default "/ws". */
  path?: string;
  /** Checks a token (from `?token=`, the `sluice.token.<JWT>` subprotocol or an auth message). */
  verifyToken?: (token: string) => Promise<WebSocketUser>;
  /** When true, a connection must authenticate before it may subscribe. Needs verifyToken. */
  authRequired?: boolean;
  /**
   * Which topics a user (null when anonymous) may subscribe to, with which key (null: every key); default: any topic
   * not starting with "__". topicAccessCheck() builds one from declarations (LiveTopic).
   */
  allowTopic?: AllowTopic;
  sendBufferBytesMax?: number;
  subscriptionsPerConnectionMax?: number;
  connectionsMax?: number;
  clientMessageBytesMax?: number;
  pendingRequestsPerConnectionMax?: number;
  topicsMax?: number;
  recentEventsPerTopicMax?: number;
  recentBytesPerTopicMax?: number;
  resumeReadersMax?: number;
  resumeTimeoutMs?: number;
  topicIdleMs?: number;
  topicOpenTimeoutMs?: number;
  authTimeoutMs?: number;
  pingIntervalMs?: number;
  slowClientCloseGraceMs?: number;
  closeTimeoutMs?: number;
  fetchWaitMs?: number;
  partitionFetchBytesMax?: number;
  logger?: ToolkitLogger;
}

export interface ResolvedWebSocketOptions {
  kafka: KafkaClient;
  path: string;
  verifyToken: ((token: string) => Promise<WebSocketUser>) | null;
  authRequired: boolean;
  allowTopic: AllowTopic;
  sendBufferBytesMax: number;
  subscriptionsPerConnectionMax: number;
  connectionsMax: number;
  clientMessageBytesMax: number;
  pendingRequestsPerConnectionMax: number;
  topicsMax: number;
  recentEventsPerTopicMax: number;
  recentBytesPerTopicMax: number;
  resumeReadersMax: number;
  resumeTimeoutMs: number;
  topicIdleMs: number;
  topicOpenTimeoutMs: number;
  authTimeoutMs: number;
  pingIntervalMs: number;
  slowClientCloseGraceMs: number;
  closeTimeoutMs: number;
  fetchWaitMs: number;
  partitionFetchBytesMax: number;
  logger: ToolkitLogger;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const GIB = 1024 * 1024 * 1024;

function integer(field: string, value: number | undefined, fallback: number, min: number, max: number): number {
  return resolveInteger(
    field,
    value,
    declaredInteger(fallback, min, max),
    (field, message) => new InvalidArgumentError(field, message),
  );
}

export function resolveWebSocketOptions(options: WebSocketGatewayOptions): ResolvedWebSocketOptions {
  if (typeof options?.kafka?.raw !== "function") {
    throw new InvalidArgumentError("kafka", "must be the toolkit's Kafka client (createKafkaClient)");
  }
  const path = options.path ?? DEFAULT_WEBSOCKET_PATH;
  if (typeof path !== "string" || !/^\/[A-Za-z0-9._~/-]*$/.test(path)) {
    throw new InvalidArgumentError("path", `must be a URL path such as ${DEFAULT_WEBSOCKET_PATH}`);
  }
  const authRequired = options.authRequired ?? false;
  if (authRequired && options.verifyToken === undefined) {
    throw new InvalidArgumentError("authRequired", "needs verifyToken, to check the tokens clients present");
  }
  const fetchWaitMs = integer("fetchWaitMs", options.fetchWaitMs, DEFAULT_WS_FETCH_WAIT_MS, 1, 60_000);
  return {
    kafka: options.kafka,
    path,
    verifyToken: options.verifyToken ?? null,
    authRequired,
    allowTopic: options.allowTopic ?? defaultAllowTopic,
    sendBufferBytesMax: integer(
      "sendBufferBytesMax",
      options.sendBufferBytesMax,
      DEFAULT_WS_SEND_BUFFER_BYTES_MAX,
      1024,
      GIB,
    ),
    subscriptionsPerConnectionMax: integer(
      "subscriptionsPerConnectionMax",
      options.subscriptionsPerConnectionMax,
      DEFAULT_WS_SUBSCRIPTIONS_PER_CONNECTION_MAX,
      1,
      10_000,
    ),
    connectionsMax: integer("connectionsMax", options.connectionsMax, DEFAULT_WS_CONNECTIONS_MAX, 1, 10_000_000),
    clientMessageBytesMax: integer(
      "clientMessageBytesMax",
      options.clientMessageBytesMax,
      DEFAULT_WS_CLIENT_MESSAGE_BYTES_MAX,
      256,
      16 * 1024 * 1024,
    ),
    pendingRequestsPerConnectionMax: integer(
      "pendingRequestsPerConnectionMax",
      options.pendingRequestsPerConnectionMax,
      DEFAULT_WS_PENDING_REQUESTS_PER_CONNECTION_MAX,
      1,
      100_000,
    ),
    topicsMax: integer("topicsMax", options.topicsMax, DEFAULT_WS_TOPICS_MAX, 1, 100_000),
    recentEventsPerTopicMax: integer(
      "recentEventsPerTopicMax",
      options.recentEventsPerTopicMax,
      DEFAULT_WS_RECENT_EVENTS_PER_TOPIC_MAX,
      1,
      10_000_000,
    ),
    recentBytesPerTopicMax: integer(
      "recentBytesPerTopicMax",
      options.recentBytesPerTopicMax,
      DEFAULT_WS_RECENT_BYTES_PER_TOPIC_MAX,
      1,
      GIB,
    ),
    resumeReadersMax: integer("resumeReadersMax", options.resumeReadersMax, DEFAULT_WS_RESUME_READERS_MAX, 0, 10_000),
    resumeTimeoutMs: integer("resumeTimeoutMs", options.resumeTimeoutMs, DEFAULT_WS_RESUME_TIMEOUT_MS, 1, DAY_MS),
    topicIdleMs: integer("topicIdleMs", options.topicIdleMs, DEFAULT_WS_TOPIC_IDLE_MS, 0, DAY_MS),
    topicOpenTimeoutMs: integer(
      "topicOpenTimeoutMs",
      options.topicOpenTimeoutMs,
      DEFAULT_WS_TOPIC_OPEN_TIMEOUT_MS,
      1,
      DAY_MS,
    ),
    authTimeoutMs: integer("authTimeoutMs", options.authTimeoutMs, DEFAULT_WS_AUTH_TIMEOUT_MS, 1, DAY_MS),
    pingIntervalMs: integer("pingIntervalMs", options.pingIntervalMs, DEFAULT_WS_PING_INTERVAL_MS, 1, DAY_MS),
    slowClientCloseGraceMs: integer(
      "slowClientCloseGraceMs",
      options.slowClientCloseGraceMs,
      DEFAULT_WS_SLOW_CLIENT_CLOSE_GRACE_MS,
      0,
      DAY_MS,
    ),
    closeTimeoutMs: integer("closeTimeoutMs", options.closeTimeoutMs, DEFAULT_WS_CLOSE_TIMEOUT_MS, 0, DAY_MS),
    fetchWaitMs,
    partitionFetchBytesMax: integer(
      "partitionFetchBytesMax",
      options.partitionFetchBytesMax,
      DEFAULT_WS_PARTITION_FETCH_BYTES_MAX,
      1024,
      GIB,
    ),
    logger: options.logger ?? silentLogger,
  };
}
