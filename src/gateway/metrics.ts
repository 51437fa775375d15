// The gateway's Prometheus metrics: one histogram of HTTP requests (count, duration by method, route and status)
// and the `GET /metrics` route that serves it together with every toolkit metric from the same registry.

import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { collectDefaultMetrics, Histogram, type Registry } from "prom-client";

export const HTTP_REQUEST_DURATION_METRIC = "sluice_http_request_duration_seconds";

/** Seconds, from a cached answer (under a millisecond) to a request that waited on a slow dependency. */
const HTTP_DURATION_BUCKETS_SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Methods get their own label value; anything else is counted as OTHER, so clients cannot add label values. */
const KNOWN_METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

/** The route label of requests that matched no route, so that probing random paths adds no series. */
export const UNMATCHED_ROUTE_LABEL = "unmatched";

/**
 * How often Node samples event loop lag for the process metrics, in milliseconds. prom-client's default (10 ms) wakes
 * an idle process a hundred times a second, which cost about 1% of a core on its own; lag worth alerting on is far
 * longer than this.
 */
export const EVENT_LOOP_MONITORING_PRECISION_MS = 100;

/** A metric name that marks process metrics as already collected into a registry. */
const PROCESS_METRIC_MARKER = "process_cpu_user_seconds_total";

type HttpLabel = "method" | "route" | "status_code";

function histogramIn(registry: Registry): Histogram<HttpLabel> {
  const existing = registry.getSingleMetric(HTTP_REQUEST_DURATION_METRIC);
  if (existing !== undefined) return existing as Histogram<HttpLabel>;
  return new Histogram({
    name: HTTP_REQUEST_DURATION_METRIC,
    help: "HTTP requests the gateway answered: duration in seconds, by method, route pattern and status code",
    labelNames: ["method", "route", "status_code"],
    buckets: HTTP_DURATION_BUCKETS_SECONDS,
    registers: [registry],
  });
}

export interface HttpMetricsOptions {
  registry: Registry;
  /** Also collect Node's process metrics (CPU, memory, event loop lag) into the registry, once per registry. */
  collectProcessMetrics: boolean;
}

/** Registers the request histogram and `GET /metrics` on app. */
export function installHttpMetrics(app: FastifyInstance, options: HttpMetricsOptions): void {
  const { registry } = options;
  const histogram = histogramIn(registry);
  if (options.collectProcessMetrics && registry.getSingleMetric(PROCESS_METRIC_MARKER) === undefined) {
    collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: EVENT_LOOP_MONITORING_PRECISION_MS });
  }

  app.addHook("onResponse", async (request: FastifyRequest, reply: FastifyReply) => {
    const method = KNOWN_METHODS.has(request.method) ? request.method : "OTHER";
    const route = request.is404 ? UNMATCHED_ROUTE_LABEL : (request.routeOptions.url ?? UNMATCHED_ROUTE_LABEL);
    histogram.observe({ method, route, status_code: String(reply.statusCode) }, reply.elapsedTime / 1000);
  });

  app.get("/metrics", async (_request, reply) => {
    const text = await registry.metrics();
    return reply.header("content-type", registry.contentType).send(text);
  });
}
