// The one place the toolkit creates its Kafka clients: kafkajs's Kafka object, or Sluice's own client
// (src/kafka/client). Services see only KafkaClient, so the client library underneath can be chosen (the library
// option, or KAFKA_CLIENT) without touching them. Connection settings default to the same KAFKA_* environment
// variables the sluice CLI reads.

import { readFileSync } from "node:fs";

import kafkajs from "kafkajs";
import type { Kafka, KafkaConfig, LogEntry, SASLOptions } from "kafkajs";

import { SluiceKafkaClient, type SaslMechanism } from "../../kafka/client/index.js";
import { integerOption, resolveInteger } from "../../platform/options.js";
import { InvalidArgumentError, ToolkitError, ToolkitErrorCode } from "../errors.js";
import { silentLogger, type ToolkitLogger } from "../logger.js";
import { KAFKA_CAPABILITIES, type TransportClient } from "../transports/transport.js";
import { createKafkaAdmin, type KafkaAdmin } from "./admin.js";
import { createNativeProducer } from "./native-producer.js";
import { createKafkaConsumer } from "./consumer.js";
import { createNativeAdmin } from "./native-admin.js";
import { createNativeConsumer } from "./native-consumer.js";
import { createKafkaProducer, type KafkaProducer, type KafkaProducerOptions } from "./producer.js";
import { installRequestQueueTimerFix } from "./request-queue-timer.js";

const { Kafka: KafkaClass, logLevel: KafkaLogLevel } = kafkajs;
installRequestQueueTimerFix();

/** The Kafka client libraries the toolkit can run on: kafkajs, or Sluice's own client (src/kafka/client). */
export const KAFKA_CLIENT_LIBRARIES = ["kafkajs", "sluice"] as const;
export type KafkaClientLibrary = (typeof KAFKA_CLIENT_LIBRARIES)[number];
/**
 * Which library the toolkit's producers use. Sluice's client is the default: it batches concurrent sends into one
 * request per partition (see bench/e2e.ts for the figures). Group consumers and admin still use kafkajs until Sluice's
 * client has consumer groups; partition readers always use Sluice's client.
 */
export const DEFAULT_KAFKA_CLIENT_LIBRARY: KafkaClientLibrary = "sluice";
export const DEFAULT_KAFKA_BROKERS = "127.0.0.1:9092";
export const DEFAULT_CLIENT_ID = "sluice-toolkit";
export const KAFKA_BROKERS_COUNT_MAX = 100;
export const DEFAULT_CONNECTION_TIMEOUT_MS = 3_000;
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
/**
 * The Kafka client retries each request this often before reporting failure. Callers (the outbox relay, the
 * consumers) have their own, longer backoff on top, so the client gives up quickly and lets them decide.
 */
export const DEFAULT_CLIENT_RETRIES = 4;
export const DEFAULT_CLIENT_RETRY_INITIAL_MS = 100;
export const DEFAULT_CLIENT_RETRY_MAX_MS = 2_000;
export const TLS_CA_FILE_BYTES_MAX = 1024 * 1024;

export type SaslMechanismName = "plain" | "scram-sha-256" | "scram-sha-512";

export interface KafkaSaslOptions {
  mechanism: SaslMechanismName;
  username: string;
  password: string;
}

/** true for TLS trusting the system's CAs, or TLS settings (PEM text) such as a CA to trust. */
export type KafkaTlsOptions = boolean | { ca?: string | Buffer; cert?: string | Buffer; key?: string | Buffer };

export interface KafkaRetryOptions {
  retries?: number;
  initialRetryTimeMs?: number;
  maxRetryTimeMs?: number;
}

