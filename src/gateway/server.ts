// The gateway's HTTP server (Fastify): JSON errors from the catalogue for every failure and unknown route, a body
// size limit, one structured log line per request, health (`/healthz`), readiness (`/readyz`) and Prometheus
// metrics (`/metrics`), the auth routes, and apps' routes registered as Fastify plugins.

import { randomUUID } from "node:crypto";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";

import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyPluginAsync,
  type FastifyReply,
  type FastifyRequest,
} from "fastify";
import { pino } from "pino";
import type { Registry } from "prom-client";

import { toolkitRegistry } from "../toolkit/metrics.js";
import type { Auth } from "./auth/auth.js";
import { GatewayErrorCode, toGatewayError, unavailable, type ErrorBody } from "./errors.js";
import { FAVICON_CONTENT_TYPE, FAVICON_MAX_AGE_SECONDS, FAVICON_PATH, FAVICON_SVG } from "./favicon.js";
import { installHttpMetrics } from "./metrics.js";
import { parseQueryString, rejectMalformedQuery } from "./query-string.js";
import { Readiness, type ReadinessCheck } from "./readiness.js";
import { integerOption as declaredInteger, resolveInteger } from "../platform/options.js";

export const DEFAULT_GATEWAY_HOST = "127.0.0.1";
export const DEFAULT_GATEWAY_PORT = 8080;
/** Request bodies larger than this are refused with 413 before they are parsed. */
export const DEFAULT_BODY_BYTES_MAX = 1024 * 1024;
export const BODY_BYTES_MAX_LIMIT = 64 * 1024 * 1024;
/** A request that has not been answered within this time is cut off with 408 by Node's HTTP server. */
export const DEFAULT_HTTP_REQUEST_TIMEOUT_MS = 30_000;
export const DEFAULT_HTTP_KEEP_ALIVE_TIMEOUT_MS = 65_000;
/** Open TCP connections, WebSocket connections included; beyond this Node refuses new connections. */
export const DEFAULT_HTTP_CONNECTIONS_MAX = 10_000;
/** close() waits this long for requests in flight, then closes every remaining connection. */
export const DEFAULT_HTTP_CLOSE_TIMEOUT_MS = 10_000;
/** Incoming x-request-id values are used when they are this short and plain; otherwise a new id is made. */
const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]{1,64}$/;
/** Unknown paths are quoted in the 404 message up to this length. */
const PATH_IN_MESSAGE_CHARS_MAX = 200;
/** Probes and scrapes arrive every few seconds; their log lines go to debug so that they do not drown the rest. */
const QUIET_PATHS = new Set(["/healthz", "/readyz", "/metrics"]);

export interface GatewayOptions {
  /** Interface to listen on; "0.0.0.0" to accept connections from other machines (containers, pods). */
  host?: string;
  /** TCP port; 0 picks a free one (tests). */
  port?: number;
  /** A pino logger (or any Fastify-compatible one); by default pino at info level on stdout. */
  logger?: FastifyBaseLogger;
  bodyBytesMax?: number;
  requestTimeoutMs?: number;
  keepAliveTimeoutMs?: number;
  connectionsMax?: number;
  closeTimeoutMs?: number;
  /** Checks behind `GET /readyz`; more can be added with addReadinessCheck() before or after listen(). */
  readinessChecks?: readonly ReadinessCheck[];
  readinessCheckTimeoutMs?: number;
  /** The registry `/metrics` serves and the HTTP metrics go into; the toolkit's shared registry by default. */
  metricsRegistry?: Registry;
  /** Add Node's process metrics (CPU, memory, event loop) to the registry; default true. */
  collectProcessMetrics?: boolean;
  /** Serves the auth routes and lets apps guard routes with auth.requireAuth; omit for an anonymous gateway. */
  auth?: Auth | null;
  /**
   * Serve auth's account routes (/api/auth/register, /api/auth/login, /api/auth/me); default true. False leaves
   * those paths to an app with accounts of its own, which signs its users' tokens with auth.issueToken.
   */
  authRoutes?: boolean;
  /** Trust X-Forwarded-* headers from a proxy in front of the gateway (an ingress); default false. */
  trustProxy?: boolean;
}

