// The one place the CLI meets kafkajs: building a client from connection settings, routing kafkajs's logs through
// pino, and turning kafkajs errors into messages that say what to do next.

import kafkajs from "kafkajs";
import type { Admin, Kafka, KafkaConfig, LogEntry, SASLOptions } from "kafkajs";
import type { Logger } from "pino";
import { KafkaBrokerError, KafkaClientError, KafkaClientErrorCode } from "../kafka/client/errors.js";
import { CliError } from "./command.js";

const { Kafka: KafkaClass, logLevel: KafkaLogLevel } = kafkajs;

export const CONNECTION_TIMEOUT_MS = 3_000;
export const CLIENT_RETRIES = 3;
export const CLIENT_RETRY_INITIAL_MS = 100;
export const CLIENT_RETRY_MAX_MS = 1_000;

export type SaslMechanismName = "plain" | "scram-sha-256" | "scram-sha-512";

export interface KafkaClientOptions {
  readonly brokers: readonly string[];
  readonly clientId: string;
  /** false for plaintext; true for TLS with the system's CAs; or TLS trusting the given CA certificate. */
  readonly tls: false | true | { readonly ca: string };
  readonly sasl: { readonly mechanism: SaslMechanismName; readonly username: string; readonly password: string } | null;
  readonly requestTimeoutMs: number;
  /** kafkajs logs arrive here, at warn level and above. */
  readonly logger: Logger;
}

function routeLogsTo(logger: Logger): KafkaConfig["logCreator"] {
  return () => (entry: LogEntry) => {
    const { message, timestamp: _timestamp, ...details } = entry.log;
    const fields = { kafkajs: entry.namespace, ...details };
    if (entry.level === KafkaLogLevel.ERROR) logger.error(fields, message);
    else if (entry.level === KafkaLogLevel.WARN) logger.warn(fields, message);
    else logger.debug(fields, message);
  };
}

function saslConfig(sasl: KafkaClientOptions["sasl"]): SASLOptions | undefined {
  if (sasl === null) return undefined;
  const credentials = { username: sasl.username, password: sasl.password };
  switch (sasl.mechanism) {
    case "plain":
      return { mechanism: "plain", ...credentials };
    case "scram-sha-256":
      return { mechanism: "scram-sha-256", ...credentials };
    case "scram-sha-512":
      return { mechanism: "scram-sha-512", ...credentials };
  }
}

export function createKafkaClient(options: KafkaClientOptions): Kafka {
  return new KafkaClass({
    brokers: [...options.brokers],
    clientId: options.clientId,
    ssl: options.tls === false ? undefined : options.tls === true ? true : { ca: [options.tls.ca] },
    sasl: saslConfig(options.sasl),
    connectionTimeout: Math.min(CONNECTION_TIMEOUT_MS, options.requestTimeoutMs),
    requestTimeout: options.requestTimeoutMs,
    retry: { retries: CLIENT_RETRIES, initialRetryTime: CLIENT_RETRY_INITIAL_MS, maxRetryTime: CLIENT_RETRY_MAX_MS },
    logLevel: KafkaLogLevel.WARN,
    logCreator: routeLogsTo(options.logger),
  });
}

/** Connects an admin client, runs `work` with it and always disconnects. */
export async function withAdmin<T>(kafka: Kafka, work: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await work(admin);
  } finally {
    await admin.disconnect();
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}

/** The error and everything it wraps, outermost first; kafkajs nests through `cause`, `originalError` and `errors`. */
function errorChain(error: unknown): Record<string, unknown>[] {
  const chain: Record<string, unknown>[] = [];
  const pending: unknown[] = [error];
  while (pending.length > 0 && chain.length < 20) {
    const current = pending.shift();
    if (!isRecord(current) || chain.includes(current)) continue;
    chain.push(current);
    pending.push(current.cause, current.originalError);
    if (Array.isArray(current.errors)) pending.push(...current.errors);
  }
  return chain;
}

const CONNECTION_ERROR_NAMES = new Set([
  "KafkaJSConnectionError",
  "KafkaJSConnectionClosedError",
  "KafkaJSBrokerNotFound",
  "KafkaJSNoBrokerAvailableError",
]);

