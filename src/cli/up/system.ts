// Starts the parts of the system that `sluice up` runs in this process, in dependency order: the embedded broker,
// the database (PGlite or a server) with its migrations, the outbox relay, the message board's worker, and the HTTP
// server with the API, WebSocket gateway and web page. Stopping goes in reverse, so that nothing still running
// depends on something already stopped.

import { mkdirSync } from "node:fs";

import type { Logger } from "pino";

import { messageBoardRoutes } from "../../apps/messages/routes.js";
import { MESSAGE_TOPICS } from "../../apps/messages/topics.js";
import { MESSAGES_MIGRATIONS_COMPONENT, MESSAGES_MIGRATIONS_DIR } from "../../apps/messages/migrations.js";
import { createMessagesWorker } from "../../apps/messages/worker.js";
import { createAuth } from "../../gateway/auth/auth.js";
import {
  componentReadinessCheck,
  databaseReadinessCheck,
  migrationsReadinessCheck,
  probeReadinessCheck,
  type ReadinessCheck,
} from "../../gateway/readiness.js";
import { createGateway } from "../../gateway/server.js";
import { attachWebSocketGateway } from "../../gateway/websocket/index.js";
import { openDatabase, runMigrations, type Database } from "../../store/index.js";
import { createKafkaClient, ensureTopics, OutboxRelay, type KafkaClient } from "../../toolkit/index.js";
import type { Environment } from "../args.js";
import { dataPaths, type UpConfig } from "./config.js";
import { lockDataDir } from "./data-dir-lock.js";

export interface SystemAddresses {
  /** The web page and API, e.g. "http://127.0.0.1:8080"; null when this process runs no api role. */
  http: string | null;
  /** The bootstrap address of the Kafka endpoint in use. */
  kafka: string;
  /** True when the broker runs in this process. */
  embeddedBroker: boolean;
  /** "PGlite in <dir>" or the server URL without its password; null when no role here uses the database. */
  database: string | null;
}

export interface RunningSystem {
  readonly addresses: SystemAddresses;
  /** Stops every part in reverse order; resolves false when a part failed to stop cleanly. */
  stop(): Promise<boolean>;
}

interface StartedPart {
  readonly name: string;
  stop(): Promise<void>;
}

/** The server URL with any password hidden, fit for printing. */
export function redactDatabaseUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== "") parsed.password = "*****";
    return parsed.toString();
  } catch {
    return "postgres://…";
  }
}

/**
 * Starts the roles config.roles names. When a part fails to start, the parts already started are stopped again
 * before the error is rethrown.
 */
