// The user, job and application services' own HTTP listeners, on the ports the team's commands use (8001, 8002,
// 8003), so that `curl http://localhost:8001/api/users/register/` works against `sluice up --apps jobs`. Each is a
// gateway server of its own with one service's routes and its /health/. JOBS_<SERVICE>_PORT sets a port (0 for a
// free one, "off" for none); by default the documented ports open only when the whole jobs board runs alone in the
// process, and a default port already in use is skipped with a warning rather than stopping the system.

import type { FastifyPluginAsync } from "fastify";

import type { Auth } from "../../gateway/auth/auth.js";
import { createGateway, type Gateway } from "../../gateway/server.js";
import type { Component, ToolkitLogger } from "../../toolkit/index.js";
import type { RoleContext } from "../app.js";
import { healthRoute, type JobsHost } from "./host.js";
import type { JobsServiceName } from "./manifest.js";

export const DOCUMENTED_PORTS: Readonly<Partial<Record<JobsServiceName, number>>> = {
  users: 8001,
  jobs: 8002,
  applications: 8003,
};

export interface ServicePort {
  host: string;
  port: number;
  /** True when the environment asked for the port: then a port in use is an error. */
  explicit: boolean;
}

export function servicePortVariable(service: JobsServiceName): string {
  return `JOBS_${service.toUpperCase()}_PORT`;
}

export function servicePortOf(service: JobsServiceName, context: RoleContext, host: JobsHost): ServicePort | null {
  const variable = servicePortVariable(service);
  const raw = context.env[variable];
  const address = context.settings.host;
  if (raw === "off") return null;
  if (raw !== undefined && raw !== "") {
    if (!/^[0-9]{1,5}$/.test(raw) || Number(raw) > 65_535) {
      throw new RangeError(`${variable} must be a port from 0 to 65535, or "off"; got "${raw}"`);
    }
    return { host: address, port: Number(raw), explicit: true };
  }
  const documented = DOCUMENTED_PORTS[service];
  const aloneHere = context.settings.runningApps.length === 1 && host.gatewayHere;
  return documented !== undefined && aloneHere ? { host: address, port: documented, explicit: false } : null;
}

export interface ServiceListenerOptions extends ServicePort {
  service: JobsServiceName;
  routes: FastifyPluginAsync;
  health: () => Promise<{ status: string }>;
  auth: Auth | null;
  logger: ToolkitLogger & { child?: unknown };
}

export function serviceListener(options: ServiceListenerOptions): Component & { url: string | null } {
  let gateway: Gateway | null = null;
  const listener = {
    name: `jobs-${options.service}-listener`,
    ready: true,
    url: null as string | null,
    async start() {
      const server = await createGateway({
        host: options.host,
        port: options.port,
        auth: options.auth,
        authRoutes: false,
        collectProcessMetrics: false,
        logger: options.logger as never,
      });
      await server.register(async (app) => {
        await app.register(options.routes);
        healthRoute(app, options.health);
      });
      try {
        listener.url = await server.listen();
        gateway = server;
        options.logger.info({ url: listener.url }, `jobs ${options.service} service listening`);
      } catch (error) {
        await server.close().catch(() => undefined);
        if (options.explicit || (error as { code?: string }).code !== "EADDRINUSE") throw error;
        options.logger.warn(
          { port: options.port },
          `port ${options.port} is in use, so the jobs ${options.service} service is served only on the main port`,
        );
      }
    },
    async stop() {
      await gateway?.close();
      gateway = null;
    },
  };
  return listener;
}