const HINTS_BY_TYPE: Readonly<Record<string, string>> = {
  UNKNOWN_TOPIC_OR_PARTITION: "List the topics with `sluice topics list`, or create it with `sluice topics create`.",
  TOPIC_ALREADY_EXISTS: "Pick another name, or delete the topic first with `sluice topics delete`.",
  INVALID_CONFIG: "Check the --config names and values.",
  INVALID_PARTITIONS: "Give --partitions a number of at least 1.",
  INVALID_REPLICATION_FACTOR: "A single Sluice broker holds one replica: use --replication-factor 1.",
  INVALID_TOPIC_EXCEPTION: "Topic names use letters, digits, '.', '_' and '-', up to 249 characters.",
  MESSAGE_TOO_LARGE: "Send smaller messages, or raise the broker's limit (sluice broker --message-max-bytes).",
  TOPIC_AUTHORIZATION_FAILED: "Check that the SASL user may use this topic.",
  GROUP_AUTHORIZATION_FAILED: "Check that the SASL user may use this consumer group.",
};

/** Explains a failure of Sluice's own client; its messages already carry the broker's own words when it sent any. */
function explainClientError(error: KafkaClientError, brokers: readonly string[]): CliError {
  if (error instanceof KafkaBrokerError) {
    return new CliError(error.message, HINTS_BY_TYPE[error.errorName] ?? null, { cause: error });
  }
  switch (error.code) {
    case KafkaClientErrorCode.CONNECTION_FAILED:
    case KafkaClientErrorCode.CONNECTION_CLOSED:
      return new CliError(`cannot reach a Kafka broker at ${brokers.join(",")}: ${error.message}`, START_BROKER_HINT, {
        cause: error,
      });
    case KafkaClientErrorCode.REQUEST_TIMED_OUT:
      return new CliError(`the broker did not answer in time: ${error.message}`, TIMEOUT_HINT, { cause: error });
    case KafkaClientErrorCode.AUTHENTICATION_FAILED:
      return new CliError(`authentication failed: ${error.message}`, AUTHENTICATION_HINT, { cause: error });
    default:
      return new CliError(error.message, null, { cause: error });
  }
}

const START_BROKER_HINT =
  "Start one with `sluice broker` (or `npm start`), or point --brokers (or KAFKA_BROKERS) at a running cluster.";
const TIMEOUT_HINT = "Check that the broker is healthy, or allow more time with --timeout-ms.";
const AUTHENTICATION_HINT =
  "Check --sasl-mechanism, --sasl-username and --sasl-password (or KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD).";

/** Explains a kafkajs failure (or one of Sluice's own client) in words a user can act on. */
export function explainKafkaError(error: unknown, brokers: readonly string[]): CliError {
  if (error instanceof CliError) return error;
  if (error instanceof KafkaClientError) return explainClientError(error, brokers);
  const chain = errorChain(error);
  const message = (entry: Record<string, unknown> | undefined): string =>
    entry !== undefined && typeof entry.message === "string" ? entry.message : String(error);

  const authentication = chain.find((entry) => entry.name === "KafkaJSSASLAuthenticationError");
  if (authentication !== undefined) {
    return new CliError(`authentication failed: ${message(authentication)}`, AUTHENTICATION_HINT, { cause: error });
  }
  const protocol = chain.find((entry) => typeof entry.type === "string" && entry.type !== "UNKNOWN");
  if (protocol !== undefined) {
    const type = String(protocol.type);
    const topic = typeof protocol.topic === "string" ? ` (topic "${protocol.topic}")` : "";
    return new CliError(`${message(protocol)}${topic} [${type}]`, HINTS_BY_TYPE[type] ?? null, { cause: error });
  }
  const connection = chain.find(
    (entry) =>
      (typeof entry.name === "string" && CONNECTION_ERROR_NAMES.has(entry.name)) ||
      (typeof entry.code === "string" &&
        ["ECONNREFUSED", "ENOTFOUND", "EHOSTUNREACH", "ETIMEDOUT"].includes(entry.code)),
  );
  if (connection !== undefined) {
    return new CliError(
      `cannot reach a Kafka broker at ${brokers.join(",")}: ${message(connection)}`,
      START_BROKER_HINT,
      { cause: error },
    );
  }
  const timeout = chain.find((entry) => entry.name === "KafkaJSRequestTimeoutError" || entry.name === "KafkaJSTimeout");
  if (timeout !== undefined) {
    return new CliError(`the broker did not answer in time: ${message(timeout)}`, TIMEOUT_HINT, { cause: error });
  }
  return new CliError(message(chain[0]), null, { cause: error });
}