export async function startSystem(config: UpConfig, env: Environment, logger: Logger): Promise<RunningSystem> {
  const started: StartedPart[] = [];
  const paths = dataPaths(config.dataDir);
  const roles = config.roles;
  const usesDatabase = roles.has("api") || roles.has("worker") || roles.has("relay");

  const stopAll = async (): Promise<boolean> => {
    let clean = true;
    while (started.length > 0) {
      const part = started.pop() as StartedPart;
      try {
        await part.stop();
        logger.info({ part: part.name }, `${part.name} stopped`);
      } catch (error) {
        clean = false;
        logger.error({ err: error, part: part.name }, `${part.name} did not stop cleanly`);
      }
    }
    return clean;
  };

  const addresses: SystemAddresses = {
    http: null,
    kafka: (config.kafkaBrokers ?? [`${config.brokerHost}:${config.brokerPort}`]).join(","),
    embeddedBroker: roles.has("broker"),
    database: null,
  };

  try {
    if (roles.has("broker")) {
      mkdirSync(paths.broker, { recursive: true });
      // Loaded only here, so that processes without the broker role never load the broker.
      const { startBroker } = await import("../../broker/index.js");
      const broker = await startBroker({
        host: config.brokerHost,
        port: config.brokerPort,
        dataDir: paths.broker,
        logger: logger.child({ part: "broker" }),
      });
      started.push({ name: "broker", stop: () => broker.close() });
      if (config.kafkaBrokers === null) addresses.kafka = broker.address;
      logger.info({ address: broker.address }, "broker listening");
    }
    if (!usesDatabase) return { addresses, stop: stopAll };

    let database: Database;
    if (config.databaseUrl === null) {
      const unlock = lockDataDir(paths.database, paths.databaseLock);
      started.push({ name: "database lock", stop: async () => unlock() });
      database = await openDatabase({
        dataDir: paths.database,
        schema: config.databaseSchema,
        logger: logger.child({ part: "database" }),
      });
      addresses.database = `PGlite in ${paths.database}`;
    } else {
      database = await openDatabase({
        url: config.databaseUrl,
        schema: config.databaseSchema,
        poolSize: config.databasePoolSize,
        connectTimeoutMs: config.databaseConnectTimeoutMs,
        logger: logger.child({ part: "database" }),
      });
      addresses.database = redactDatabaseUrl(config.databaseUrl);
    }
    started.push({ name: "database", stop: () => database.close() });
    await runMigrations(database, {
      directory: MESSAGES_MIGRATIONS_DIR,
      component: MESSAGES_MIGRATIONS_COMPONENT,
      logger: logger.child({ part: "database" }),
    });

    const client: KafkaClient = createKafkaClient({
      brokers: addresses.kafka.split(","),
      clientId: "sluice-up",
      logger: logger.child({ part: "kafka" }),
      // SASL and TLS settings in the environment are meant for an external cluster, never the embedded broker.
      env: config.kafkaBrokers === null ? {} : env,
    });
    try {
      await ensureTopics(
        client,
        MESSAGE_TOPICS.map((topic) => ({ name: topic.name, partitions: topic.partitions })),
      );
    } catch (error) {
      // The broker may be down for now; accepted messages wait in the outbox, and the relay retries.
      logger.warn({ err: error }, "could not make sure the message board's topics exist; continuing");
    }

    const readinessChecks: ReadinessCheck[] = [
      databaseReadinessCheck(database),
      migrationsReadinessCheck(database, [
        {},
        { component: MESSAGES_MIGRATIONS_COMPONENT, directory: MESSAGES_MIGRATIONS_DIR },
      ]),
    ];

    if (roles.has("relay")) {
      const relay = new OutboxRelay({ db: database, client, logger: logger.child({ part: "relay" }) });
      await relay.start();
      started.push({ name: "outbox relay", stop: () => relay.stop() });
      readinessChecks.push(componentReadinessCheck(relay, "relay"));
    }

    if (roles.has("worker")) {
      const worker = createMessagesWorker({
        client,
        db: database,
        sessionTimeoutMs: config.workerSessionTimeoutMs,
        heartbeatIntervalMs: Math.max(100, Math.floor(config.workerSessionTimeoutMs / 5)),
        logger: logger.child({ part: "worker" }),
      });
      await worker.start();
      started.push({ name: "messages worker", stop: () => worker.stop() });
      readinessChecks.push(componentReadinessCheck(worker, "worker"));
    }

    if (roles.has("api")) {
      const admin = client.admin();
      started.push({ name: "broker probe", stop: () => admin.disconnect() });
      readinessChecks.push(probeReadinessCheck("broker", () => admin.listTopics()));
      const auth = await createAuth({
        mode: config.authMode,
        database,
        jwtSecret: config.jwtSecret,
        dataDir: paths.auth,
        logger: logger.child({ part: "auth" }),
      });
      const gateway = await createGateway({
        host: config.host,
        port: config.port,
        logger: logger.child({ part: "http" }),
        auth,
        bodyBytesMax: config.bodyBytesMax,
        readinessChecks,
      });
      started.push({ name: "http server", stop: () => gateway.close() });
      await gateway.register(
        messageBoardRoutes({
          db: database,
          requireAuth: auth.requireAuth,
          textCharsMax: config.messageTextCharsMax,
        }),
      );
      attachWebSocketGateway(gateway.app, {
        kafka: client,
        verifyToken: config.authMode === "off" ? undefined : auth.verifyToken,
        authRequired: config.authMode === "required",
        sendBufferBytesMax: config.sendBufferBytesMax,
        subscriptionsPerConnectionMax: config.subscriptionsPerConnectionMax,
        logger: logger.child({ part: "websocket" }),
      });
      addresses.http = await gateway.listen();
    }
    return { addresses, stop: stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
