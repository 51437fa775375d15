// The options every client command (topics, produce, consume) takes to reach a Kafka endpoint, read from the
// command line or from the same KAFKA_* environment variables the toolkit uses, and turned into a client of Sluice's
// own (or, for consumer groups, the toolkit's settings).

import { readFileSync } from "node:fs";
import type { Writable } from "node:stream";
import {
  ArgumentError,
  choiceOption,
  customOption,
  flagOption,
  integerOption,
  parseInteger,
  stringOption,
  type OptionValues,
} from "./args.js";
import { CliError } from "./command.js";
import { SluiceKafkaClient, type SaslMechanism, type SaslOptions } from "../kafka/client/index.js";
import {
  CLIENT_RETRIES,
  CONNECTION_TIMEOUT_MS,
  explainKafkaError,
  type CliSaslOptions,
  type CliTlsOptions,
} from "./kafka-client.js";
import { createCliLogger, LOG_LEVELS } from "./logger.js";

export const DEFAULT_BROKERS = "127.0.0.1:9092";
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
export const BROKER_LIST_COUNT_MAX = 100;
export const TLS_CA_FILE_BYTES_MAX = 1024 * 1024;

/** Parses `host:port[,host:port]`, refusing entries without a usable port. */
export function parseBrokerList(raw: string): string[] {
  const entries = raw
    .split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry !== "");
  if (entries.length === 0) throw new Error("expected host:port[,host:port]");
  if (entries.length > BROKER_LIST_COUNT_MAX) throw new Error(`more than ${BROKER_LIST_COUNT_MAX} brokers`);
  for (const entry of entries) {
    const colonIndex = entry.lastIndexOf(":");
    if (colonIndex <= 0) throw new Error(`"${entry}" is not host:port`);
    try {
      parseInteger(entry.slice(colonIndex + 1), 1, 65_535);
    } catch {
      throw new Error(`"${entry}" does not end in a port between 1 and 65535`);
    }
  }
  return entries;
}

export const connectionOptions = {
  brokers: customOption({
    description: "Bootstrap brokers of any Kafka endpoint",
    valueName: "host:port[,host:port]",
    env: "KAFKA_BROKERS",
    parse: parseBrokerList,
    default: [DEFAULT_BROKERS],
    defaultLabel: DEFAULT_BROKERS,
  }),
  tls: flagOption({ description: "Connect with TLS", env: "KAFKA_TLS" }),
  tlsCa: stringOption({
    description: "PEM file of the CA to trust (implies --tls)",
    valueName: "file",
    env: "KAFKA_TLS_CA",
  }),
  saslMechanism: choiceOption({
    description: "SASL mechanism",
    choices: ["plain", "scram-sha-256", "scram-sha-512"] as const,
    env: "KAFKA_SASL_MECHANISM",
  }),
  saslUsername: stringOption({ description: "SASL user name", valueName: "name", env: "KAFKA_SASL_USERNAME" }),
  saslPassword: stringOption({
    description: "SASL password (prefer the environment variable)",
    valueName: "password",
    env: "KAFKA_SASL_PASSWORD",
  }),
  timeoutMs: integerOption({
    description: "How long to wait for each broker request",
    min: 1,
    max: 600_000,
    default: DEFAULT_REQUEST_TIMEOUT_MS,
    env: "SLUICE_TIMEOUT_MS",
  }),
  logLevel: choiceOption({
    description: "Level of the Kafka client's own logs on stderr",
    choices: LOG_LEVELS,
    default: "silent",
    env: "SLUICE_LOG_LEVEL",
  }),
};

export type ConnectionValues = OptionValues<typeof connectionOptions>;

function readCaFile(path: string): string {
  try {
    const contents = readFileSync(path);
    if (contents.length > TLS_CA_FILE_BYTES_MAX) throw new Error(`larger than ${TLS_CA_FILE_BYTES_MAX} bytes`);
    return contents.toString("utf8");
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new CliError(`cannot read the CA file ${path}: ${reason}`, "Give --tls-ca a readable PEM file.");
  }
}

interface ConnectionSettings {
  readonly sasl: CliSaslOptions | null;
  readonly tls: CliTlsOptions;
}

type SecurityValues = Pick<ConnectionValues, "tls" | "tlsCa" | "saslMechanism" | "saslUsername" | "saslPassword">;

export function connectionSettings(values: SecurityValues): ConnectionSettings {
  const { saslMechanism, saslUsername, saslPassword } = values;
  if (saslMechanism === undefined && (saslUsername !== undefined || saslPassword !== undefined)) {
    throw new ArgumentError("--sasl-username and --sasl-password need --sasl-mechanism");
  }
  if (saslMechanism !== undefined && (saslUsername === undefined || saslPassword === undefined)) {
    throw new ArgumentError(`--sasl-mechanism ${saslMechanism} needs --sasl-username and --sasl-password`);
  }
  const sasl =
    saslMechanism !== undefined && saslUsername !== undefined && saslPassword !== undefined
      ? { mechanism: saslMechanism, username: saslUsername, password: saslPassword }
      : null;
  const tls = values.tlsCa !== undefined ? { ca: readCaFile(values.tlsCa) } : values.tls;
  return { sasl, tls };
}

/** The TLS and SASL settings of the connection options, as the toolkit's (kafkajs) client takes them. */
export function toolkitClientSecurity(values: SecurityValues): {
  sasl: CliSaslOptions | null;
  ssl: CliTlsOptions;
} {
  const { sasl, tls } = connectionSettings(values);
  return { sasl, ssl: tls };
}

/** The TLS and SASL settings of the connection options, as Sluice's own client takes them. */
export function sluiceClientSecurity(values: SecurityValues): {
  tls: boolean | { ca: string };
  sasl: SaslOptions | null;
} {
  const { sasl, tls } = connectionSettings(values);
  return {
    tls: typeof tls === "object" ? { ca: tls.ca } : tls,
    sasl: sasl === null ? null : { ...sasl, mechanism: sasl.mechanism.toUpperCase() as SaslMechanism },
  };
}

/**
 * Builds Sluice's own client from the options (its logs on `stderr` at --log-level), runs `work` with it, always closes it, and explains any Kafka failure
 * in the user's terms (with the broker's own message when it sent one).
 */
export async function withSluiceClient<T>(
  values: ConnectionValues,
  clientId: string,
  stderr: Writable,
  work: (client: SluiceKafkaClient) => Promise<T>,
): Promise<T> {
  const client = new SluiceKafkaClient({
    bootstrapBrokers: values.brokers,
    clientId,
    logger: createCliLogger(values.logLevel, stderr),
    ...sluiceClientSecurity(values),
    requestTimeoutMs: values.timeoutMs,
    connectTimeoutMs: Math.min(CONNECTION_TIMEOUT_MS, values.timeoutMs),
    retriesMax: CLIENT_RETRIES,
  });
  try {
    return await work(client);
  } catch (error) {
    if (error instanceof CliError || error instanceof ArgumentError) throw error;
    throw explainKafkaError(error, values.brokers);
  } finally {
    await client.close();
  }
}
