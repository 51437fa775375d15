// The TCP side of the broker: one listener, size-prefixed framing, per-connection ordering of responses and the
// limits that keep one client from hurting the others. Client input never crashes the process: anything that
// cannot be decoded closes that one connection, with a log line saying why.

import net from "node:net";
import tls from "node:tls";
import type { Logger } from "pino";
import { decodeMessage, encodeMessage, isFlexible } from "../kafka/protocol/codec.js";
import {
  readRequestHeaderRest,
  readRequestHeaderStart,
  requestHeaderVersion,
  responseHeaderVersion,
  writeResponseHeader,
} from "../kafka/protocol/headers.js";
import { API_KEY_NAMES } from "../kafka/protocol/messages/index.js";
import { ProtocolDecodeError, Reader, Writer } from "../kafka/protocol/primitives.js";
import type { Broker } from "./broker.js";
import { NO_RESPONSE, type ApiHandler, type ConnectionInfo, type HandlerContext } from "./handlers/handler.js";
import { apiVersionsFallbackResponse } from "./handlers/18-api-versions.js";
import { handleRawSaslToken, SaslAuthenticationError, type SaslFrameResult } from "./sasl/raw.js";
import {
  API_KEY_API_VERSIONS,
  API_KEY_SASL_HANDSHAKE,
  expectsRawSaslToken,
  isAllowedBeforeAuthentication,
  needsAuthentication,
} from "./sasl/session.js";
import { SASL_TOKEN_BYTES_MAX } from "./sasl/exchange.js";
import { saslUserStoreFor, type SaslUserStore } from "./sasl/user-store.js";
import { throttleAfter } from "./quotas/throttle.js";

/** The smallest valid request: api key, api version and correlation id. */
const REQUEST_HEADER_BYTES_MIN = 8;
/** Pause reading from a client while this much of its responses wait in the socket's buffer. */
export const CONNECTION_SEND_BUFFER_BYTES_MAX = 64 * 1024 * 1024;
/** How long shutdown waits for in-flight requests before closing connections anyway. */
export const SHUTDOWN_GRACE_MS = 5_000;

interface PendingResponse {
  bytes: Buffer | null;
  done: boolean;
}

class Connection implements ConnectionInfo {
  clientId: string | null = null;
  principal: string | null = null;
  saslMechanism: string | null = null;
  saslExchange: unknown = null;
  /** After SaslHandshake v0, frames carry raw SASL tokens instead of Kafka requests (KIP-43). */
  rawSaslTokens = false;
  private chunks: Buffer[] = [];
  private bufferedBytes = 0;
  private readonly pending: PendingResponse[] = [];
  private closed = false;
  private pausedForBackpressure = false;
  /** Over a quota: no request is read until the throttle time has passed (KIP-219). */
  private muted = false;
  private readonly logger: Logger;

  constructor(
    readonly id: number,
    readonly socket: net.Socket,
    private readonly server: BrokerServer,
  ) {
    this.logger = server.logger.child({ connection: id, remote: this.remoteAddress });
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("drain", () => this.resumeIfAllowed());
    socket.on("error", (error) => this.logger.debug({ err: error }, "connection error"));
    socket.on("close", () => {
      this.closed = true;
      server.forget(this);
    });
  }

  get remoteAddress(): string {
    return `${this.socket.remoteAddress ?? "?"}:${this.socket.remotePort ?? "?"}`;
  }

  /** Until SASL succeeds, frames are capped at SASL_TOKEN_BYTES_MAX and only the SASL-phase APIs are served. */
  get awaitingAuthentication(): boolean {
    return needsAuthentication(this.server.saslUsers, this);
  }

  get inFlight(): number {
    return this.pending.length;
  }

  close(reason: string, details: Record<string, unknown> = {}): void {
    if (this.closed) return;
    this.closed = true;
    this.logger.warn({ ...details, clientId: this.clientId }, `closing connection: ${reason}`);
    this.socket.destroy();
  }

  endGracefully(): void {
    if (!this.closed) this.socket.end();
  }

