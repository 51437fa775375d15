// Prometheus metrics of the WebSocket gateway, in the toolkit's registry that `GET /metrics` serves. Gauges move by
// increments, so that several gateways in one process (as in tests) add up instead of overwriting each other.

import { toolkitCounter, toolkitGauge } from "../../toolkit/metrics.js";

export function webSocketMetrics() {
  return {
    connections: toolkitGauge({
      name: "sluice_ws_connections",
      help: "WebSocket connections open now",
      labelNames: [] as const,
    }),
    subscriptions: toolkitGauge({
      name: "sluice_ws_subscriptions",
      help: "Topic subscriptions of all WebSocket connections",
      labelNames: [] as const,
    }),
    eventsSent: toolkitCounter({
      name: "sluice_ws_events_sent_total",
      help: "Events sent to WebSocket clients, counting each client an event went to, by topic",
      labelNames: ["topic"] as const,
    }),
    slowClientCloses: toolkitCounter({
      name: "sluice_ws_slow_client_closes_total",
      help: "WebSocket connections closed because the client read too slowly and its send buffer passed the limit",
      labelNames: [] as const,
    }),
    rejectedConnections: toolkitCounter({
      name: "sluice_ws_rejected_connections_total",
      help: "WebSocket upgrades refused, by reason (limit, closing)",
      labelNames: ["reason"] as const,
    }),
    tailedTopics: toolkitGauge({
      name: "sluice_ws_tailed_topics",
      help: "Topics the WebSocket gateway is reading for its subscribers",
      labelNames: [] as const,
    }),
    replaysStarted: toolkitCounter({
      name: "sluice_ws_replays_total",
      help: "Resumes that reached back past a topic's recent events and were replayed from the log",
      labelNames: [] as const,
    }),
    resumeReaders: toolkitGauge({
      name: "sluice_ws_resume_readers",
      help: "Readers replaying older events to resuming WebSocket clients",
      labelNames: [] as const,
    }),
  };
}

export type WebSocketMetrics = ReturnType<typeof webSocketMetrics>;
