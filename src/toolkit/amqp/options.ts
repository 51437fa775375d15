// The AMQP transport's settings: what a caller may set, their defaults and limits, and the URL they connect to.

import { integerOption, resolveIntegers } from "../../platform/options.js";
import { ToolkitError, ToolkitErrorCode } from "../errors.js";
import type { ToolkitLogger } from "../logger.js";

export const DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672";
/**
 * Unacknowledged messages RabbitMQ hands one consumer channel (one queue of a group) before it waits for acks. The
 * consumer acknowledges only after a batch's transaction commits, so the window must cover the batches in progress
 * too; at 256 its lanes' batches were small, and each event cost a third more CPU (RabbitMQ, PostgreSQL and the
 * process together) than at 1,024. Larger windows gained nothing more.
 */
export const DEFAULT_AMQP_PREFETCH = 1_024;
export const AMQP_PREFETCH_MAX = 65_535;
/** Quorum queues are replicated and survive a node's loss; classic queues are faster on a single node. */
export const DEFAULT_AMQP_QUEUE_TYPE = "quorum";
export const DEFAULT_AMQP_RECONNECT_BASE_MS = 100;
export const DEFAULT_AMQP_RECONNECT_MAX_MS = 5_000;
/** A consumer that lost its connection tries this often (with backoff) before it reports itself crashed. */
export const DEFAULT_AMQP_RECONNECT_ATTEMPTS_MAX = 120;
/** How long a publish waits for RabbitMQ's confirm before the send fails (and the outbox row is retried). */
export const DEFAULT_AMQP_CONFIRM_TIMEOUT_MS = 30_000;
export const DEFAULT_AMQP_HEARTBEAT_S = 10;
/** How long connecting may take, from the TCP connect to the end of the AMQP handshake, before it fails. */
export const DEFAULT_AMQP_CONNECT_TIMEOUT_MS = 10_000;
/**
 * How long RabbitMQ may take to answer one channel operation (opening a channel, declaring an exchange or a queue,
 * binding, qos, consuming, cancelling, closing) before the connection is taken for stuck and dropped.
 */
export const DEFAULT_AMQP_CHANNEL_OPERATION_TIMEOUT_MS = 15_000;
export const AMQP_QUEUE_NAMES_MAX = 1_000;

export type AmqpQueueType = "quorum" | "classic";

export interface AmqpClientOptions {
  /** amqp://user:password@host:port/vhost; default AMQP_URL, then amqp://guest:guest@127.0.0.1:5672. */
  url?: string;
  /** The type of every queue the transport declares; default quorum (AMQP_QUEUE_TYPE). */
  queueType?: AmqpQueueType;
  prefetch?: number;
  /**
   * The queue a topic's subscriptions read, instead of `<topic>.<group>`: the message board names its work queue
   * task_queue. Every group subscribing to such a topic then shares the one queue as competing consumers.
   */
  queueNames?: Readonly<Record<string, string>>;
  reconnectBaseMs?: number;
  reconnectMaxMs?: number;
  reconnectAttemptsMax?: number;
  confirmTimeoutMs?: number;
  heartbeatS?: number;
  connectTimeoutMs?: number;
  channelOperationTimeoutMs?: number;
  logger?: ToolkitLogger;
  /** Where the defaults are read from; process.env unless given (tests pass their own). */
  env?: Readonly<Record<string, string | undefined>>;
}

export interface ResolvedAmqpOptions {
  url: string;
  /** The URL without its password, for logs. */
  address: string;
  queueType: AmqpQueueType;
  prefetch: number;
  queueNames: ReadonlyMap<string, string>;
  reconnectBaseMs: number;
  reconnectMaxMs: number;
  reconnectAttemptsMax: number;
  confirmTimeoutMs: number;
  heartbeatS: number;
  connectTimeoutMs: number;
  channelOperationTimeoutMs: number;
}

