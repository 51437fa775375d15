// Starts the parts of the system that `sluice up` runs in this process, in dependency order: the embedded broker,
// the database (PGlite or a server) with each service's schema and migrations, the apps' topics, each role's
// consumers and relays, and the HTTP server with every app's routes and the WebSocket gateway. They run as one
// toolkit service, which stops them in reverse order, so nothing still running depends on something already stopped.

import { mkdirSync } from "node:fs";

import type { Logger } from "pino";

import { liveTopicsOf, type AppServiceManifest } from "../../apps/app.js";
import { APPS } from "../../apps/catalogue.js";
import { createAuth } from "../../gateway/auth/auth.js";
import { probeReadinessCheck } from "../../gateway/readiness.js";
import { createGateway } from "../../gateway/server.js";
import { startConsoleRole } from "../../console/role.js";
import { attachWebSocketGateway, topicAccessCheck } from "../../gateway/websocket/index.js";
import type { Database } from "../../store/index.js";
import {
  createAmqpClient,
  createKafkaClient,
  createRoutedClient,
  createService,
  defineComponent,
  ensureTopics,
  ToolkitError,
  ToolkitErrorCode,
  type Component,
  type AmqpClient,
  type KafkaClient,
  type TransportClient,
} from "../../toolkit/index.js";
import type { Environment } from "../args.js";
import { dataPaths, type UpConfig } from "./config.js";
import { addBaseDatabase, addServiceDatabase } from "./system-databases.js";
import { addRole } from "./system-roles.js";
import type { AddPart, RunningRole, SystemAddresses, SystemState } from "./system-state.js";

export interface RunningSystem {
  readonly addresses: SystemAddresses;
  /** Stops every part in reverse order; resolves false when a part failed to stop cleanly. */
  stop(): Promise<boolean>;
}

/**
 * With --transport: an AMQP client for the running apps' work queues (AppImplementation.amqpQueues), and a routed
 * client that sends those topics to RabbitMQ and everything else to the broker. The queues are declared at start, so
 * that events accepted before any worker runs wait in them; RabbitMQ being down only logs a warning, since accepted
 * events wait in the outbox and the relays retry.
 */
function addAmqpTransport(
  url: string,
  runningRoles: readonly RunningRole[],
  state: SystemState,
  addresses: SystemAddresses,
  logger: Logger,
  part: AddPart,
): void {
  let amqp: AmqpClient | null = null;
  part(
    "amqp transport",
    async () => {
      const queueNames: Record<string, string> = {};
      for (const { implementation } of runningRoles) Object.assign(queueNames, implementation.amqpQueues ?? {});
      const client = createAmqpClient({ url, queueNames, logger: logger.child({ part: "amqp" }) });
      amqp = client;
      const routes = new Map(Object.keys(queueNames).map((topic) => [topic, client as TransportClient]));
      state.transport = createRoutedClient(state.kafka as KafkaClient, routes);
      const admin = client.admin();
      try {
        await admin.ensureTopics(Object.keys(queueNames).map((name) => ({ name, partitions: 1 })));
      } catch (error) {
        logger.warn({ err: error }, `could not declare the work queues on RabbitMQ at ${client.address}; continuing`);
      } finally {
        await admin.disconnect().catch(() => undefined);
      }
      addresses.amqp = { address: client.address, queues: Object.values(queueNames) };
      logger.info({ address: client.address, queues: Object.values(queueNames) }, "work queues on RabbitMQ");
    },
    async () => {
      await (amqp as AmqpClient | null)?.close();
    },
  );
}

/**
 * Unwraps the toolkit services' start errors (the system's, and a role's within it), so the CLI can explain the
 * part's own (a port in use, a lock held).
 */
function startFailure(error: unknown): unknown {
  let failure = error;
  while (failure instanceof ToolkitError && failure.code === ToolkitErrorCode.SERVICE_START_FAILED && failure.cause) {
    failure = failure.cause;
  }
  return failure;
}

function servicesOf(roles: readonly RunningRole[]): AppServiceManifest[] {
  const services: AppServiceManifest[] = [];
  for (const { app, role } of roles) {
    const service = app.services.find((candidate) => candidate.name === role.service);
    if (service !== undefined && !services.includes(service)) services.push(service);
  }
  return services;
}

