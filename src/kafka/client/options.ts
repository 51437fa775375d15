// The client's settings: every limit has a name with its unit last and a named default, and every option is checked
// once, when the client is made, with an error that names the option.

import type tls from "node:tls";
import type { ConnectionLimits } from "./network/connection.js";
import { SASL_MECHANISMS, type SaslOptions } from "./network/sasl.js";
import { KafkaConfigError } from "./errors.js";
import { integerOption as declaredInteger, resolveInteger } from "../../platform/options.js";

export const DEFAULT_CLIENT_ID = "sluice";
export const BOOTSTRAP_BROKERS_COUNT_MAX = 100;
export const CONNECT_TIMEOUT_MS = 5_000;
export const REQUEST_TIMEOUT_MS = 30_000;
/** Kafka's max.in.flight.requests.per.connection default. */
export const IN_FLIGHT_REQUESTS_MAX = 5;
export const QUEUED_REQUESTS_MAX = 10_000;
/** A Fetch response is bounded by the fetch's maxBytes (default 50 MiB, Kafka's fetch.max.bytes) plus framing. */
export const RESPONSE_BYTES_MAX = 64 * 1024 * 1024;
export const SEND_BUFFER_BYTES_MAX = 16 * 1024 * 1024;
/** How often a retriable failure is tried again before the caller sees it. */
export const RETRIES_MAX = 5;
export const RETRY_BACKOFF_INITIAL_MS = 100;
export const RETRY_BACKOFF_MAX_MS = 1_000;
/** Cached metadata older than this is refreshed before it is used (Kafka's metadata.max.age.ms). */
export const METADATA_MAX_AGE_MS = 300_000;
const DAY_MS = 24 * 60 * 60 * 1000;

export interface KafkaClientLogger {
  debug(details: object, message: string): void;
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
  error(details: object, message: string): void;
}

const silentLogger: KafkaClientLogger = { debug() {}, info() {}, warn() {}, error() {} };

export interface KafkaClientOptions extends Partial<ConnectionLimits> {
  /** Where to find the cluster first: "host:port" entries. */
  readonly bootstrapBrokers: readonly string[];
  readonly clientId?: string;
  /** true for TLS trusting the system's CAs; TLS settings (ca, cert, key, servername, …); false or absent: plaintext. */
  readonly tls?: boolean | tls.ConnectionOptions;
  readonly sasl?: SaslOptions | null;
  readonly retriesMax?: number;
  readonly retryBackoffInitialMs?: number;
  readonly retryBackoffMaxMs?: number;
  readonly metadataMaxAgeMs?: number;
  /** Lowers this client's highest version per API key (key → version): for odd brokers and for tests. */
  readonly versionCaps?: Readonly<Record<number, number>>;
  readonly logger?: KafkaClientLogger;
}

export interface BrokerAddress {
  readonly host: string;
  readonly port: number;
}

export interface ResolvedClientOptions extends ConnectionLimits {
  readonly bootstrapBrokers: readonly BrokerAddress[];
  readonly clientId: string;
  readonly tls: tls.ConnectionOptions | null;
  readonly sasl: SaslOptions | null;
  readonly retriesMax: number;
  readonly retryBackoffInitialMs: number;
  readonly retryBackoffMaxMs: number;
  readonly metadataMaxAgeMs: number;
  readonly versionCaps: ReadonlyMap<number, number>;
  readonly logger: KafkaClientLogger;
}

/** Parses "host:port", accepting "[::1]:9092" for IPv6 literals. */
export function parseBrokerAddress(entry: string, field = "bootstrapBrokers"): BrokerAddress {
  const match = typeof entry === "string" ? /^(?:\[([^\]]+)\]|([^:\s]+)):([0-9]{1,5})$/.exec(entry.trim()) : null;
  const port = match === null ? 0 : Number(match[3]);
  if (match === null || port < 1 || port > 65_535) {
    throw new KafkaConfigError(field, `"${String(entry)}" is not host:port with a port from 1 to 65535`);
  }
  return { host: match[1] ?? match[2]!, port };
}

function integer(field: string, value: number | undefined, fallback: number, min: number, max: number): number {
  return resolveInteger(
    field,
    value,
    declaredInteger(fallback, min, max),
    (field, message) => new KafkaConfigError(field, message),
  );
}