export interface Gateway {
  /** The Fastify instance, for anything the helpers below do not cover (add hooks and routes before listen()). */
  readonly app: FastifyInstance;
  /** Node's HTTP server, for attaching the WebSocket gateway (upgrade requests). */
  readonly server: Server;
  readonly auth: Auth | null;
  readonly readiness: Readiness;
  /** The base URL once listening ("http://127.0.0.1:8080"), null before. */
  readonly url: string | null;
  /** Registers an app's routes as a Fastify plugin (its hooks stay inside it). Call before listen(). */
  register<Options extends object>(plugin: FastifyPluginAsync<Options>, options?: Options): Promise<void>;
  addReadinessCheck(check: ReadinessCheck): void;
  /** Starts accepting connections; resolves to the base URL. */
  listen(): Promise<string>;
  /**
   * Stops gracefully: /readyz answers 503 at once, new requests get 503, requests in flight finish (up to
   * closeTimeoutMs, after which their connections are closed), then the server and Fastify's onClose hooks finish.
   */
  close(): Promise<void>;
}

function integerOption(name: string, value: number | undefined, fallback: number, min: number, max: number): number {
  return resolveInteger(
    name,
    value,
    declaredInteger(fallback, min, max),
    (field, message) => new RangeError(`${field} ${message}`),
  );
}

function requestIdOf(request: { headers: Record<string, string | string[] | undefined> }): string {
  const incoming = request.headers["x-request-id"];
  return typeof incoming === "string" && REQUEST_ID_PATTERN.test(incoming) ? incoming : randomUUID();
}

