// The gateway's routing to services that run in other processes: for each service not running here whose address
// JOBS_<SERVICE>_URL gives, the gateway forwards its paths (/api/users/…, /api/jobs/…) there, checking the caller's
// token first so that a bad one is refused at the entry point, and /health/ asks it for its state. A service
// neither here nor given an address is reported as such, and the gateway as unhealthy.

import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";

import { bearerToken, type Auth } from "../../gateway/auth/auth.js";
import { unavailable } from "../../gateway/errors.js";
import type { JobsHost, ServiceState } from "./host.js";
import { JOBS_SERVICES, type JobsServiceName } from "./manifest.js";

/** How long a forwarded request may take. */
export const PROXY_TIMEOUT_MS = 10_000;
/** How long the gateway waits for a remote service's /health/. */
export const REMOTE_HEALTH_TIMEOUT_MS = 2_000;
/** Request headers passed on to a service; the rest (hop-by-hop, cookies) stay at the gateway. */
const FORWARDED_HEADERS = ["authorization", "content-type", "accept", "x-request-id", "cache-control"];
const RETURNED_HEADERS = ["content-type", "location", "x-cache", "retry-after"];

export function serviceUrlVariable(service: JobsServiceName): string {
  return `JOBS_${service.toUpperCase()}_URL`;
}

function remoteAddress(service: JobsServiceName, env: Readonly<Record<string, string | undefined>>): string | null {
  const variable = serviceUrlVariable(service);
  const raw = env[variable];
  if (raw === undefined || raw === "") return null;
  if (!/^https?:\/\/[^\s/]+(\/[^\s]*)?$/.test(raw))
    throw new RangeError(`${variable} must be an http(s) URL, got "${raw}"`);
  return raw.replace(/\/+$/, "");
}

async function remoteState(service: JobsServiceName, address: string): Promise<ServiceState> {
  try {
    const response = await fetch(`${address}/health/`, { signal: AbortSignal.timeout(REMOTE_HEALTH_TIMEOUT_MS) });
    const state = (await response.json()) as ServiceState;
    return { ...state, url: address };
  } catch (error) {
    return {
      status: "unhealthy",
      service,
      url: address,
      error: error instanceof Error ? error.message : String(error),
    };
  }
}

/**
 * Adds each service that does not run here to the host's /health/ report: its address's answer, or "not running
 * here". Returns the services to forward to, by name. Called once per process, when the gateway's routes are built.
 */
export function resolveRemoteServices(
  host: JobsHost,
  env: Readonly<Record<string, string | undefined>>,
): Map<JobsServiceName, string> {
  const remote = new Map<JobsServiceName, string>();
  for (const service of JOBS_SERVICES) {
    if (host.services.has(service)) continue;
    const address = remoteAddress(service, env);
    if (address !== null) remote.set(service, address);
    host.services.set(service, {
      name: service,
      check: async () =>
        address === null
          ? { status: "not running here", service, hint: `run its role, or set ${serviceUrlVariable(service)}` }
          : remoteState(service, address),
    });
  }
  return remote;
}

/** Forwards /api/<service>… to the service's address. */
export function forwardRoutes(app: FastifyInstance, remote: ReadonlyMap<JobsServiceName, string>, auth: Auth | null) {
  for (const [service, address] of remote) {
    const forward = async (request: FastifyRequest, reply: FastifyReply) => {
      // The token is checked once here, so that a forged or expired one never reaches a service.
      const token = bearerToken(request);
      if (token !== null && auth !== null) await auth.verifyToken(token);
      const path = request.url.slice(request.url.indexOf(`/api/${service}`));
      const headers: Record<string, string> = {};
      for (const name of FORWARDED_HEADERS) {
        const value = request.headers[name];
        if (typeof value === "string") headers[name] = value;
      }
      let response: Response;
      try {
        response = await fetch(`${address}${path}`, {
          method: request.method,
          headers,
          body: request.body === undefined || request.body === null ? undefined : JSON.stringify(request.body),
          signal: AbortSignal.timeout(PROXY_TIMEOUT_MS),
        });
      } catch (error) {
        throw unavailable(`the ${service} service at ${address} did not answer`, 1, error);
      }
      for (const name of RETURNED_HEADERS) {
        const value = response.headers.get(name);
        if (value !== null) reply.header(name, value);
      }
      return reply.status(response.status).send(Buffer.from(await response.arrayBuffer()));
    };
    app.all(`/api/${service}`, forward);
    app.all(`/api/${service}/*`, forward);
  }
}
