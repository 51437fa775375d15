// The jobs board's roles. Each service role serves its routes on the process's HTTP server (under /jobs/, and at
// the root when the app runs alone) and runs its consumers and outbox relay; the user, job and application
// services also listen on ports of their own (8001, 8002, 8003 by default when the whole app runs alone), so that
// the team's commands work as written. The gateway role serves the page and /health/ and rate-limits every route.

import type { FastifyPluginAsync } from "fastify";

import { webDirectory, webPage } from "../../gateway/static-files.js";
import type { Database } from "../../store/database.js";
import {
  createConsumer,
  DEFAULT_RELAY_EXCLUSIVE_IDLE_POLL_INTERVAL_MS,
  DEFAULT_RELAY_IDLE_POLL_INTERVAL_MS,
  type Component,
  type TopicDefinition,
} from "../../toolkit/index.js";
import type { AppImplementation, RoleContext, RoleParts } from "../app.js";
import { analyticsRoutes, recordEvent } from "./analytics.js";
import { applicationsRoutes, jobEventForApplications } from "./applications.js";
import { listingCache } from "./cache.js";
import { applicationEvents, JOBS_TOPICS, jobEvents, userEvents } from "./events.js";
import { forwardRoutes, resolveRemoteServices } from "./gateway.js";
import { healthRoute, hostOf, hostReport, serviceState, type JobsHost } from "./host.js";
import { authOf } from "./http.js";
import { jobsRoutes } from "./jobs.js";
import { keyValueStoreFor, type KeyValueStore } from "./key-value.js";
import { serviceListener, servicePortOf } from "./listener.js";
import { JOBS_GATEWAY_ROLE, JOBS_SERVICES, jobsServiceName, type JobsServiceName } from "./manifest.js";
import { notificationsRoutes, notifyOf } from "./notifications.js";
import { rateLimiterFromEnv } from "./rate-limit.js";
import { indexJobEvent, indexUserEvent, searchRoutes } from "./search.js";
import { usersRoutes } from "./users.js";

/** Heartbeats go out five times per session timeout, and never more often than every 100 ms. */
const HEARTBEATS_PER_SESSION = 5;
const HEARTBEAT_INTERVAL_MS_MIN = 100;

const migrationsOf = (service: JobsServiceName) => [
  { component: `jobs-${service}`, directory: new URL(`./migrations/${service}/`, import.meta.url) },
];

type Handler = Parameters<typeof createConsumer>[0]["handler"];

/**
 * Whether a consumer's batches let other work go first (the toolkit's lowPriority). Only search has a latency aim
 * (a new job searchable within 50 ms), and every service of the process shares one embedded database that runs one
 * transaction at a time, so the others wait for search's transaction rather than search for theirs.
 */
type Urgency = "urgent" | "background";

function consumer(
  context: RoleContext,
  db: Database,
  groupId: string,
  topics: readonly TopicDefinition<unknown>[],
  urgency: Urgency,
  handler: Handler,
) {
  const sessionTimeoutMs = context.settings.workerSessionTimeoutMs;
  return createConsumer({
    client: context.kafka,
    db,
    groupId,
    topics,
    name: groupId,
    sessionTimeoutMs,
    heartbeatIntervalMs: Math.max(HEARTBEAT_INTERVAL_MS_MIN, Math.floor(sessionTimeoutMs / HEARTBEATS_PER_SESSION)),
    logger: context.logger,
    lowPriority: urgency === "background",
    handler,
  });
}

/** A component that only closes the store when the role stops. */
function storeComponent(name: string, store: KeyValueStore): Component {
  return { name, ready: true, start: async () => {}, stop: () => store.close() };
}

interface ServiceParts {
  routes: FastifyPluginAsync;
  components: Component[];
  consumers: Component[];
  store: KeyValueStore | null;
}

