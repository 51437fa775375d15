// The CLI's Kafka connection limits and its explanations of Kafka failures: errors of Sluice's own client, and errors
// the toolkit's consumer passes on from the library underneath (recognised by their shape, without importing it),
// turned into messages that say what to do next.

import { KafkaBrokerError, KafkaClientError, KafkaClientErrorCode } from "../kafka/client/errors.js";
import { CliError } from "./command.js";

export const CONNECTION_TIMEOUT_MS = 3_000;
export const CLIENT_RETRIES = 3;

export type SaslMechanismName = "plain" | "scram-sha-256" | "scram-sha-512";

export interface CliSaslOptions {
  readonly mechanism: SaslMechanismName;
  readonly username: string;
  readonly password: string;
}

/** false for plaintext; true for TLS with the system's CAs; or TLS trusting the given CA certificate. */
export type CliTlsOptions = false | true | { readonly ca: string };

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

/** Explains a failure of Sluice's own client, or one from the toolkit's consumer, in words a user can act on. */
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