function resolveSasl(sasl: SaslOptions | null | undefined): SaslOptions | null {
  if (sasl === undefined || sasl === null) return null;
  if (!SASL_MECHANISMS.includes(sasl.mechanism)) {
    throw new KafkaConfigError("sasl.mechanism", `must be one of ${SASL_MECHANISMS.join(", ")}`);
  }
  if (typeof sasl.username !== "string" || sasl.username.length === 0) {
    throw new KafkaConfigError("sasl.username", "must be a non-empty string");
  }
  if (typeof sasl.password !== "string" || sasl.password.length === 0) {
    throw new KafkaConfigError("sasl.password", "must be a non-empty string");
  }
  return { mechanism: sasl.mechanism, username: sasl.username, password: sasl.password };
}

function resolveVersionCaps(caps: Readonly<Record<number, number>> | undefined): Map<number, number> {
  const resolved = new Map<number, number>();
  for (const [key, version] of Object.entries(caps ?? {})) {
    resolved.set(
      integer(`versionCaps key`, Number(key), 0, 0, 32_767),
      integer(`versionCaps[${key}]`, version, 0, 0, 32_767),
    );
  }
  return resolved;
}

export function resolveClientOptions(options: KafkaClientOptions): ResolvedClientOptions {
  const brokers = options.bootstrapBrokers;
  if (!Array.isArray(brokers) || brokers.length === 0 || brokers.length > BOOTSTRAP_BROKERS_COUNT_MAX) {
    throw new KafkaConfigError("bootstrapBrokers", `give 1 to ${BOOTSTRAP_BROKERS_COUNT_MAX} brokers as host:port`);
  }
  const clientId = options.clientId ?? DEFAULT_CLIENT_ID;
  if (typeof clientId !== "string" || !/^[\x20-\x7e]{1,255}$/.test(clientId)) {
    throw new KafkaConfigError("clientId", "must be 1 to 255 printable ASCII characters");
  }
  const backoffInitialMs = integer(
    "retryBackoffInitialMs",
    options.retryBackoffInitialMs,
    RETRY_BACKOFF_INITIAL_MS,
    1,
    DAY_MS,
  );
  return {
    bootstrapBrokers: brokers.map((entry) => parseBrokerAddress(entry)),
    clientId,
    tls: options.tls === true ? {} : options.tls === false || options.tls === undefined ? null : options.tls,
    sasl: resolveSasl(options.sasl),
    connectTimeoutMs: integer("connectTimeoutMs", options.connectTimeoutMs, CONNECT_TIMEOUT_MS, 1, DAY_MS),
    requestTimeoutMs: integer("requestTimeoutMs", options.requestTimeoutMs, REQUEST_TIMEOUT_MS, 1, DAY_MS),
    inFlightRequestsMax: integer("inFlightRequestsMax", options.inFlightRequestsMax, IN_FLIGHT_REQUESTS_MAX, 1, 1_000),
    queuedRequestsMax: integer("queuedRequestsMax", options.queuedRequestsMax, QUEUED_REQUESTS_MAX, 1, 1_000_000),
    responseBytesMax: integer("responseBytesMax", options.responseBytesMax, RESPONSE_BYTES_MAX, 1024, 2 ** 31 - 1),
    sendBufferBytesMax: integer(
      "sendBufferBytesMax",
      options.sendBufferBytesMax,
      SEND_BUFFER_BYTES_MAX,
      1024,
      2 ** 31 - 1,
    ),
    retriesMax: integer("retriesMax", options.retriesMax, RETRIES_MAX, 0, 1_000),
    retryBackoffInitialMs: backoffInitialMs,
    retryBackoffMaxMs: integer(
      "retryBackoffMaxMs",
      options.retryBackoffMaxMs,
      Math.max(RETRY_BACKOFF_MAX_MS, backoffInitialMs),
      backoffInitialMs,
      DAY_MS,
    ),
    metadataMaxAgeMs: integer("metadataMaxAgeMs", options.metadataMaxAgeMs, METADATA_MAX_AGE_MS, 0, DAY_MS * 365),
    versionCaps: resolveVersionCaps(options.versionCaps),
    logger: options.logger ?? silentLogger,
  };
}