export interface KafkaClientOptions {
  /** The client library producers use; default KAFKA_CLIENT, then DEFAULT_KAFKA_CLIENT_LIBRARY. */
  library?: KafkaClientLibrary;
  /** Bootstrap brokers, "host:port"; default KAFKA_BROKERS, then 127.0.0.1:9092. */
  brokers?: readonly string[];
  clientId?: string;
  /** Default: KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD when set; null for none. */
  sasl?: KafkaSaslOptions | null;
  /** Default: KAFKA_TLS_CA (a PEM file, implies TLS), then KAFKA_TLS (true/false). */
  ssl?: KafkaTlsOptions;
  /** The Kafka client's own warnings and errors go here, its chatter at debug level. */
  logger?: ToolkitLogger;
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
  retry?: KafkaRetryOptions;
  /** Where the defaults are read from; process.env unless given (tests pass their own). */
  env?: Readonly<Record<string, string | undefined>>;
}

export interface KafkaClient extends TransportClient {
  readonly kind: "kafka";
  readonly library: KafkaClientLibrary;
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly logger: ToolkitLogger;
  /** A new producer: idempotent with acks=-1 unless told otherwise. */
  producer(options?: KafkaProducerOptions): KafkaProducer;
  admin(): KafkaAdmin;
  /** The kafkajs client underneath, for the toolkit's own consumer; services should not need it. */
  raw(): Kafka;
  /**
   * A new client of Sluice's own with these settings, for the toolkit's producers and partition readers; the caller
   * closes it. Services should not need it.
   */
  native(): SluiceKafkaClient;
}

function configError(message: string): ToolkitError {
  return new ToolkitError(ToolkitErrorCode.KAFKA_CONFIG_INVALID, message);
}

/** Parses `host:port[,host:port]`. */
export function parseBrokers(raw: string, source: string): string[] {
  const entries = raw
    .split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry !== "");
  return checkBrokers(entries, source);
}

function checkBrokers(entries: readonly string[], source: string): string[] {
  if (!Array.isArray(entries) || entries.length === 0) {
    throw configError(`${source}: expected at least one broker as host:port`);
  }
  if (entries.length > KAFKA_BROKERS_COUNT_MAX) {
    throw configError(`${source}: at most ${KAFKA_BROKERS_COUNT_MAX} brokers`);
  }
  for (const entry of entries) {
    const match = typeof entry === "string" ? /^(.+):([0-9]{1,5})$/.exec(entry) : null;
    const port = match === null ? 0 : Number(match[2]);
    if (match === null || port < 1 || port > 65_535) {
      throw configError(`${source}: "${String(entry)}" is not host:port with a port from 1 to 65535`);
    }
  }
  return [...entries];
}

function parseFlag(raw: string, name: string): boolean {
  const normalized = raw.trim().toLowerCase();
  if (["true", "1", "yes", "on"].includes(normalized)) return true;
  if (["false", "0", "no", "off", ""].includes(normalized)) return false;
  throw configError(`${name}: expected true or false, not "${raw}"`);
}