/** The URL without its query's credentials, for logs: WebSocket clients may pass a token as `?token=`. */
export function redactUrl(url: string): string {
  return url.replace(/([?&](?:token|access_token|password)=)[^&#]*/gi, "$1[redacted]");
}

/** Whether the logger writes lines of the level; a logger that cannot say (not pino) is taken to write them. */
function levelEnabled(logger: FastifyBaseLogger, level: "debug" | "info"): boolean {
  const check = (logger as { isLevelEnabled?: (level: string) => boolean }).isLevelEnabled;
  return check === undefined ? true : check.call(logger, level);
}

function pathOf(url: string): string {
  const path = url.split("?", 1)[0] ?? url;
  return path.length <= PATH_IN_MESSAGE_CHARS_MAX ? path : `${path.slice(0, PATH_IN_MESSAGE_CHARS_MAX)}…`;
}

function sendError(request: FastifyRequest, reply: FastifyReply, error: unknown): FastifyReply {
  const gatewayError = toGatewayError(error);
  if (gatewayError.code === GatewayErrorCode.INTERNAL) {
    request.log.error({ err: error }, "request failed");
  } else if (gatewayError.code === GatewayErrorCode.UNAVAILABLE) {
    request.log.warn({ err: gatewayError.cause ?? gatewayError }, gatewayError.message);
  }
  if (gatewayError.retryAfterSeconds !== undefined) reply.header("retry-after", String(gatewayError.retryAfterSeconds));
  if (gatewayError.statusCode === 401) reply.header("www-authenticate", 'Bearer realm="sluice"');
  const body: ErrorBody = gatewayError.toBody();
  return reply.status(gatewayError.statusCode).type("application/json; charset=utf-8").send(body);
}

function displayUrl(address: AddressInfo): string {
  const wildcard = address.address === "0.0.0.0" || address.address === "::";
  const host = wildcard ? "localhost" : address.family === "IPv6" ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}

export async function createGateway(options: GatewayOptions = {}): Promise<Gateway> {
  const host = options.host ?? DEFAULT_GATEWAY_HOST;
  const port = integerOption("port", options.port, DEFAULT_GATEWAY_PORT, 0, 65_535);
  const bodyBytesMax = integerOption(
    "bodyBytesMax",
    options.bodyBytesMax,
    DEFAULT_BODY_BYTES_MAX,
    1,
    BODY_BYTES_MAX_LIMIT,
  );
  const dayMs = 24 * 60 * 60 * 1000;
  const requestTimeoutMs = integerOption(
    "requestTimeoutMs",
    options.requestTimeoutMs,
    DEFAULT_HTTP_REQUEST_TIMEOUT_MS,
    0,
    dayMs,
  );
  const keepAliveTimeoutMs = integerOption(
    "keepAliveTimeoutMs",
    options.keepAliveTimeoutMs,
    DEFAULT_HTTP_KEEP_ALIVE_TIMEOUT_MS,
    1,
    dayMs,
  );
  const connectionsMax = integerOption(
    "connectionsMax",
    options.connectionsMax,
    DEFAULT_HTTP_CONNECTIONS_MAX,
    1,
    1_000_000,
  );
  const closeTimeoutMs = integerOption(
    "closeTimeoutMs",
    options.closeTimeoutMs,
    DEFAULT_HTTP_CLOSE_TIMEOUT_MS,
    0,
    dayMs,
  );
  const readiness = new Readiness(options.readinessChecks ?? [], options.readinessCheckTimeoutMs);
  const registry = options.metricsRegistry ?? toolkitRegistry();
  const auth = options.auth ?? null;

  const app = Fastify({
    loggerInstance: options.logger ?? pino({ level: "info" }),
    bodyLimit: bodyBytesMax,
    requestTimeout: requestTimeoutMs,
    keepAliveTimeout: keepAliveTimeoutMs,
    return503OnClosing: false,
    forceCloseConnections: "idle",
    // One line per request comes from the onResponse hook below, instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    requestIdHeader: false,
    genReqId: requestIdOf,
    trustProxy: options.trustProxy ?? false,
    routerOptions: { querystringParser: parseQueryString },
    // Errors Fastify meets before routing (a malformed URL, an over-long path parameter) get the same JSON.
    frameworkErrors: (error, request, reply) => {
      sendError(request, reply, error);
    },
  });
  app.server.maxConnections = connectionsMax;

  // The API speaks JSON only: without Fastify's text/plain parser, other bodies are refused with 415.
  app.removeContentTypeParser("text/plain");
  app.decorateRequest("user", null);

  let closing = false;
  app.addHook("onRequest", async (request, reply) => {
    reply.header("x-request-id", request.id);
    rejectMalformedQuery(request.query);
    if (closing) {
      reply.header("connection", "close");
      throw unavailable("the server is shutting down; retry on another instance or in a moment", 1);
    }
  });
  app.addHook("onResponse", async (request, reply) => {
    const quiet = QUIET_PATHS.has(request.url.split("?", 1)[0] ?? "");
    // The line is built only when its level is logged: redacting the URL of every request was a measurable share of
    // a cached answer's cost (profiled on bench:jobs) at the usual level, warn, where the line is dropped anyway.
    if (!levelEnabled(request.log, quiet ? "debug" : "info")) return;
    const details = {
      method: request.method,
      url: redactUrl(request.url),
      statusCode: reply.statusCode,
      durationMs: Math.round(reply.elapsedTime * 100) / 100,
      ...(request.user ? { userId: request.user.userId } : {}),
    };
    if (quiet) request.log.debug(details, "request completed");
    else request.log.info(details, "request completed");
  });

  app.setErrorHandler((error: FastifyError, request, reply) => sendError(request, reply, error));
  app.setNotFoundHandler((request, reply) =>
    reply
      .status(404)
      .type("application/json; charset=utf-8")
      .send({
        error: GatewayErrorCode.NOT_FOUND,
        message: `there is no ${request.method} ${pathOf(request.url)} here`,
      } satisfies ErrorBody),
  );

  app.get("/healthz", async () => ({ status: "ok" }));
  app.get(FAVICON_PATH, async (_request, reply) =>
    reply
      .type(FAVICON_CONTENT_TYPE)
      .header("cache-control", `public, max-age=${FAVICON_MAX_AGE_SECONDS}`)
      .send(FAVICON_SVG),
  );
  app.get("/readyz", async (_request, reply) => {
    const report = await readiness.evaluate();
    if (report.ready) return { status: "ready", checks: report.checks };
    const reasons = report.checks.filter((check) => !check.ready).map((check) => `${check.name}: ${check.reason}`);
    return reply.status(503).send({
      error: GatewayErrorCode.UNAVAILABLE,
      message: `not ready: ${reasons.join("; ")}`,
      checks: report.checks,
    });
  });
  installHttpMetrics(app, { registry, collectProcessMetrics: options.collectProcessMetrics ?? true });
  if (auth !== null && options.authRoutes !== false) await app.register(auth.routes);

  let url: string | null = null;
  let closed: Promise<void> | null = null;

  return {
    app,
    server: app.server,
    auth,
    readiness,
    get url() {
      return url;
    },
    async register<Options extends object>(plugin: FastifyPluginAsync<Options>, pluginOptions?: Options) {
      if (url !== null || closing) {
        throw new Error("register() routes before listen(): Fastify cannot add routes to a running server");
      }
      await app.register(plugin, pluginOptions ?? ({} as Options));
    },
    addReadinessCheck(check) {
      readiness.add(check);
    },
    async listen() {
      if (closing) throw new Error("the gateway has been closed; create a new one");
      if (url !== null) return url;
      await app.listen({ host, port });
      url = displayUrl(app.server.address() as AddressInfo);
      return url;
    },
    close() {
      closed ??= (async () => {
        closing = true;
        readiness.markShuttingDown("the gateway is shutting down");
        const forceClose = setTimeout(() => app.server.closeAllConnections(), closeTimeoutMs);
        forceClose.unref();
        try {
          await app.close();
        } finally {
          clearTimeout(forceClose);
        }
      })();
      return closed;
    },
  };
}