/**
 * Starts the roles config.roles names. When a part fails to start, the parts already started are stopped again
 * before the error is rethrown.
 */
export async function startSystem(config: UpConfig, env: Environment, logger: Logger): Promise<RunningSystem> {
  const paths = dataPaths(config.dataDir);
  const runningRoles: RunningRole[] = [];
  for (const app of config.runningApps) {
    const implementation = await app.load();
    for (const role of app.roles) if (config.roles.has(role.name)) runningRoles.push({ app, implementation, role });
  }
  const services = servicesOf(runningRoles);
  const consoleRole = config.roles.has("console");
  const httpRoles = runningRoles.filter((running) => running.role.http);
  const needsHttp = httpRoles.length > 0 || consoleRole;
  const needsBaseDatabase =
    needsHttp ||
    config.roles.has("registry") ||
    services.some((service) => config.serviceDatabaseUrls[service.name] === undefined);

  const addresses: SystemAddresses = {
    http: null,
    apps: [],
    kafka: (config.kafkaBrokers ?? [`${config.brokerHost}:${config.brokerPort}`]).join(","),
    embeddedBroker: config.roles.has("broker"),
    database: null,
    registry: config.registryUrl,
    embeddedRegistry: config.roles.has("registry"),
    amqp: null,
  };
  const state: SystemState = {
    kafka: null,
    transport: null,
    database: null,
    services: new Map(),
    auth: null,
    console: null,
    routes: [],
    readinessChecks: [],
  };
  const components: Component[] = [];
  const part: AddPart = (name, start, stop) => {
    components.push(
      defineComponent({
        name,
        start,
        stop: async () => {
          await stop?.();
          logger.info({ part: name }, `${name} stopped`);
        },
      }),
    );
  };

  if (config.roles.has("broker")) {
    let closeBroker: () => Promise<void> = async () => {};
    part(
      "broker",
      async () => {
        mkdirSync(paths.broker, { recursive: true });
        // Loaded only here, so that processes without the broker role never load the broker.
        const { startBroker } = await import("../../broker/index.js");
        const broker = await startBroker({
          host: config.brokerHost,
          port: config.brokerPort,
          advertisedHost: config.brokerAdvertisedHost,
          dataDir: paths.broker,
          logger: logger.child({ part: "broker" }),
        });
        closeBroker = () => broker.close();
        if (config.kafkaBrokers === null) addresses.kafka = broker.address;
        logger.info({ address: broker.address }, "broker listening");
      },
      () => closeBroker(),
    );
  }

  if (needsBaseDatabase) addBaseDatabase(config, paths, addresses, state, logger, part);
  if (config.roles.has("registry")) {
    let closeRegistry: () => Promise<void> = async () => {};
    part(
      "registry",
      async () => {
        // Loaded only here, so that processes without the registry role never load it.
        const { startRegistry, REGISTRY_DATABASE_SCHEMA } = await import("../../registry/index.js");
        const registry = await startRegistry({
          host: config.host,
          port: config.registryPort,
          database: (state.database as Database).withSchema(REGISTRY_DATABASE_SCHEMA),
          logger: logger.child({ part: "registry" }),
        });
        closeRegistry = () => registry.close();
        addresses.registry = registry.url;
        logger.info({ url: registry.url }, "schema registry listening");
      },
      () => closeRegistry(),
    );
  }
  for (const service of services) addServiceDatabase(config, service, runningRoles, state, logger, part);

  if (runningRoles.length > 0 || consoleRole) {
    part("kafka client", async () => {
      state.kafka = createKafkaClient({
        brokers: addresses.kafka.split(","),
        clientId: "sluice-up",
        logger: logger.child({ part: "kafka" }),
        // SASL and TLS settings in the environment are meant for an external cluster, never the embedded broker;
        // the choice of client library (KAFKA_CLIENT) holds for both.
        env: config.kafkaBrokers === null ? { KAFKA_CLIENT: env.KAFKA_CLIENT } : env,
      });
      const topics = [...new Set(runningRoles.map((running) => running.implementation))].flatMap(
        (implementation) => implementation.topics,
      );
      try {
        await ensureTopics(state.kafka, topics);
      } catch (error) {
        // The broker may be down for now; accepted events wait in the outbox, and the relays retry.
        logger.warn({ err: error }, "could not make sure the apps' topics exist; continuing");
      }
      state.transport = state.kafka;
    });
    if (config.transport !== null) addAmqpTransport(config.transport, runningRoles, state, addresses, logger, part);
  }

  if (needsHttp) {
    let disconnectProbe: () => Promise<void> = async () => {};
    part(
      "auth",
      async () => {
        const admin = (state.kafka as KafkaClient).admin();
        disconnectProbe = () => admin.disconnect();
        state.readinessChecks.push(probeReadinessCheck("broker", () => admin.listTopics()));
        state.auth = await createAuth({
          mode: config.authMode,
          database: state.database as Database,
          jwtSecret: config.jwtSecret,
          adminUsers: config.adminUsers,
          dataDir: paths.auth,
          logger: logger.child({ part: "auth" }),
        });
      },
      () => disconnectProbe(),
    );
  }

  if (consoleRole) {
    part(
      "console",
      async () => {
        state.console = startConsoleRole({
          brokers: addresses.kafka.split(","),
          toolkitKafka: state.kafka,
          database: state.database,
          registryUrl: addresses.registry,
          auth: state.auth,
          logger: logger.child({ part: "console" }),
        });
      },
      async () => state.console?.stop(),
    );
  }

  for (const running of runningRoles) addRole(config, running, env, state, addresses, logger, components);

  // Every process serves /healthz, /readyz and /metrics, so that a worker or a broker run as its own container or
  // pod has the same probes as the API; only HTTP roles add their routes and the WebSocket gateway.
  {
    let closeGateway: () => Promise<void> = async () => {};
    part(
      "http server",
      async () => {
        const mountedApps = new Set(state.routes.map((route) => route.app));
        const [aloneAtRoot] = mountedApps.size === 1 ? mountedApps : [];
        const gateway = await createGateway({
          host: config.host,
          port: config.port,
          logger: logger.child({ part: "http" }),
          auth: state.auth,
          // An app with accounts of its own, served alone at the root, answers /api/auth/login there itself.
          authRoutes: aloneAtRoot?.ownAccountRoutes !== true,
          bodyBytesMax: config.bodyBytesMax,
          readinessChecks: state.readinessChecks,
        });
        closeGateway = () => gateway.close();
        for (const { app, plugin } of state.routes) {
          await gateway.register(plugin, { prefix: `/${app.name}` });
          // The message board keeps the root paths it always had; an app that runs alone is served there too, so
          // that its own clients' commands (curl localhost:8001/api/…) work unchanged.
          if (app.name === "messages" || mountedApps.size === 1) await gateway.register(plugin);
        }
        if (state.console !== null) await gateway.register(state.console.plugin, { prefix: "/console" });
        if (httpRoles.length > 0) {
          attachWebSocketGateway(gateway.app, {
            kafka: state.kafka as KafkaClient,
            verifyToken: config.authMode === "off" ? undefined : state.auth?.verifyToken,
            authRequired: config.authMode === "required",
            sendBufferBytesMax: config.sendBufferBytesMax,
            subscriptionsPerConnectionMax: config.subscriptionsPerConnectionMax,
            // Every app's declarations, not only those running here: a private stream stays private on every gateway.
            allowTopic: topicAccessCheck(liveTopicsOf([...APPS, ...config.runningApps])),
            logger: logger.child({ part: "websocket" }),
          });
        }
        addresses.http = await gateway.listen();
        for (const app of config.runningApps) {
          if (!mountedApps.has(app)) continue;
          const root = app.name === "messages" || mountedApps.size === 1;
          const url = `${addresses.http}${root ? "" : `/${app.name}`}${app.pagePath}`;
          addresses.apps.push({ name: app.name, title: app.title, url });
        }
        if (state.console !== null)
          addresses.apps.push({ name: "console", title: "Console", url: `${addresses.http}/console/` });
      },
      () => closeGateway(),
    );
  }

  const system = createService({
    name: "sluice",
    components,
    signals: [],
    exitProcess: false,
    shutdownTimeoutMs: config.shutdownTimeoutMs,
    logger: logger.child({ part: "system" }),
  });
  try {
    await system.start();
  } catch (error) {
    throw startFailure(error);
  }
  return { addresses, stop: () => system.stop() };
}
