// The WebSocket gateway: takes over HTTP upgrades on its path, keeps the set of client connections, reads each
// subscribed topic once (its tail) and shares it among all subscribers, and shuts all of it down in order.

import type { IncomingMessage, Server as HttpServer } from "node:http";
import type { Duplex } from "node:stream";

import type { FastifyInstance } from "fastify";
import { WebSocketServer, type WebSocket } from "ws";

import type { KafkaAdmin } from "../../toolkit/kafka/admin.js";
import { UnknownTopicError } from "../../toolkit/errors.js";
import { ClientConnection, type ConnectionContext } from "./connection.js";
import { webSocketMetrics } from "./metrics.js";
import { resolveWebSocketOptions, type WebSocketGatewayOptions } from "./options.js";
import {
  readSubprotocols,
  WebSocketCloseCode,
  WebSocketCloseReason,
  WebSocketErrorCode,
  WebSocketRequestError,
} from "./protocol.js";
import { TopicTail } from "./topic-tail.js";

/**
 * Where the gateway attaches: a Node HTTP server, a Fastify instance, or the HTTP gateway from createGateway (which
 * holds both). With Fastify, the WebSocket gateway closes itself when Fastify closes.
 */
export type WebSocketTarget = HttpServer | { readonly server: HttpServer; readonly app?: FastifyInstance };

export interface WebSocketGateway {
  readonly path: string;
  connectionCount(): number;
  /** Topics read now for subscribers. */
  topicCount(): number;
  /** Closes every connection (code 1001), stops reading topics and stops taking upgrades. */
  close(): Promise<void>;
}

function fastifyOf(target: WebSocketTarget): FastifyInstance | null {
  if (!("server" in target)) return null;
  if (typeof (target as { addHook?: unknown }).addHook === "function") return target as FastifyInstance;
  return target.app ?? null;
}

function serverOf(target: WebSocketTarget): HttpServer {
  return "server" in target ? target.server : target;
}

