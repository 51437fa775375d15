// What the jobs board's roles in one process know of each other: which services run here (for /health/), whether
// the gateway role does, and the rate limiter it applies to every service's routes. Keyed by the process's Kafka
// client, which every role of one `sluice up` system shares, so that two systems in one process stay apart.

import type { FastifyInstance } from "fastify";

import type { Database } from "../../store/database.js";
import type { KeyValueStore } from "./key-value.js";
import type { RateLimiter } from "./rate-limit.js";

export type ServiceState = Record<string, unknown> & { status: "healthy" | "unhealthy" | "not running here" };

export interface ServiceHealth {
  /** "users", "jobs", "applications", "search", "notifications", "analytics". */
  readonly name: string;
  check(): Promise<ServiceState>;
}

export interface JobsHost {
  readonly services: Map<string, ServiceHealth>;
  gatewayHere: boolean;
  rateLimiter: RateLimiter | null;
  /** The role whose routes answer /health/ on the process's HTTP server: the gateway's, or the first service's. */
  healthOwner: string | null;
}

const hosts = new WeakMap<object, JobsHost>();

export function hostOf(kafka: object): JobsHost {
  let host = hosts.get(kafka);
  if (host === undefined) {
    host = { services: new Map(), gatewayHere: false, rateLimiter: null, healthOwner: null };
    hosts.set(kafka, host);
  }
  return host;
}

/** The state of one service's parts: its database answers, its store (when it has one) and its consumers run. */
export async function serviceState(
  name: string,
  database: Database,
  store: KeyValueStore | null,
  consumers: readonly { readonly ready: boolean; readonly name: string }[],
): Promise<ServiceState> {
  let databaseState = "ok";
  try {
    await database.query("SELECT 1");
  } catch {
    databaseState = "down";
  }
  const state: ServiceState = { status: databaseState === "ok" ? "healthy" : "unhealthy", service: name };
  state.database = databaseState;
  // A Redis outage degrades the service (uncached reads) without making it unhealthy.
  if (store !== null) state.cache = store.kind === "memory" ? "in-process" : `redis ${await store.state()}`;
  if (consumers.length > 0) {
    state.consumers = Object.fromEntries(consumers.map((consumer) => [consumer.name, consumer.ready]));
    if (consumers.some((consumer) => !consumer.ready)) state.status = "unhealthy";
  }
  return state;
}

/** GET /health/ answering the states of the services here: one service's alone, or all of them. */
export function healthRoute(app: FastifyInstance, report: () => Promise<{ status: string }>): void {
  for (const url of ["/health", "/health/"]) {
    app.get(url, async (_request, reply) => {
      const body = await report();
      return reply.status(body.status === "healthy" ? 200 : 503).send(body);
    });
  }
}

/** Every service of the host, or the one service when it is alone (what `curl :8001/health/` shows). */
export async function hostReport(host: JobsHost): Promise<ServiceState | { status: string }> {
  const services = [...host.services.values()];
  if (services.length === 1 && !host.gatewayHere) return (services[0] as ServiceHealth).check();
  const states = Object.fromEntries(
    await Promise.all(services.map(async (service) => [service.name, await service.check()] as const)),
  );
  const healthy = Object.values(states).every((state) => state.status === "healthy");
  return { status: healthy ? "healthy" : "unhealthy", service: "gateway", services: states };
}