const AMQP_INTEGER_OPTIONS = {
  prefetch: integerOption(DEFAULT_AMQP_PREFETCH, 1, AMQP_PREFETCH_MAX),
  reconnectBaseMs: integerOption(DEFAULT_AMQP_RECONNECT_BASE_MS, 1, 60_000),
  reconnectMaxMs: integerOption(DEFAULT_AMQP_RECONNECT_MAX_MS, 1, 600_000),
  reconnectAttemptsMax: integerOption(DEFAULT_AMQP_RECONNECT_ATTEMPTS_MAX, 1, 100_000),
  confirmTimeoutMs: integerOption(DEFAULT_AMQP_CONFIRM_TIMEOUT_MS, 1, 24 * 60 * 60 * 1000),
  heartbeatS: integerOption(DEFAULT_AMQP_HEARTBEAT_S, 0, 3_600),
  connectTimeoutMs: integerOption(DEFAULT_AMQP_CONNECT_TIMEOUT_MS, 1, 600_000),
  channelOperationTimeoutMs: integerOption(DEFAULT_AMQP_CHANNEL_OPERATION_TIMEOUT_MS, 1, 600_000),
};

/** AMQP names (exchanges, queues) are at most 255 bytes of printable characters. */
const NAME = /^[A-Za-z0-9._:-]{1,255}$/;

export function amqpConfigError(message: string): ToolkitError {
  return new ToolkitError(ToolkitErrorCode.AMQP_CONFIG_INVALID, message);
}

/** The URL with its password replaced, safe to log. */
export function redactAmqpUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== "") parsed.password = "***";
    return parsed.toString();
  } catch {
    return "(an invalid URL)";
  }
}

export function checkAmqpUrl(url: string, source: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw amqpConfigError(`${source}: "${redactAmqpUrl(url)}" is not a URL; expected amqp://user:password@host:port`);
  }
  if (parsed.protocol !== "amqp:" && parsed.protocol !== "amqps:") {
    throw amqpConfigError(`${source}: expected an amqp:// or amqps:// URL, not ${parsed.protocol}//`);
  }
  if (parsed.hostname === "") throw amqpConfigError(`${source}: the URL names no host`);
  return url;
}

export function resolveAmqpOptions(options: AmqpClientOptions): ResolvedAmqpOptions {
  const env = options.env ?? process.env;
  const url =
    options.url !== undefined
      ? checkAmqpUrl(options.url, "url")
      : checkAmqpUrl(env.AMQP_URL || DEFAULT_AMQP_URL, "AMQP_URL");
  const queueType = options.queueType ?? (env.AMQP_QUEUE_TYPE || DEFAULT_AMQP_QUEUE_TYPE);
  if (queueType !== "quorum" && queueType !== "classic") {
    throw amqpConfigError(`queueType (AMQP_QUEUE_TYPE): expected quorum or classic, not "${String(queueType)}"`);
  }
  const entries = Object.entries(options.queueNames ?? {});
  if (entries.length > AMQP_QUEUE_NAMES_MAX) throw amqpConfigError(`queueNames: at most ${AMQP_QUEUE_NAMES_MAX}`);
  for (const [topic, queue] of entries) {
    if (typeof queue !== "string" || !NAME.test(queue)) {
      throw amqpConfigError(`queueNames.${topic}: "${String(queue)}" is not a queue name (letters, digits, . _ : -)`);
    }
  }
  const integers = resolveIntegers(AMQP_INTEGER_OPTIONS, options, (field, message) =>
    amqpConfigError(`${field}: ${message}`),
  );
  return {
    url,
    address: redactAmqpUrl(url),
    queueType,
    queueNames: new Map(entries),
    ...integers,
    reconnectMaxMs: Math.max(integers.reconnectMaxMs, integers.reconnectBaseMs),
  };
}

/** The delay before reconnect attempt `attempt` (1 for the first): exponential, capped, half of it random. */
export function reconnectDelayMs(options: ResolvedAmqpOptions, attempt: number): number {
  const ceiling = Math.min(options.reconnectMaxMs, options.reconnectBaseMs * 2 ** Math.min(attempt - 1, 30));
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}