  private onData(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.bufferedBytes += chunk.length;
    while (
      !this.closed &&
      !this.muted &&
      this.bufferedBytes >= 4 &&
      this.pending.length < this.server.config.inFlightRequestsMax
    ) {
      if (this.chunks[0]!.length < 4) this.chunks = [Buffer.concat(this.chunks, this.bufferedBytes)];
      const size = this.chunks[0]!.readInt32BE(0);
      if (size < REQUEST_HEADER_BYTES_MIN && !this.rawSaslTokens) {
        this.close("frame smaller than a request header", { size });
        return;
      }
      const sizeMax = this.awaitingAuthentication ? SASL_TOKEN_BYTES_MAX : this.server.config.requestBytesMax;
      if (size < 0 || size > sizeMax) {
        this.close("frame larger than allowed", { size, sizeMax, awaitingAuthentication: this.awaitingAuthentication });
        return;
      }
      if (this.bufferedBytes < size + 4) break;
      const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.bufferedBytes);
      const frame = all.subarray(4, size + 4);
      const rest = all.subarray(size + 4);
      this.chunks = rest.length > 0 ? [rest] : [];
      this.bufferedBytes = rest.length;
      this.onFrame(frame);
    }
    this.pauseIfNeeded();
  }

  private onFrame(frame: Buffer): void {
    if (this.rawSaslTokens) {
      this.onRawSaslToken(frame);
      return;
    }
    const reader = new Reader(frame);
    let apiKey = -1;
    let apiVersion = -1;
    try {
      const start = readRequestHeaderStart(reader);
      apiKey = start.apiKey;
      apiVersion = start.apiVersion;
      const handler = this.server.handlers.get(apiKey);
      if (handler === undefined) {
        this.close("unknown or unsupported API key", { apiKey, apiName: API_KEY_NAMES.get(apiKey) ?? "unknown" });
        return;
      }
      if (apiVersion < handler.versions[0] || apiVersion > handler.versions[1]) {
        if (apiKey === API_KEY_API_VERSIONS) {
          // KIP-511: answer with a v0 body carrying UNSUPPORTED_VERSION and our ranges, so the client can downgrade.
          this.respondRaw(start.correlationId, apiVersionsFallbackResponse(this.server.handlers));
          return;
        }
        this.close("unsupported API version", { apiKey, apiName: handler.name, apiVersion, served: handler.versions });
        return;
      }
      // Checked before decoding, so an unauthenticated client cannot make the broker decode anything large.
      if (this.awaitingAuthentication && !isAllowedBeforeAuthentication(apiKey)) {
        this.close("request before SASL authentication", { apiKey, apiName: handler.name });
        return;
      }
      const flexible = isFlexible(handler.requestSchema, apiVersion);
      this.clientId = readRequestHeaderRest(reader, requestHeaderVersion(flexible));
      const request = decodeMessage(handler.requestSchema, apiVersion, reader);
      this.dispatch(handler, apiVersion, start.correlationId, request, frame.length);
      // After SaslHandshake v0 the client sends bare length-prefixed SASL tokens, not Kafka requests (KIP-43).
      if (apiKey === API_KEY_SASL_HANDSHAKE) this.rawSaslTokens = expectsRawSaslToken(this);
    } catch (error) {
      if (error instanceof ProtocolDecodeError) {
        this.close("malformed request", { apiKey, apiVersion, error: error.message });
        return;
      }
      this.close("request failed", { apiKey, apiVersion, err: error });
    }
  }

  private dispatch(
    handler: ApiHandler,
    apiVersion: number,
    correlationId: number,
    request: unknown,
    requestBytes: number,
  ): void {
    const slot: PendingResponse = { bytes: null, done: false };
    const timing = { handlerMs: 0 };
    this.pending.push(slot);
    const context: HandlerContext = {
      broker: this.server.broker,
      connection: this,
      apiVersion,
      handlers: this.server.handlers,
    };
    const respond = (response: unknown): void => {
      if (response !== NO_RESPONSE) {
        slot.bytes = this.encodeResponse(handler, apiVersion, correlationId, response);
      }
      const throttleMs = throttleAfter(this.server.broker.quotaEnforcer, this, {
        apiKey: handler.apiKey,
        requestBytes,
        responseBytes: slot.bytes?.length ?? 0,
        handlerMs: timing.handlerMs,
        response: response === NO_RESPONSE ? null : response,
      });
      if (throttleMs > 0 && response !== NO_RESPONSE) {
        slot.bytes = this.encodeResponse(handler, apiVersion, correlationId, response);
      }
      slot.done = true;
      this.flush();
      if (throttleMs > 0) this.mute(throttleMs);
    };
    const fail = (error: unknown): void => {
      if (error instanceof SaslAuthenticationError) {
        // The failure answer goes out first; then the connection is closed, as Kafka does.
        slot.bytes = this.encodeResponse(handler, apiVersion, correlationId, error.response);
        slot.done = true;
        this.flush();
        this.socket.end();
        this.closed = true;
        return;
      }
      slot.done = true;
      this.close("handler failed", { apiKey: handler.apiKey, apiName: handler.name, err: error });
    };

    const fault = this.server.broker.faults.take(handler.apiKey, request);
    if (fault !== null) {
      if (fault.kind === "drop") {
        this.close("injected fault: drop connection", { apiKey: handler.apiKey });
        return;
      }
      if (fault.kind === "error") {
        respond(handler.errorResponse(request, fault.errorCode));
        return;
      }
      if (fault.kind === "dropResponse") {
        const dropInstead = (): void => {
          slot.done = true;
          this.close("injected fault: response dropped", { apiKey: handler.apiKey });
        };
        this.run(handler, context, request, dropInstead, fail, timing);
        return;
      }
      setTimeout(() => this.run(handler, context, request, respond, fail, timing), fault.delayMs);
      return;
    }
    this.run(handler, context, request, respond, fail, timing);
  }

  private run(
    handler: ApiHandler,
    context: HandlerContext,
    request: unknown,
    respond: (response: unknown) => void,
    fail: (error: unknown) => void,
    timing: { handlerMs: number },
  ): void {
    if (this.closed) return;
    try {
      const started = performance.now();
      const result = handler.handle(context, request);
      timing.handlerMs = performance.now() - started;
      if (result instanceof Promise) result.then(respond, fail);
      else respond(result);
    } catch (error) {
      fail(error);
    }
  }

  /** Stops reading requests for `throttleMs`; what was already read waits too. */
  private mute(throttleMs: number): void {
    if (this.closed) return;
    this.muted = true;
    this.socket.pause();
    setTimeout(() => {
      this.muted = false;
      if (this.closed) return;
      if (!this.pausedForBackpressure) this.socket.resume();
      if (this.bufferedBytes >= 4) this.onData(Buffer.alloc(0));
    }, throttleMs).unref();
  }

  private encodeResponse(handler: ApiHandler, apiVersion: number, correlationId: number, response: unknown): Buffer {
    const flexible = isFlexible(handler.responseSchema, apiVersion);
    const writer = new Writer(1024);
    const sizeAt = writer.reserveInt32();
    writeResponseHeader(writer, correlationId, responseHeaderVersion(handler.apiKey, flexible));
    encodeMessage(handler.responseSchema, apiVersion, response, writer);
    writer.patchInt32(sizeAt, writer.offset - 4);
    return writer.finish();
  }

  private respondRaw(correlationId: number, body: Buffer): void {
    const writer = new Writer(body.length + 16);
    const sizeAt = writer.reserveInt32();
    writeResponseHeader(writer, correlationId, 0);
    writer.raw(body);
    writer.patchInt32(sizeAt, writer.offset - 4);
    this.pending.push({ bytes: writer.finish(), done: true });
    this.flush();
  }

  private onRawSaslToken(token: Buffer): void {
    let result: SaslFrameResult;
    try {
      result = handleRawSaslToken(this, token);
    } catch (error) {
      this.close("SASL authentication failed", { error: (error as Error).message });
      return;
    }
    const framed = Buffer.allocUnsafe(4 + result.response.length);
    framed.writeInt32BE(result.response.length, 0);
    result.response.copy(framed, 4);
    this.pending.push({ bytes: framed, done: true });
    if (result.done) this.rawSaslTokens = false;
    this.flush();
  }

  private flush(): void {
    while (this.pending.length > 0 && this.pending[0]!.done) {
      const slot = this.pending.shift()!;
      if (slot.bytes !== null && !this.closed) this.socket.write(slot.bytes);
    }
    this.resumeIfAllowed();
  }

  private pauseIfNeeded(): void {
    if (this.pausedForBackpressure || this.closed) return;
    if (
      this.pending.length >= this.server.config.inFlightRequestsMax ||
      this.socket.writableLength > CONNECTION_SEND_BUFFER_BYTES_MAX
    ) {
      this.pausedForBackpressure = true;
      this.socket.pause();
    }
  }

  private resumeIfAllowed(): void {
    if (!this.pausedForBackpressure || this.closed) return;
    if (
      this.pending.length < this.server.config.inFlightRequestsMax &&
      this.socket.writableLength <= CONNECTION_SEND_BUFFER_BYTES_MAX
    ) {
      this.pausedForBackpressure = false;
      if (this.muted) return;
      this.socket.resume();
      // Frames that arrived before the pause may still be buffered whole.
      if (this.bufferedBytes >= 4) this.onData(Buffer.alloc(0));
    }
  }
}