function readCaFile(path: string): string {
  let contents: Buffer;
  try {
    contents = readFileSync(path);
  } catch (error) {
    throw configError(`KAFKA_TLS_CA: cannot read ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (contents.length > TLS_CA_FILE_BYTES_MAX) {
    throw configError(`KAFKA_TLS_CA: ${path} is larger than ${TLS_CA_FILE_BYTES_MAX} bytes; give a PEM CA file`);
  }
  return contents.toString("utf8");
}

function saslFromEnv(env: Readonly<Record<string, string | undefined>>): KafkaSaslOptions | null {
  const mechanism = env.KAFKA_SASL_MECHANISM?.trim().toLowerCase() || undefined;
  const username = env.KAFKA_SASL_USERNAME || undefined;
  const password = env.KAFKA_SASL_PASSWORD || undefined;
  if (mechanism === undefined) {
    if (username !== undefined || password !== undefined) {
      throw configError("KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD need KAFKA_SASL_MECHANISM as well");
    }
    return null;
  }
  if (mechanism !== "plain" && mechanism !== "scram-sha-256" && mechanism !== "scram-sha-512") {
    throw configError(`KAFKA_SASL_MECHANISM: expected plain, scram-sha-256 or scram-sha-512, not "${mechanism}"`);
  }
  if (username === undefined || password === undefined) {
    throw configError(`KAFKA_SASL_MECHANISM=${mechanism} needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD`);
  }
  return { mechanism, username, password };
}

function tlsFromEnv(env: Readonly<Record<string, string | undefined>>): KafkaTlsOptions {
  const caFile = env.KAFKA_TLS_CA;
  if (caFile !== undefined && caFile !== "") return { ca: readCaFile(caFile) };
  return env.KAFKA_TLS === undefined ? false : parseFlag(env.KAFKA_TLS, "KAFKA_TLS");
}

function parseLibrary(raw: string, source: string): KafkaClientLibrary {
  const normalized = raw.trim().toLowerCase();
  if ((KAFKA_CLIENT_LIBRARIES as readonly string[]).includes(normalized)) return normalized as KafkaClientLibrary;
  throw configError(`${source}: expected ${KAFKA_CLIENT_LIBRARIES.join(" or ")}, not "${raw}"`);
}

function saslConfig(sasl: KafkaSaslOptions | null): SASLOptions | undefined {
  if (sasl === null) return undefined;
  const credentials = { username: sasl.username, password: sasl.password };
  switch (sasl.mechanism) {
    case "plain":
      return { mechanism: "plain", ...credentials };
    case "scram-sha-256":
      return { mechanism: "scram-sha-256", ...credentials };
    case "scram-sha-512":
      return { mechanism: "scram-sha-512", ...credentials };
    default:
      throw configError(`sasl.mechanism: expected plain, scram-sha-256 or scram-sha-512`);
  }
}

function tlsConfig(tls: KafkaTlsOptions): KafkaConfig["ssl"] {
  if (tls === false) return undefined;
  if (tls === true) return true;
  return {
    ...(tls.ca === undefined ? {} : { ca: [tls.ca] }),
    ...(tls.cert === undefined ? {} : { cert: tls.cert }),
    ...(tls.key === undefined ? {} : { key: tls.key }),
  };
}

function nativeTls(
  tls: KafkaTlsOptions,
): boolean | { ca?: string | Buffer; cert?: string | Buffer; key?: string | Buffer } {
  if (typeof tls === "boolean") return tls;
  return {
    ...(tls.ca === undefined ? {} : { ca: tls.ca }),
    ...(tls.cert === undefined ? {} : { cert: tls.cert }),
    ...(tls.key === undefined ? {} : { key: tls.key }),
  };
}

// kafkajs warns about two of the toolkit's own deliberate choices on every producer; they are not news.
const EXPECTED_WARNINGS = [
  "Limiting retries for the idempotent producer",
  "KafkaJS v2.0.0 switched default partitioner",
];

function routeLogsTo(logger: ToolkitLogger): KafkaConfig["logCreator"] {
  return () => (entry: LogEntry) => {
    const { message, timestamp: _timestamp, ...details } = entry.log;
    const fields = { kafkajs: entry.namespace, ...details };
    if (entry.level === KafkaLogLevel.ERROR) logger.error(fields, message);
    else if (entry.level === KafkaLogLevel.WARN && !EXPECTED_WARNINGS.some((known) => message.startsWith(known))) {
      logger.warn(fields, message);
    } else logger.debug(fields, message);
  };
}

function positiveInteger(field: string, value: number | undefined, fallback: number, max: number): number {
  return resolveInteger(
    field,
    value,
    integerOption(fallback, 1, max),
    (name, message) => new InvalidArgumentError(name, message),
  );
}

export function createKafkaClient(options: KafkaClientOptions = {}): KafkaClient {
  const env = options.env ?? process.env;
  const brokers =
    options.brokers !== undefined
      ? checkBrokers(options.brokers, "brokers")
      : parseBrokers(env.KAFKA_BROKERS || DEFAULT_KAFKA_BROKERS, "KAFKA_BROKERS");
  const library =
    options.library !== undefined
      ? parseLibrary(String(options.library), "library")
      : parseLibrary(env.KAFKA_CLIENT || DEFAULT_KAFKA_CLIENT_LIBRARY, "KAFKA_CLIENT");
  const clientId = options.clientId ?? DEFAULT_CLIENT_ID;
  if (typeof clientId !== "string" || !/^[\x20-\x7e]{1,255}$/.test(clientId)) {
    throw new InvalidArgumentError("clientId", "must be 1 to 255 printable ASCII characters");
  }
  const sasl = options.sasl !== undefined ? options.sasl : saslFromEnv(env);
  const ssl = options.ssl !== undefined ? options.ssl : tlsFromEnv(env);
  const logger = options.logger ?? silentLogger;
  const dayMs = 24 * 60 * 60 * 1000;
  const retry = options.retry ?? {};
  const connectionTimeoutMs = positiveInteger(
    "connectionTimeoutMs",
    options.connectionTimeoutMs,
    DEFAULT_CONNECTION_TIMEOUT_MS,
    dayMs,
  );
  const requestTimeoutMs = positiveInteger(
    "requestTimeoutMs",
    options.requestTimeoutMs,
    DEFAULT_REQUEST_TIMEOUT_MS,
    dayMs,
  );
  const retries = positiveInteger("retry.retries", retry.retries, DEFAULT_CLIENT_RETRIES, 1_000);
  const retryInitialMs = positiveInteger(
    "retry.initialRetryTimeMs",
    retry.initialRetryTimeMs,
    DEFAULT_CLIENT_RETRY_INITIAL_MS,
    dayMs,
  );
  const retryMaxMs = positiveInteger("retry.maxRetryTimeMs", retry.maxRetryTimeMs, DEFAULT_CLIENT_RETRY_MAX_MS, dayMs);
  const kafka = new KafkaClass({
    brokers: [...brokers],
    clientId,
    ssl: tlsConfig(ssl),
    sasl: saslConfig(sasl),
    connectionTimeout: connectionTimeoutMs,
    requestTimeout: requestTimeoutMs,
    retry: { retries, initialRetryTime: retryInitialMs, maxRetryTime: retryMaxMs },
    logLevel: KafkaLogLevel.INFO,
    logCreator: routeLogsTo(logger),
  });
  const nativeClient = (): SluiceKafkaClient =>
    new SluiceKafkaClient({
      bootstrapBrokers: brokers,
      clientId,
      tls: nativeTls(ssl),
      sasl: sasl === null ? null : { ...sasl, mechanism: sasl.mechanism.toUpperCase() as SaslMechanism },
      connectTimeoutMs: connectionTimeoutMs,
      requestTimeoutMs,
      retriesMax: retries,
      retryBackoffInitialMs: retryInitialMs,
      retryBackoffMaxMs: Math.max(retryInitialMs, retryMaxMs),
      logger,
    });
  const client: KafkaClient = {
    kind: "kafka",
    capabilities: KAFKA_CAPABILITIES,
    address: brokers.join(","),
    library,
    brokers,
    clientId,
    logger,
    producer: (producerOptions = {}) =>
      library === "sluice"
        ? createNativeProducer(nativeClient, brokers, producerOptions)
        : createKafkaProducer(kafka, brokers, logger, producerOptions),
    admin: () => (library === "sluice" ? createNativeAdmin(nativeClient, brokers) : createKafkaAdmin(kafka, brokers)),
    raw: () => kafka,
    native: nativeClient,
    consumer: (consumerOptions) =>
      library === "sluice"
        ? createNativeConsumer(client, consumerOptions)
        : createKafkaConsumer(client, consumerOptions),
  };
  return client;
}
