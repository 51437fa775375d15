// `sluice broker`: runs the Kafka-compatible broker in this process until SIGINT or SIGTERM.

import { readFileSync } from "node:fs";
import type { BrokerConfig, FlushMode, RunningBroker } from "../../broker/index.js";
import { DEFAULT_PARTITIONS, DEFAULT_PORT, MESSAGE_BYTES_MAX, OFFSETS_RETENTION_MS } from "../../broker/config.js";
import { SUPPORTED_SASL_MECHANISMS } from "../../broker/sasl/user-store.js";
import type { SaslMechanism } from "../../broker/config.js";
import {
  ArgumentError,
  choiceOption,
  customOption,
  flagOption,
  integerOption,
  parseInteger,
  stringOption,
  type OptionValues,
} from "../args.js";
import { DataDirInUseError } from "../../platform/data-dir-lock.js";
import { CliError, defineCommand, EXIT_FAILURE, EXIT_OK, type CommandIo } from "../command.js";
import { prepareDataDir } from "../data-dir.js";
import { createCliLogger, LOG_LEVELS } from "../logger.js";
import { readSaslUsersFile } from "../sasl-users.js";
import { listenForShutdown } from "../signals.js";

export const BROKER_ENV_PREFIX = "SLUICE_BROKER_";
export const DEFAULT_DATA_DIR = "./data";
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 30_000;
export const PARTITIONS_MAX = 10_000;
export const FLUSH_INTERVAL_MS_MAX = 60_000;
export const TLS_FILE_BYTES_MAX = 1024 * 1024;

export function parseFlushMode(raw: string): FlushMode {
  if (raw === "always") return { kind: "always" };
  const match = /^interval:(.+)$/.exec(raw);
  if (match === null) throw new Error(`"${raw}" is neither always nor interval:<ms>`);
  return { kind: "interval", intervalMs: parseInteger(match[1]!, 1, FLUSH_INTERVAL_MS_MAX) };
}

export function parseSaslMechanisms(raw: string): SaslMechanism[] {
  const names = raw.split(",").map((name) => name.trim().toUpperCase());
  const mechanisms: SaslMechanism[] = [];
  for (const name of names) {
    const mechanism = SUPPORTED_SASL_MECHANISMS.find((supported) => supported === name);
    if (mechanism === undefined) throw new Error(`"${name}" is not one of ${SUPPORTED_SASL_MECHANISMS.join(", ")}`);
    if (!mechanisms.includes(mechanism)) mechanisms.push(mechanism);
  }
  return mechanisms;
}

export const brokerOptions = {
  host: stringOption({ description: "Address to listen on", valueName: "host", default: "127.0.0.1" }),
  port: integerOption({
    description: "Port to listen on; 0 picks a free one",
    min: 0,
    max: 65_535,
    default: DEFAULT_PORT,
  }),
  advertisedHost: stringOption({
    description: "Host given to clients in metadata (default: --host)",
    valueName: "host",
  }),
  advertisedPort: integerOption({
    description: "Port given to clients in metadata (default: the bound port)",
    min: 1,
    max: 65_535,
  }),
  dataDir: stringOption({ description: "Directory for logs and state", valueName: "dir", default: DEFAULT_DATA_DIR }),
  flush: customOption({
    description: "When writes are fsynced: before every acks=-1 reply, or every <ms>",
    valueName: "always|interval:<ms>",
    parse: parseFlushMode,
    default: { kind: "always" },
    defaultLabel: "always",
  }),
  partitions: integerOption({
    description: "Partitions of auto-created topics",
    min: 1,
    max: PARTITIONS_MAX,
    default: DEFAULT_PARTITIONS,
  }),
  autoCreateTopics: flagOption({ description: "Do not create topics on first use", default: true }),
  messageMaxBytes: integerOption({ description: "Largest record batch accepted", min: 1, default: MESSAGE_BYTES_MAX }),
  offsetsRetentionMs: integerOption({
    description: "How long an empty group's committed offsets are kept (Kafka's offsets.retention.minutes)",
    min: 1,
    default: OFFSETS_RETENTION_MS,
  }),
  saslUsers: stringOption({
    description: "Require SASL; file of username:password lines",
    valueName: "file",
  }),
  saslMechanisms: customOption({
    description: "SASL mechanisms offered with --sasl-users",
    valueName: "list",
    parse: parseSaslMechanisms,
    default: [...SUPPORTED_SASL_MECHANISMS],
    defaultLabel: SUPPORTED_SASL_MECHANISMS.join(","),
  }),
  tlsCert: stringOption({ description: "Serve TLS with this PEM certificate (needs --tls-key)", valueName: "file" }),
  tlsKey: stringOption({ description: "PEM private key for --tls-cert", valueName: "file" }),
  logLevel: choiceOption({ description: "Log level (JSON logs on stderr)", choices: LOG_LEVELS, default: "info" }),
  shutdownTimeoutMs: integerOption({
    description: "How long a graceful stop may take before exiting with status 1",
    min: 1,
    default: DEFAULT_SHUTDOWN_TIMEOUT_MS,
  }),
};

export type BrokerOptionValues = OptionValues<typeof brokerOptions>;

function readPemFile(path: string, what: string): Buffer {
  let contents: Buffer;
  try {
    contents = readFileSync(path);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new CliError(`cannot read the TLS ${what}: ${reason}`, `Give --tls-${what} a readable PEM file.`);
  }
  if (contents.length > TLS_FILE_BYTES_MAX) {
    throw new CliError(`the TLS ${what} ${path} is larger than ${TLS_FILE_BYTES_MAX} bytes`, "Is it the right file?");
  }
  return contents;
}