export class BrokerServer {
  readonly logger: Logger;
  /** The SASL users when SASL is required; null when connections need no authentication. */
  readonly saslUsers: SaslUserStore | null;
  private readonly listener: net.Server;
  private readonly connections = new Set<Connection>();
  private nextConnectionId = 1;

  constructor(
    readonly broker: Broker,
    readonly handlers: ReadonlyMap<number, ApiHandler>,
  ) {
    this.logger = broker.logger;
    this.saslUsers = broker.config.sasl === null ? null : saslUserStoreFor(broker.config.sasl);
    const onConnection = (socket: net.Socket): void => this.accept(socket);
    const { tls: tlsOptions } = broker.config;
    this.listener = tlsOptions === null ? net.createServer(onConnection) : tls.createServer(tlsOptions, onConnection);
    this.listener.on("error", (error) => this.logger.error({ err: error }, "listener error"));
  }

  get config(): Broker["config"] {
    return this.broker.config;
  }

  listen(): Promise<{ host: string; port: number }> {
    const { host, port } = this.broker.config;
    return new Promise((resolve, reject) => {
      const onError = (error: Error): void => reject(error);
      this.listener.once("error", onError);
      this.listener.listen(port, host, () => {
        this.listener.off("error", onError);
        const address = this.listener.address() as net.AddressInfo;
        resolve({ host, port: address.port });
      });
    });
  }

  forget(connection: Connection): void {
    this.connections.delete(connection);
  }

  /** Stops accepting, lets in-flight requests finish (bounded by SHUTDOWN_GRACE_MS), then closes connections. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.listener.close(() => resolve()));
    this.broker.beginShutdown();
    const deadline = Date.now() + SHUTDOWN_GRACE_MS;
    while ([...this.connections].some((c) => c.inFlight > 0) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    for (const connection of this.connections) connection.endGracefully();
    const forceAt = setTimeout(() => {
      for (const connection of this.connections) connection.socket.destroy();
    }, 1000);
    await closed;
    clearTimeout(forceAt);
  }

  private accept(socket: net.Socket): void {
    if (this.connections.size >= this.broker.config.connectionsMax) {
      this.logger.warn(
        { remote: socket.remoteAddress, connectionsMax: this.broker.config.connectionsMax },
        "refusing connection: connectionsMax reached",
      );
      socket.destroy();
      return;
    }
    this.connections.add(new Connection(this.nextConnectionId++, socket, this));
  }
}
