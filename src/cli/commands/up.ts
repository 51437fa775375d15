// `sluice up`: the whole event-driven system on this machine, in one process by default (the embedded broker,
// PGlite, the HTTP server with the API, WebSocket gateway and message board, the outbox relay and the worker), or
// one role per process with --only. SIGINT or SIGTERM stops it gracefully; a second signal exits at once.

import type { Writable } from "node:stream";

import { CliError, defineCommand, EXIT_FAILURE, EXIT_OK, type CommandIo } from "../command.js";
import { prepareDataDir } from "../data-dir.js";
import { createCliLogger } from "../logger.js";
import { explainDataDirInUse } from "./broker.js";
import { listenForShutdown } from "../signals.js";
import { resolveUpConfig, upOptions, type UpConfig, type UpOptionValues } from "../up/config.js";
import type { SystemAddresses } from "../up/system-state.js";

export const UP_ENV_PREFIX = "SLUICE_";
/** Width of the labels in the start-up summary. */
const LABEL_CHARS = 14;

function printAddresses(out: Writable, config: UpConfig, addresses: SystemAddresses): void {
  const roles = [...config.roles].join(", ");
  const lines = [`Sluice is up (${roles}).`];
  const label = (text: string): string => `  ${text.padEnd(LABEL_CHARS)} `;
  for (const app of addresses.apps) lines.push(`${label(app.title)}${app.url}`);
  if (addresses.http !== null) {
    if (addresses.apps.length > 0) lines.push(`${label("WebSocket")}${addresses.http.replace(/^http/, "ws")}/ws`);
    lines.push(`${label("Health")}${addresses.http}/healthz  ${addresses.http}/readyz  ${addresses.http}/metrics`);
  }
  const kafkaNote = addresses.embeddedBroker ? "embedded" : "external";
  lines.push(`${label("Kafka")}${addresses.kafka} (${kafkaNote}; try: kcat -b ${addresses.kafka} -L)`);
  if (addresses.amqp !== null) {
    const queues = addresses.amqp.queues.length === 0 ? "no work queues here" : addresses.amqp.queues.join(", ");
    lines.push(`${label("RabbitMQ")}${addresses.amqp.address} (${queues})`);
  }
  if (addresses.database !== null) lines.push(`${label("Database")}${addresses.database}`);
  if (addresses.registry !== null) {
    const registryNote = addresses.embeddedRegistry ? "embedded" : "external";
    lines.push(`${label("Schemas")}${addresses.registry} (${registryNote}; try: curl ${addresses.registry}/subjects)`);
  }
  lines.push("Stop with Ctrl+C or SIGTERM.");
  out.write(lines.join("\n") + "\n");
}

/** Turns a failure to start into a message that says what to do; the parts already started have been stopped. */
function explainStartFailure(error: unknown): CliError {
  if (error instanceof CliError) return error;
  const dataDirInUse = explainDataDirInUse(error);
  if (dataDirInUse !== null) return dataDirInUse;
  const reason = error instanceof Error ? error.message : String(error);
  const code = typeof error === "object" && error !== null && "code" in error ? String(error.code) : "";
  if (code === "EADDRINUSE") {
    return new CliError(
      `a port is already in use: ${reason}`,
      "Stop the other process (another sluice up?), or choose other ports with --port and --broker-port (0 picks " +
        "a free one).",
      { cause: error },
    );
  }
  const path = typeof error === "object" && error !== null && "path" in error ? String(error.path) : null;
  if (path !== null) {
    const syscall = typeof error === "object" && error !== null && "syscall" in error ? String(error.syscall) : "use";
    return new CliError(`cannot ${syscall} ${path}: ${reason}`, "Check that this user may write in --data-dir.", {
      cause: error,
    });
  }
  if (code === "EACCES" || code === "EADDRNOTAVAIL") {
    return new CliError(`cannot listen: ${reason}`, "Use a port above 1023 and an address of this machine.", {
      cause: error,
    });
  }
  return new CliError(`sluice up did not start: ${reason}`, "Nothing was left running; see the log above.", {
    cause: error,
  });
}

/** Whether this process keeps anything in the data directory: the embedded broker, PGlite or the token secret. */
function usesDataDir(config: UpConfig): boolean {
  const servesHttp = config.runningApps.some((app) =>
    app.roles.some((role) => role.http && config.roles.has(role.name)),
  );
  return config.roles.has("broker") || config.databaseUrl === null || (servesHttp && config.jwtSecret === null);
}

export async function runUp(options: UpOptionValues, io: CommandIo): Promise<number> {
  const config = resolveUpConfig(options, io.env);
  if (usesDataDir(config)) prepareDataDir(config.dataDir);
  const logger = createCliLogger(config.logLevel, io.stderr);
  const shutdown = listenForShutdown((signal) => {
    logger.warn({ signal }, "second signal: exiting without finishing the graceful stop");
    process.exit(EXIT_FAILURE);
  });
  let system;
  try {
    // Loaded here, so that the other commands start without loading the whole system.
    const { startSystem } = await import("../up/system.js");
    system = await startSystem(config, io.env, logger);
  } catch (error) {
    shutdown.dispose();
    throw explainStartFailure(error);
  }
  printAddresses(io.stdout, config, system.addresses);
  const signal = await shutdown.requested;
  logger.info({ signal }, "stopping: finishing requests in flight, then the workers, the database and the broker");
  const timer = setTimeout(() => {
    logger.error({ shutdownTimeoutMs: config.shutdownTimeoutMs }, "graceful stop took too long; exiting");
    process.exit(EXIT_FAILURE);
  }, config.shutdownTimeoutMs);
  timer.unref();
  let clean: boolean;
  try {
    clean = await system.stop();
  } finally {
    clearTimeout(timer);
  }
  io.stdout.write(clean ? "Sluice stopped.\n" : "Sluice stopped, but some parts did not stop cleanly (see the log).\n");
  return clean ? EXIT_OK : EXIT_FAILURE;
}

export const upCommand = defineCommand({
  name: "up",
  summary: "Run the whole system on this machine: broker, database, API, WebSocket gateway, web page and workers",
  details: [
    "With no settings it starts everything in this process: the Kafka-compatible broker on --broker-port, PGlite " +
      "in --data-dir, and the HTTP server on --port with the message board, its API and the WebSocket gateway at " +
      "/ws, plus the outbox relay and the worker. It prints the URLs once it is ready.",
    "AMQP_URL (or --transport) carries the apps' work queues over RabbitMQ (the message board's task_queue), the " +
      "live topics staying on the broker.",
    "KAFKA_BROKERS (or --kafka-brokers) uses that Kafka cluster instead of the embedded broker; DATABASE_URL (or " +
      "--database-url) uses that PostgreSQL server instead of PGlite. --only runs some roles, so that the same code " +
      "runs as separate processes or pods (separate processes need DATABASE_URL).",
    `Settings come from flags, then environment variables (${UP_ENV_PREFIX}<SETTING>, plus KAFKA_BROKERS and ` +
      "DATABASE_URL), then the JSON file given with --config, then the defaults.",
  ],
  examples: [
    "sluice up",
    "sluice up --port 3000 --data-dir /var/lib/sluice",
    "sluice up --apps messages --transport amqp://guest:guest@127.0.0.1:5672",
    "DATABASE_URL=postgres://app@db/app KAFKA_BROKERS=kafka:9092 sluice up --only api",
    "sluice up --config sluice.json",
  ],
  arguments: { options: upOptions, positionals: [], envPrefix: UP_ENV_PREFIX },
  run: ({ options }, io) => runUp(options, io),
});