/** Answers an upgrade the gateway will not take with a plain HTTP error carrying the catalogue's JSON body. */
function refuseUpgrade(socket: Duplex, status: number, statusText: string, code: string, message: string): void {
  const body = JSON.stringify({ error: code, message });
  socket.end(
    `HTTP/1.1 ${status} ${statusText}\r\nConnection: close\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

interface TailEntry {
  readonly pending: Promise<TopicTail>;
  /** Set once the tail is open. */
  tail: TopicTail | null;
}

function toRequestError(error: unknown, topic: string): WebSocketRequestError {
  if (error instanceof WebSocketRequestError) return error;
  if (error instanceof UnknownTopicError) {
    return new WebSocketRequestError(WebSocketErrorCode.NOT_FOUND, `topic "${topic}" does not exist`, {
      topic,
      field: "topic",
    });
  }
  return new WebSocketRequestError(
    WebSocketErrorCode.UNAVAILABLE,
    `the message broker cannot be reached to read "${topic}"; try again shortly`,
    { topic },
  );
}

/** The promise's outcome, or a rejection once timeoutMs pass without one. */
async function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The request's path and `token` query parameter; null for a request target that is not a valid URL. */
function readTarget(request: IncomingMessage): { pathname: string; token: string | null } | null {
  try {
    const url = new URL(request.url ?? "/", "http://gateway");
    const token = url.searchParams.get("token");
    return { pathname: url.pathname, token: token === null || token === "" ? null : token };
  } catch {
    return null;
  }
}

/**
 * Serves the WebSocket protocol on `options.path` (default /ws) of the target's HTTP server. Attached to Fastify (or
 * the HTTP gateway) before it listens, it closes itself when Fastify closes; otherwise call close() before closing
 * the server, which would wait for the WebSocket connections.
 */
export function attachWebSocketGateway(
  target: WebSocketTarget,
  gatewayOptions: WebSocketGatewayOptions,
): WebSocketGateway {
  const options = resolveWebSocketOptions(gatewayOptions);
  const { logger } = options;
  const server = serverOf(target);
  const metrics = webSocketMetrics();
  const connections = new Set<ClientConnection>();
  const tails = new Map<string, TailEntry>();
  let admin: KafkaAdmin | null = null;
  let upgrading = 0;
  let replaySlotsInUse = 0;
  let closing: Promise<void> | null = null;

  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: options.clientMessageBytesMax,
    perMessageDeflate: false,
    handleProtocols: (offered) => readSubprotocols(offered).selected ?? false,
  });

  const removeTail = (topic: string): void => {
    if (!tails.delete(topic)) return;
    metrics.tailedTopics.dec();
  };

  const closeTail = (topic: string, tail: TopicTail): void => {
    if (tails.get(topic)?.tail !== tail) return;
    removeTail(topic);
    tail.close().catch((error: unknown) => logger.warn({ err: error, topic }, "a topic reader did not stop cleanly"));
  };

  /** Makes room for another topic by closing one that has no subscribers; false when every topic has some. */
  const closeIdleTail = (): boolean => {
    for (const [topic, entry] of tails) {
      if (entry.tail !== null && entry.tail.subscriberCount === 0) {
        closeTail(topic, entry.tail);
        return true;
      }
    }
    return false;
  };

  const openTail = async (topic: string): Promise<TopicTail> => {
    const existing = tails.get(topic);
    if (existing !== undefined) {
      return existing.pending.catch((error: unknown) => Promise.reject(toRequestError(error, topic)));
    }
    if (tails.size >= options.topicsMax && !closeIdleTail()) {
      throw new WebSocketRequestError(
        WebSocketErrorCode.LIMIT_EXCEEDED,
        `the gateway already serves ${options.topicsMax} topics, its limit; try again later`,
        { topic },
      );
    }
    admin ??= options.kafka.admin();
    const opening = TopicTail.open({
      kafka: options.kafka,
      admin,
      topic,
      recentLimits: { eventsMax: options.recentEventsPerTopicMax, bytesMax: options.recentBytesPerTopicMax },
      fetchWaitMs: options.fetchWaitMs,
      partitionFetchBytesMax: options.partitionFetchBytesMax,
      idleMs: options.topicIdleMs,
      onIdle: (tail) => closeTail(topic, tail),
      metrics,
      logger,
    });
    const entry: TailEntry = { pending: withTimeout(opening, options.topicOpenTimeoutMs), tail: null };
    tails.set(topic, entry);
    metrics.tailedTopics.inc();
    try {
      const tail = await entry.pending;
      entry.tail = tail;
      if (closing !== null) {
        await tail.close();
        throw new WebSocketRequestError(WebSocketErrorCode.UNAVAILABLE, "the gateway is shutting down", { topic });
      }
      return tail;
    } catch (error) {
      if (tails.get(topic) === entry) removeTail(topic);
      // A tail that opened after its time ran out is closed, not leaked.
      opening.then((late) => late.close()).catch(() => undefined);
      const refusal = toRequestError(error, topic);
      if (refusal.code === WebSocketErrorCode.UNAVAILABLE) {
        logger.warn({ err: error, topic }, "the WebSocket gateway could not start reading a topic");
      }
      throw refusal;
    }
  };

  const earliestOffsets = async (topic: string): Promise<Map<number, number>> => {
    admin ??= options.kafka.admin();
    try {
      const offsets = await withTimeout(admin.topicOffsets(topic), options.topicOpenTimeoutMs);
      return new Map(offsets.map(({ partition, low }) => [partition, Number(low)]));
    } catch (error) {
      throw toRequestError(error, topic);
    }
  };

  const context: ConnectionContext = {
    options,
    metrics,
    openTail,
    earliestOffsets,
    acquireReplaySlot: () => {
      if (replaySlotsInUse >= options.resumeReadersMax) return false;
      replaySlotsInUse += 1;
      metrics.resumeReaders.inc();
      metrics.replaysStarted.inc();
      return true;
    },
    releaseReplaySlot: () => {
      replaySlotsInUse -= 1;
      metrics.resumeReaders.dec();
    },
    onClosed: (connection) => {
      connections.delete(connection);
    },
  };

  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const target = readTarget(request);
    if (target?.pathname !== options.path) {
      // Another listener may serve this path; when there is none, the socket must not be left hanging.
      if (server.listenerCount("upgrade") === 1) {
        refuseUpgrade(
          socket,
          404,
          "Not Found",
          "SLUICE_NOT_FOUND",
          `no WebSocket endpoint at ${target?.pathname ?? request.url}`,
        );
      }
      return;
    }
    // Node leaves errors of an upgraded socket to its listener; without one, a reset connection would crash.
    socket.on("error", () => socket.destroy());
    if (closing !== null) {
      metrics.rejectedConnections.inc({ reason: "closing" });
      refuseUpgrade(socket, 503, "Service Unavailable", WebSocketErrorCode.UNAVAILABLE, "the gateway is shutting down");
      return;
    }
    if (connections.size + upgrading >= options.connectionsMax) {
      metrics.rejectedConnections.inc({ reason: "limit" });
      refuseUpgrade(
        socket,
        503,
        "Service Unavailable",
        WebSocketErrorCode.UNAVAILABLE,
        `the gateway holds ${options.connectionsMax} connections, its limit; try again later`,
      );
      return;
    }
    const offered = new Set(
      (request.headers["sec-websocket-protocol"] ?? "")
        .split(",")
        .map((protocol) => protocol.trim())
        .filter((protocol) => protocol !== ""),
    );
    const token = target.token ?? readSubprotocols(offered).token;
    // A handshake ws refuses (a malformed request) never calls back; the socket closing ends the upgrade instead.
    upgrading += 1;
    let settled = false;
    const settle = (): void => {
      if (settled) return;
      settled = true;
      upgrading -= 1;
    };
    socket.once("close", settle);
    wss.handleUpgrade(request, socket, head, (ws: WebSocket) => {
      settle();
      if (closing !== null) {
        ws.close(WebSocketCloseCode.GOING_AWAY, WebSocketCloseReason.GOING_AWAY);
        return;
      }
      connections.add(new ClientConnection(ws, socket, context, token));
    });
  };

  server.on("upgrade", onUpgrade);
  const pingTimer = setInterval(() => {
    for (const connection of connections) connection.checkAlive();
  }, options.pingIntervalMs);
  pingTimer.unref();

  const close = (): Promise<void> => {
    closing ??= (async () => {
      server.off("upgrade", onUpgrade);
      clearInterval(pingTimer);
      const open = [...connections];
      for (const connection of open) connection.close(WebSocketCloseCode.GOING_AWAY, WebSocketCloseReason.GOING_AWAY);
      const deadline = Date.now() + options.closeTimeoutMs;
      while (connections.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
      for (const connection of connections) connection.terminate();
      const entries = [...tails];
      for (const [topic] of entries) removeTail(topic);
      const opened = await Promise.all(entries.map(([, entry]) => entry.pending.catch(() => null)));
      await Promise.all(opened.map((tail) => tail?.close()));
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await admin?.disconnect().catch(() => undefined);
    })();
    return closing;
  };

  const fastify = fastifyOf(target);
  if (fastify !== null) {
    try {
      fastify.addHook("preClose", close);
    } catch (error) {
      // Fastify takes no hooks once it listens; the caller then closes this gateway before closing Fastify.
      logger.debug({ err: error }, "attached to a listening Fastify: close the WebSocket gateway before it");
    }
  }

  return {
    path: options.path,
    connectionCount: () => connections.size,
    topicCount: () => tails.size,
    close,
  };
}