/** Turns the command's options into broker configuration, reading the files they name. */
export function brokerConfigFromOptions(options: BrokerOptionValues): Partial<BrokerConfig> {
  if ((options.tlsCert === undefined) !== (options.tlsKey === undefined)) {
    throw new ArgumentError("--tls-cert and --tls-key go together; give both or neither");
  }
  const tls =
    options.tlsCert !== undefined && options.tlsKey !== undefined
      ? { cert: readPemFile(options.tlsCert, "cert"), key: readPemFile(options.tlsKey, "key") }
      : null;
  const sasl =
    options.saslUsers !== undefined
      ? { mechanisms: options.saslMechanisms, users: readSaslUsersFile(options.saslUsers) }
      : null;
  return {
    host: options.host,
    port: options.port,
    advertisedHost: options.advertisedHost ?? null,
    advertisedPort: options.advertisedPort ?? null,
    dataDir: options.dataDir,
    flush: options.flush,
    defaultPartitions: options.partitions,
    autoCreateTopics: options.autoCreateTopics,
    messageBytesMax: options.messageMaxBytes,
    offsetsRetentionMs: options.offsetsRetentionMs,
    sasl,
    tls,
  };
}

/** The refusal of a data dir that another process holds, with what to do about it; null for any other error. */
export function explainDataDirInUse(error: unknown): CliError | null {
  if (!(error instanceof DataDirInUseError)) return null;
  return new CliError(error.message, "Stop that process, or give this one another --data-dir.", { cause: error });
}

function explainStartFailure(error: unknown, host: string, port: number): CliError {
  const dataDirInUse = explainDataDirInUse(error);
  if (dataDirInUse !== null) return dataDirInUse;
  const code = typeof error === "object" && error !== null && "code" in error ? String(error.code) : "";
  const reason = error instanceof Error ? error.message : String(error);
  if (code === "EADDRINUSE") {
    return new CliError(
      `${host}:${port} is already in use`,
      "Stop the other process, or pick another port with --port (0 picks a free one).",
      { cause: error },
    );
  }
  const syscall = typeof error === "object" && error !== null && "syscall" in error ? String(error.syscall) : "";
  if (code === "EACCES" && (syscall === "listen" || syscall === "bind")) {
    return new CliError(`not allowed to listen on ${host}:${port}`, "Use a port above 1023.", { cause: error });
  }
  if (typeof error === "object" && error !== null && "path" in error) {
    return new CliError(
      `cannot ${syscall || "use"} ${String(error.path)}: ${reason}`,
      "Check that this user may write in --data-dir.",
      {
        cause: error,
      },
    );
  }
  if (code === "EADDRNOTAVAIL" || code === "ENOTFOUND") {
    return new CliError(`cannot listen on ${host}: ${reason}`, "Give --host an address of this machine.", {
      cause: error,
    });
  }
  return new CliError(`the broker did not start: ${reason}`, "Check the data directory and the log above.", {
    cause: error,
  });
}

/**
 * Runs a broker until the first SIGINT or SIGTERM, then closes it gracefully. `sluice up` reuses this until it
 * starts the rest of the system too.
 */
export async function runBroker(options: BrokerOptionValues, io: CommandIo): Promise<number> {
  const config = brokerConfigFromOptions(options);
  prepareDataDir(options.dataDir);
  const logger = createCliLogger(options.logLevel, io.stderr);
  const shutdown = listenForShutdown((signal) => {
    logger.warn({ signal }, "second signal: exiting without finishing the graceful stop");
    process.exit(EXIT_FAILURE);
  });
  let broker: RunningBroker;
  try {
    // Loaded here so that the client commands start without loading the whole broker.
    const { startBroker } = await import("../../broker/index.js");
    broker = await startBroker({ ...config, logger });
  } catch (error) {
    shutdown.dispose();
    throw explainStartFailure(error, options.host, options.port);
  }
  io.stdout.write(`sluice broker listening on ${broker.address}\n`);
  const signal = await shutdown.requested;
  logger.info({ signal }, "stopping: finishing in-flight requests and syncing to disk");
  // The listener stays installed until the process exits, so that a second signal still means "stop now".
  const timer = setTimeout(() => {
    logger.error({ shutdownTimeoutMs: options.shutdownTimeoutMs }, "graceful stop took too long; exiting");
    process.exit(EXIT_FAILURE);
  }, options.shutdownTimeoutMs);
  timer.unref();
  try {
    await broker.close();
  } finally {
    clearTimeout(timer);
  }
  logger.info("stopped");
  return EXIT_OK;
}

export const brokerCommand = defineCommand({
  name: "broker",
  summary: "Run the Kafka-compatible broker",
  details: [
    `Prints one line "sluice broker listening on <host>:<port>" on stdout once it accepts connections; logs go to ` +
      "stderr. SIGINT or SIGTERM stops it gracefully (exit 0); a second signal exits at once (exit 1).",
    `Every option can also come from the environment as ${BROKER_ENV_PREFIX}<OPTION>, e.g. ` +
      `${BROKER_ENV_PREFIX}PORT=9092 or ${BROKER_ENV_PREFIX}AUTO_CREATE_TOPICS=false; the command line wins.`,
  ],
  examples: [
    "sluice broker --port 9092 --data-dir ./data",
    "sluice broker --port 0 --flush interval:50 --no-auto-create-topics",
  ],
  arguments: { options: brokerOptions, positionals: [], envPrefix: BROKER_ENV_PREFIX },
  run: ({ options }, io) => runBroker(options, io),
});