function serviceParts(service: JobsServiceName, context: RoleContext, db: Database): ServiceParts {
  const auth = authOf(context.auth, context.role);
  switch (service) {
    case "users": {
      const sessions = keyValueStoreFor(context.env, context.logger);
      return {
        routes: usersRoutes({ db, auth, sessions, adminUsers: context.settings.adminUsers }),
        components: [context.outboxRelay(), storeComponent("jobs-users-sessions", sessions)],
        consumers: [],
        store: sessions,
      };
    }
    case "jobs": {
      const store = keyValueStoreFor(context.env, context.logger);
      const cache = listingCache(store, context.logger);
      // Every route that adds a job event wakes the relay after its commit, so it needs no notification; the slow
      // poll finds what a crashed process left behind. On PGlite no other process writes, and the relay takes over a
      // crashed one's rows at start, so the poll is only a last resort there.
      const relay = context.outboxRelay({
        listen: false,
        pollIntervalMs:
          db.kind === "pglite" ? DEFAULT_RELAY_EXCLUSIVE_IDLE_POLL_INTERVAL_MS : DEFAULT_RELAY_IDLE_POLL_INTERVAL_MS,
      });
      // Invalidated by the job events too, so that every instance of the service drops its stale listings.
      const invalidator = consumer(context, db, "jobs-listing-cache", [jobEvents], "background", () =>
        cache.invalidate(),
      );
      return {
        routes: jobsRoutes({ db, auth, cache, eventsCommitted: () => relay.wake() }),
        components: [relay, invalidator, storeComponent("jobs-listing-store", store)],
        consumers: [invalidator],
        store,
      };
    }
    case "applications": {
      const jobs = consumer(context, db, "jobs-applications-jobs", [jobEvents], "background", (event, tx) =>
        jobEventForApplications(tx, event.value as never),
      );
      return {
        routes: applicationsRoutes({ db, auth }),
        components: [context.outboxRelay(), jobs],
        consumers: [jobs],
        store: null,
      };
    }
    case "search": {
      const indexer = consumer(context, db, "jobs-search", [jobEvents, userEvents], "urgent", (event, tx) =>
        event.topic === jobEvents.name
          ? indexJobEvent(tx, event.value as never)
          : indexUserEvent(tx, event.value as never),
      );
      return { routes: searchRoutes({ db }), components: [indexer], consumers: [indexer], store: null };
    }
    case "notifications": {
      const notifier = consumer(
        context,
        db,
        "jobs-notifications",
        [userEvents, applicationEvents],
        "background",
        (event, tx) => notifyOf(tx, event as never),
      );
      return {
        routes: notificationsRoutes({ db, auth }),
        components: [context.outboxRelay(), notifier],
        consumers: [notifier],
        store: null,
      };
    }
    case "analytics": {
      const recorder = consumer(
        context,
        db,
        "jobs-analytics",
        [userEvents, jobEvents, applicationEvents],
        "background",
        (event, tx) => recordEvent(tx, event as never),
      );
      return { routes: analyticsRoutes({ db }), components: [recorder], consumers: [recorder], store: null };
    }
  }
}

/** The role's routes on the process's server: rate-limited when the gateway runs here, with /health/ once. */
function mounted(host: JobsHost, role: string, routes: FastifyPluginAsync | null): FastifyPluginAsync {
  return async (app) => {
    const limiter = host.rateLimiter;
    if (limiter !== null) app.addHook("onRequest", (request, reply) => limiter.onRequest(request, reply));
    if (routes !== null) await app.register(routes);
    if (host.healthOwner === role) healthRoute(app, () => hostReport(host));
  };
}

function startGateway(context: RoleContext): RoleParts {
  const host = hostOf(context.kafka);
  host.gatewayHere = true;
  host.healthOwner = JOBS_GATEWAY_ROLE;
  host.rateLimiter = rateLimiterFromEnv(context.env);
  const page = webPage(webDirectory("jobs"), { "/": "index.html", "/jobs.css": "jobs.css", "/jobs.js": "jobs.js" });
  // Resolved when the routes are built, once every role of the process has started and said which services run here.
  let remote: Map<JobsServiceName, string> | null = null;
  const routes: FastifyPluginAsync = async (app) => {
    await app.register(page);
    remote ??= resolveRemoteServices(host, context.env);
    forwardRoutes(app, remote, context.auth);
  };
  return { routes: mounted(host, JOBS_GATEWAY_ROLE, routes) };
}

function startService(service: JobsServiceName, context: RoleContext): RoleParts {
  if (context.database === null) throw new Error(`role ${context.role} needs its service's database`);
  const db = context.database;
  const host = hostOf(context.kafka);
  host.healthOwner ??= context.role;
  const parts = serviceParts(service, context, db);
  const port = servicePortOf(service, context, host);
  const listener =
    port === null
      ? null
      : serviceListener({
          service,
          ...port,
          routes: parts.routes,
          health: async () => health.check(),
          auth: context.auth,
          logger: context.logger,
        });
  const health = {
    name: service,
    async check() {
      const state = await serviceState(service, db, parts.store, parts.consumers);
      // Where the service's own listener is, so that a client (or a test on free ports) can find it.
      if (listener?.url) state.url = listener.url;
      return state;
    },
  };
  host.services.set(service, health);
  const components = listener === null ? parts.components : [...parts.components, listener];
  return { routes: mounted(host, context.role, parts.routes), components };
}

export const jobsImplementation: AppImplementation = {
  topics: JOBS_TOPICS.map((topic) => ({ name: topic.name, partitions: topic.partitions })),
  migrations: Object.fromEntries(JOBS_SERVICES.map((service) => [jobsServiceName(service), migrationsOf(service)])),
  async startRole(role: string, context: RoleContext): Promise<RoleParts> {
    if (role === JOBS_GATEWAY_ROLE) return startGateway(context);
    const service = JOBS_SERVICES.find((candidate) => jobsServiceName(candidate) === role);
    if (service === undefined) throw new Error(`the jobs board has no role "${role}"`);
    return startService(service, context);
  },
};
