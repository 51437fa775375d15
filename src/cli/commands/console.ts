// `sluice console`: the web console alone, against any Kafka cluster (and, when given, a schema registry and the
// toolkit's database), until SIGINT or SIGTERM.

import { startConsoleRole } from "../../console/role.js";
import { AUTH_MODES, createAuth, type Auth } from "../../gateway/auth/auth.js";
import { createGateway } from "../../gateway/server.js";
import { isPostgresUrl, openDatabase, runMigrations, type Database } from "../../store/index.js";
import { createKafkaClient } from "../../toolkit/index.js";
import { ArgumentError, choiceOption, integerOption, listOption, stringOption, type OptionValues } from "../args.js";
import { CliError, defineCommand, EXIT_FAILURE, EXIT_OK, type CommandIo } from "../command.js";
import { connectionOptions, sluiceClientSecurity, toolkitClientSecurity } from "../connection-options.js";
import { explainKafkaError } from "../kafka-client.js";
import { KafkaClientError, KafkaClientErrorCode } from "../../kafka/client/index.js";
import { createCliLogger, LOG_LEVELS } from "../logger.js";
import { listenForShutdown } from "../signals.js";

export const CONSOLE_ENV_PREFIX = "SLUICE_CONSOLE_";
export const DEFAULT_CONSOLE_PORT = 8080;

export const consoleOptions = {
  host: stringOption({ description: "Address to listen on", valueName: "host", default: "127.0.0.1" }),
  port: integerOption({
    description: "HTTP port; 0 picks a free one",
    min: 0,
    max: 65_535,
    default: DEFAULT_CONSOLE_PORT,
  }),
  brokers: connectionOptions.brokers,
  tls: connectionOptions.tls,
  tlsCa: connectionOptions.tlsCa,
  saslMechanism: connectionOptions.saslMechanism,
  saslUsername: connectionOptions.saslUsername,
  saslPassword: connectionOptions.saslPassword,
  registryUrl: stringOption({ description: "The schema registry's URL", valueName: "url" }),
  databaseUrl: stringOption({
    description: "PostgreSQL with the toolkit's tables (outbox, inbox); also keeps accounts for --auth-mode",
    valueName: "url",
    env: "DATABASE_URL",
  }),
  authMode: choiceOption({
    description: "off: anyone may view and change; required: viewers sign in, the admin role changes",
    choices: AUTH_MODES,
    default: "off",
  }),
  jwtSecret: stringOption({
    description: "Token signing secret shared with the gateway",
    valueName: "secret",
    env: "JWT_SECRET",
  }),
  adminUsers: listOption({ description: "Users given the admin role", valueName: "name[,name]" }),
  logLevel: choiceOption({ description: "Log level (JSON logs on stderr)", choices: LOG_LEVELS, default: "info" }),
};

export type ConsoleOptionValues = OptionValues<typeof consoleOptions>;

export async function runConsole(options: ConsoleOptionValues, io: CommandIo): Promise<number> {
  if (options.databaseUrl !== undefined && !isPostgresUrl(options.databaseUrl)) {
    throw new ArgumentError("--database-url must be a postgres:// or postgresql:// URL");
  }
  if (options.authMode !== "off" && options.databaseUrl === undefined) {
    throw new ArgumentError(`--auth-mode ${options.authMode} keeps accounts in PostgreSQL; give --database-url too`);
  }
  // Checked before anything starts, so a SASL option without its partners is a usage error.
  const security = sluiceClientSecurity(options);
  const logger = createCliLogger(options.logLevel, io.stderr);
  const shutdown = listenForShutdown(() => process.exit(EXIT_FAILURE));
  let database: Database | null = null;
  const closers: Array<() => Promise<void>> = [];
  const closeAll = async () => {
    for (const close of closers.reverse()) await close().catch(() => undefined);
  };
  try {
    if (options.databaseUrl !== undefined) {
      database = await openDatabase({ url: options.databaseUrl, logger: logger.child({ part: "database" }) });
      const opened = database;
      closers.push(() => opened.close());
      if (options.authMode !== "off") await runMigrations(database, { logger: logger.child({ part: "database" }) });
    }
    let auth: Auth | null = null;
    if (options.authMode !== "off") {
      auth = await createAuth({
        mode: options.authMode,
        database,
        jwtSecret: options.jwtSecret ?? null,
        adminUsers: options.adminUsers ?? [],
        logger: logger.child({ part: "auth" }),
      });
    }
    const toolkitKafka = createKafkaClient({
      brokers: options.brokers,
      clientId: "sluice-console",
      env: {},
      ...toolkitClientSecurity(options),
    });
    const role = startConsoleRole({
      brokers: options.brokers,
      ...security,
      toolkitKafka,
      database,
      registryUrl: options.registryUrl ?? null,
      auth,
      logger: logger.child({ part: "console" }),
    });
    closers.push(() => role.stop());
    // Wrong credentials will not fix themselves: say so now rather than on every page. A cluster that is down may
    // come back, so the console starts anyway and its pages say it cannot reach the cluster.
    await role.console.context.kafka.admin.describeCluster().catch((error: unknown) => {
      if (error instanceof KafkaClientError && error.code === KafkaClientErrorCode.AUTHENTICATION_FAILED) {
        throw explainKafkaError(error, options.brokers);
      }
      logger.warn({ err: error }, "the console cannot reach the Kafka cluster yet; its pages will say so");
    });
    const gateway = await createGateway({ host: options.host, port: options.port, logger, auth });
    closers.push(() => gateway.close());
    gateway.app.get("/", async (_request, reply) => reply.redirect("/console/"));
    await gateway.register(role.plugin, { prefix: "/console" });
    const url = await gateway.listen();
    io.stdout.write(`sluice console at ${url}/console/ (Kafka ${options.brokers.join(",")})\n`);
  } catch (error) {
    shutdown.dispose();
    await closeAll();
    if (error instanceof CliError || error instanceof ArgumentError) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw new CliError(`the console did not start: ${reason}`, "Check the port, the database URL and the log above.", {
      cause: error,
    });
  }
  const signal = await shutdown.requested;
  logger.info({ signal }, "stopping the console");
  await closeAll();
  return EXIT_OK;
}

export const consoleCommand = defineCommand({
  name: "console",
  summary: "Run the web console against any Kafka cluster",
  details: [
    'Prints one line "sluice console at <url>" once it listens. It reads the cluster only through the Kafka ' +
      "protocol, schemas through the registry's REST API, and outbox and inbox through the toolkit's tables.",
    `Options can also come from the environment as ${CONSOLE_ENV_PREFIX}<OPTION>; the command line wins.`,
  ],
  examples: [
    "sluice console --port 8080 --brokers localhost:9092",
    "sluice console --brokers kafka:9092 --registry-url http://registry:8081 --database-url postgres://db/app",
    "sluice console --brokers kafka:9093 --tls-ca ca.pem --sasl-mechanism scram-sha-512 --sasl-username console",
  ],
  arguments: { options: consoleOptions, positionals: [], envPrefix: CONSOLE_ENV_PREFIX },
  run: ({ options }, io) => runConsole(options, io),
});
