// `sluice registry`: runs the Confluent-compatible schema registry in this process until SIGINT or SIGTERM, its
// tables in PGlite in the data directory, or on the PostgreSQL server of DATABASE_URL.

import { mkdirSync } from "node:fs";
import { join } from "node:path";

import {
  DEFAULT_REGISTRY_PORT,
  DEFAULT_SCHEMA_BYTES_MAX,
  DEFAULT_SUBJECTS_MAX,
  DEFAULT_VERSIONS_PER_SUBJECT_MAX,
  type RunningRegistry,
} from "../../registry/index.js";
import { isPostgresUrl } from "../../store/index.js";
import { choiceOption, integerOption, stringOption, type OptionValues } from "../args.js";
import { CliError, defineCommand, EXIT_FAILURE, EXIT_OK, type CommandIo } from "../command.js";
import { createCliLogger, LOG_LEVELS } from "../logger.js";
import { listenForShutdown } from "../signals.js";

export const REGISTRY_ENV_PREFIX = "SLUICE_REGISTRY_";
export const DEFAULT_REGISTRY_DATA_DIR = "./data";
const SHUTDOWN_TIMEOUT_MS = 30_000;

export const registryOptions = {
  host: stringOption({ description: "Address to listen on", valueName: "host", default: "127.0.0.1" }),
  port: integerOption({
    description: "Port to listen on; 0 picks a free one",
    min: 0,
    max: 65_535,
    default: DEFAULT_REGISTRY_PORT,
  }),
  dataDir: stringOption({
    description: "Directory for PGlite's database (the registry's tables are in its registry/ folder)",
    valueName: "dir",
    default: DEFAULT_REGISTRY_DATA_DIR,
  }),
  databaseUrl: stringOption({
    description: "Keep the registry's tables on this PostgreSQL server instead of PGlite",
    valueName: "postgres://…",
    env: "DATABASE_URL",
  }),
  schemaBytesMax: integerOption({
    description: "Largest schema accepted",
    min: 1,
    max: 16 * 1024 * 1024,
    default: DEFAULT_SCHEMA_BYTES_MAX,
  }),
  subjectsMax: integerOption({ description: "Most subjects kept", min: 1, default: DEFAULT_SUBJECTS_MAX }),
  versionsPerSubjectMax: integerOption({
    description: "Most versions of one subject",
    min: 1,
    default: DEFAULT_VERSIONS_PER_SUBJECT_MAX,
  }),
  logLevel: choiceOption({ description: "Log level (JSON logs on stderr)", choices: LOG_LEVELS, default: "info" }),
};

export type RegistryOptionValues = OptionValues<typeof registryOptions>;

async function runRegistry(options: RegistryOptionValues, io: CommandIo): Promise<number> {
  const url = options.databaseUrl === undefined || options.databaseUrl === "" ? null : options.databaseUrl;
  if (url !== null && !isPostgresUrl(url)) {
    throw new CliError("DATABASE_URL must be a postgres:// or postgresql:// URL", "Fix it, or unset it to use PGlite.");
  }
  const logger = createCliLogger(options.logLevel, io.stderr);
  const shutdown = listenForShutdown((signal) => {
    logger.warn({ signal }, "second signal: exiting without finishing the graceful stop");
    process.exit(EXIT_FAILURE);
  });
  let running: RunningRegistry;
  try {
    const dataDir = url === null ? join(options.dataDir, "registry") : null;
    if (dataDir !== null) mkdirSync(dataDir, { recursive: true });
    // Loaded here so that other commands start without loading the registry.
    const { startRegistry } = await import("../../registry/index.js");
    running = await startRegistry({
      host: options.host,
      port: options.port,
      url,
      dataDir,
      limits: {
        schemaBytesMax: options.schemaBytesMax,
        subjectsMax: options.subjectsMax,
        versionsPerSubjectMax: options.versionsPerSubjectMax,
      },
      logger,
    });
  } catch (error) {
    shutdown.dispose();
    const code = typeof error === "object" && error !== null && "code" in error ? String(error.code) : "";
    const reason = error instanceof Error ? error.message : String(error);
    if (code === "EADDRINUSE") {
      throw new CliError(`${options.host}:${options.port} is already in use`, "Pick another port with --port.", {
        cause: error,
      });
    }
    throw new CliError(`the registry did not start: ${reason}`, "Check the data directory or DATABASE_URL.", {
      cause: error,
    });
  }
  io.stdout.write(`sluice registry listening on ${running.address}\n`);
  const signal = await shutdown.requested;
  logger.info({ signal }, "stopping");
  const timer = setTimeout(() => process.exit(EXIT_FAILURE), SHUTDOWN_TIMEOUT_MS);
  timer.unref();
  try {
    await running.close();
  } finally {
    clearTimeout(timer);
  }
  return EXIT_OK;
}

export const registryCommand = defineCommand({
  name: "registry",
  summary: "Run the schema registry (Confluent-compatible REST API)",
  details: [
    `Prints one line "sluice registry listening on <host>:<port>" on stdout once it accepts requests; logs go to ` +
      "stderr. Schemas are kept in PGlite in the data directory, or on the PostgreSQL server of DATABASE_URL, " +
      "which several registry processes may share. SIGINT or SIGTERM stops it.",
  ],
  examples: ["sluice registry --port 8081 --data-dir ./data", "DATABASE_URL=postgres://localhost/app sluice registry"],
  arguments: { options: registryOptions, positionals: [], envPrefix: REGISTRY_ENV_PREFIX },
  run: ({ options }, io) => runRegistry(options, io),
});
