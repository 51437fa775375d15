// One TCP (or TLS) connection to one broker: size-prefixed framing, correlation ids, a bounded number of requests in
// flight with a bounded queue behind them, a timeout on every request, and a cap on both the bytes waiting to be sent
// and the size of a response. Kafka answers the requests of one connection in the order they were sent, so the
// requests in flight are a FIFO and a response whose correlation id is not the oldest one's is a protocol violation.
// Anything that breaks the protocol, and any request that times out after it was sent, closes the connection and
// fails every request on it with a retriable error: after either, no later byte on the socket can be trusted.

import net from "node:net";
import tls from "node:tls";
import { decodeMessage, encodeMessage, isFlexible } from "../../protocol/codec.js";
import { ErrorCode } from "../../protocol/error-codes.js";
import {
  requestHeaderVersion,
  responseHeaderVersion,
  skipTaggedFields,
  writeRequestHeader,
} from "../../protocol/headers.js";
import { Reader, Writer } from "../../protocol/primitives.js";
import type { ApiDefinition } from "../apis/definitions.js";
import type { NegotiatedVersions } from "../apis/versions.js";
import {
  KafkaClientError,
  KafkaClientErrorCode,
  KafkaConnectionError,
  KafkaProtocolViolationError,
} from "../errors.js";
import { FrameReader, FrameSizeError } from "./frames.js";

export interface ConnectionLimits {
  /** How long the TCP connect and TLS handshake may take. */
  readonly connectTimeoutMs: number;
  /** How long a request may wait for its response (queued time included), unless the request says otherwise. */
  readonly requestTimeoutMs: number;
  /** Requests sent and not yet answered; more wait in the queue. */
  readonly inFlightRequestsMax: number;
  /** Requests waiting to be sent; more are refused with REQUEST_QUEUE_FULL. */
  readonly queuedRequestsMax: number;
  /** The largest response accepted; a larger frame closes the connection. */
  readonly responseBytesMax: number;
  /** Bytes handed to the socket but not yet sent; past this, requests wait in the queue. */
  readonly sendBufferBytesMax: number;
}

export interface ConnectionOptions extends ConnectionLimits {
  readonly host: string;
  readonly port: number;
  readonly clientId: string;
  /** TLS settings, or null for plaintext. */
  readonly tls: tls.ConnectionOptions | null;
}

export interface RequestOptions {
  /** The version to speak; by default the negotiated one. */
  readonly version?: number;
  readonly timeoutMs?: number;
  /** false for requests the broker does not answer (Produce with acks=0): resolved once written. */
  readonly expectResponse?: boolean;
}

interface Pending {
  readonly correlationId: number;
  readonly api: ApiDefinition<unknown, unknown>;
  readonly version: number;
  readonly expectResponse: boolean;
  bytes: Buffer | null;
  sent: boolean;
  timer: NodeJS.Timeout | null;
  resolve(value: unknown): void;
  reject(error: Error): void;
}

const CORRELATION_ID_MAX = 0x7fffffff;
const API_VERSIONS_KEY = 18;

export class BrokerConnection {
  readonly address: string;
  /** Set once ApiVersions has been exchanged; requests without an explicit version need it. */
  versions: NegotiatedVersions | null = null;
  private readonly frames: FrameReader;
  private readonly inFlight: Pending[] = [];
  private readonly queued: Pending[] = [];
  private nextCorrelationId = 1;
  private failure: KafkaClientError | null = null;
  private readonly closeListeners = new Set<(error: KafkaClientError) => void>();

  private constructor(
    private readonly socket: net.Socket,
    private readonly options: ConnectionOptions,
  ) {
    this.address = `${options.host}:${options.port}`;
    this.frames = new FrameReader(options.responseBytesMax);
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("drain", () => this.pump());
    socket.on("error", (error) =>
      this.fail(
        new KafkaConnectionError(
          KafkaClientErrorCode.CONNECTION_CLOSED,
          `the connection to ${this.address} failed: ${error.message}`,
          this.address,
          true,
          { cause: error },
        ),
      ),
    );
    socket.on("close", () =>
      this.fail(
        new KafkaConnectionError(
          KafkaClientErrorCode.CONNECTION_CLOSED,
          `${this.address} closed the connection`,
          this.address,
          true,
        ),
      ),
    );
  }

  /** Connects (and completes the TLS handshake); negotiation and authentication are the caller's next steps. */
  static open(options: ConnectionOptions): Promise<BrokerConnection> {
    const address = `${options.host}:${options.port}`;
    return new Promise((resolve, reject) => {
      const socket =
        options.tls === null
          ? net.connect({ host: options.host, port: options.port })
          : tls.connect({
              ...options.tls,
              host: options.host,
              port: options.port,
              servername: options.tls.servername ?? (net.isIP(options.host) === 0 ? options.host : undefined),
            });
      const readyEvent = options.tls === null ? "connect" : "secureConnect";
      const fail = (error: Error): void => {
        clearTimeout(timer);
        socket.destroy();
        reject(
          new KafkaConnectionError(
            KafkaClientErrorCode.CONNECTION_FAILED,
            `cannot connect to ${address}: ${error.message}; check that a broker listens there` +
              (options.tls === null ? "" : " with TLS, and that its certificate is trusted"),
            address,
            false,
            { cause: error },
          ),
        );
      };
      const timer = setTimeout(
        () =>
          fail(
            new Error(
              `no ${options.tls === null ? "connection" : "TLS handshake"} within ${options.connectTimeoutMs} ms`,
            ),
          ),
        options.connectTimeoutMs,
      );
      socket.once("error", fail);
      socket.once(readyEvent, () => {
        clearTimeout(timer);
        socket.off("error", fail);
        resolve(new BrokerConnection(socket, options));
      });
    });
  }

  get closed(): boolean {
    return this.failure !== null;
  }

  /** Requests sent and waiting for their answer, plus those queued behind them. */
  get pendingRequests(): number {
    return this.inFlight.length + this.queued.length;
  }

  /** Calls `listener` once, when the connection closes for any reason. */
  onClose(listener: (error: KafkaClientError) => void): () => void {
    if (this.failure !== null) {
      listener(this.failure);
      return () => undefined;
    }
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  /** The negotiated version of `api` on this connection; throws when the broker does not support it. */
  versionOf(api: ApiDefinition<unknown, unknown>): number {
    if (this.versions === null) throw new Error(`${api.name}: the connection has not negotiated versions yet`);
    return this.versions.version(api);
  }

  request<Request, Response>(
    api: ApiDefinition<Request, Response>,
    body: Request,
    options: RequestOptions = {},
  ): Promise<Response> {
    return new Promise<Response>((resolve, reject) => {
      if (this.failure !== null) {
        reject(this.notSent(this.failure));
        return;
      }
      if (this.queued.length >= this.options.queuedRequestsMax) {
        reject(
          new KafkaClientError(
            KafkaClientErrorCode.REQUEST_QUEUE_FULL,
            `${this.options.queuedRequestsMax} requests already wait to be sent to ${this.address} (queuedRequestsMax); ` +
              "wait for earlier requests to finish before sending more",
            { retriable: true },
          ),
        );
        return;
      }
      let pending: Pending;
      try {
        const version = options.version ?? this.versionOf(api);
        const correlationId = this.nextCorrelationId;
        this.nextCorrelationId = correlationId === CORRELATION_ID_MAX ? 1 : correlationId + 1;
        pending = {
          correlationId,
          api: api as ApiDefinition<unknown, unknown>,
          version,
          expectResponse: options.expectResponse ?? true,
          bytes: this.encode(api, version, correlationId, body),
          sent: false,
          timer: null,
          resolve: resolve as (value: unknown) => void,
          reject,
        };
      } catch (error) {
        reject(error);
        return;
      }
      const timeoutMs = options.timeoutMs ?? this.options.requestTimeoutMs;
      pending.timer = setTimeout(() => this.onTimeout(pending, timeoutMs), timeoutMs);
      this.queued.push(pending);
      this.pump();
    });
  }

  /** Closes the connection; everything pending fails with `reason` (by default a retriable CONNECTION_CLOSED). */
  close(reason?: KafkaClientError): void {
    this.fail(
      reason ??
        new KafkaConnectionError(
          KafkaClientErrorCode.CONNECTION_CLOSED,
          `the connection to ${this.address} was closed by this client`,
          this.address,
          true,
        ),
    );
  }

  private encode<Request>(
    api: ApiDefinition<Request, unknown>,
    version: number,
    correlationId: number,
    body: Request,
  ): Buffer {
    const writer = new Writer(256);
    const sizeAt = writer.reserveInt32();
    const headerVersion = requestHeaderVersion(isFlexible(api.requestSchema, version));
    writeRequestHeader(
      writer,
      { apiKey: api.apiKey, apiVersion: version, correlationId, clientId: this.options.clientId },
      headerVersion,
    );
    encodeMessage(api.requestSchema, version, body, writer);
    writer.patchInt32(sizeAt, writer.offset - 4);
    return writer.finish();
  }

  /** Sends queued requests while the in-flight and send-buffer limits allow. */
  private pump(): void {
    if (this.failure !== null || this.queued.length === 0) return;
    const many = this.queued.length > 1;
    if (many) this.socket.cork();
    while (
      this.queued.length > 0 &&
      this.inFlight.length < this.options.inFlightRequestsMax &&
      this.socket.writableLength < this.options.sendBufferBytesMax
    ) {
      const pending = this.queued.shift()!;
      const bytes = pending.bytes!;
      pending.bytes = null;
      pending.sent = true;
      this.socket.write(bytes);
      if (pending.expectResponse) {
        this.inFlight.push(pending);
      } else {
        this.settle(pending);
        pending.resolve(undefined);
      }
    }
    if (many) this.socket.uncork();
  }

  private onData(chunk: Buffer): void {
    this.frames.push(chunk);
    while (this.failure === null) {
      let frame: Buffer | null;
      try {
        frame = this.frames.next();
      } catch (error) {
        if (!(error instanceof FrameSizeError)) throw error;
        this.fail(new KafkaProtocolViolationError(error.message, this.address));
        return;
      }
      if (frame === null) break;
      this.onFrame(frame);
    }
    this.pump();
  }

  private onFrame(frame: Buffer): void {
    const pending = this.inFlight[0];
    const correlationId = frame.readInt32BE(0);
    if (pending === undefined) {
      this.fail(
        new KafkaProtocolViolationError(`a response (correlation id ${correlationId}) arrived unasked`, this.address),
      );
      return;
    }
    if (correlationId !== pending.correlationId) {
      this.fail(
        new KafkaProtocolViolationError(
          `a response carries correlation id ${correlationId} where ${pending.correlationId} was due`,
          this.address,
        ),
      );
      return;
    }
    this.inFlight.shift();
    let response: unknown;
    try {
      response = decodeResponse(pending.api, pending.version, frame);
    } catch (error) {
      // Usually a ProtocolDecodeError; anything else a decoder throws means the same: these bytes are not a response.
      const violation = new KafkaProtocolViolationError(
        `its ${pending.api.name} v${pending.version} response cannot be read (${error instanceof Error ? error.message : String(error)})`,
        this.address,
        { cause: error },
      );
      this.settle(pending);
      pending.reject(violation);
      this.fail(violation);
      return;
    }
    this.settle(pending);
    pending.resolve(response);
  }

  private onTimeout(pending: Pending, timeoutMs: number): void {
    pending.timer = null;
    const message = `${this.address} did not answer ${pending.api.name} within ${timeoutMs} ms`;
    if (!pending.sent) {
      // Still queued behind others: drop it alone; the connection itself may be fine.
      const at = this.queued.indexOf(pending);
      if (at >= 0) this.queued.splice(at, 1);
      pending.reject(
        new KafkaConnectionError(
          KafkaClientErrorCode.REQUEST_TIMED_OUT,
          `${message}; it was still queued behind ${this.inFlight.length} requests in flight`,
          this.address,
          false,
        ),
      );
      return;
    }
    const timedOut = new KafkaConnectionError(
      KafkaClientErrorCode.REQUEST_TIMED_OUT,
      `${message}; the connection was closed (raise requestTimeoutMs if the broker is just slow)`,
      this.address,
      true,
    );
    const at = this.inFlight.indexOf(pending);
    if (at >= 0) this.inFlight.splice(at, 1);
    pending.reject(timedOut);
    this.fail(
      new KafkaConnectionError(
        KafkaClientErrorCode.CONNECTION_CLOSED,
        `the connection to ${this.address} was closed because a request on it timed out`,
        this.address,
        true,
      ),
    );
  }

  private settle(pending: Pending): void {
    if (pending.timer !== null) clearTimeout(pending.timer);
    pending.timer = null;
  }

  private notSent(error: KafkaClientError): KafkaClientError {
    if (!(error instanceof KafkaConnectionError) || !error.requestSent) return error;
    return new KafkaConnectionError(KafkaClientErrorCode.CONNECTION_CLOSED, error.message, this.address, false, {
      cause: error,
    });
  }

  private fail(error: KafkaClientError): void {
    if (this.failure !== null) return;
    this.failure = error;
    this.socket.destroy();
    const inFlight = this.inFlight.splice(0);
    const queued = this.queued.splice(0);
    for (const pending of inFlight) {
      this.settle(pending);
      pending.reject(error);
    }
    const unsent = this.notSent(error);
    for (const pending of queued) {
      this.settle(pending);
      pending.reject(unsent);
    }
    for (const listener of this.closeListeners) listener(error);
    this.closeListeners.clear();
  }
}

/**
 * Decodes a response frame (correlation id first). A broker that does not serve the ApiVersions version asked for
 * answers with a v0 body carrying UNSUPPORTED_VERSION and its ranges (KIP-511), which is read as v0.
 */
export function decodeResponse(api: ApiDefinition<unknown, unknown>, version: number, frame: Buffer): unknown {
  const flexible = isFlexible(api.responseSchema, version);
  const reader = new Reader(frame, 4);
  if (responseHeaderVersion(api.apiKey, flexible) >= 1) skipTaggedFields(reader);
  if (
    api.apiKey === API_VERSIONS_KEY &&
    version > 0 &&
    reader.remaining >= 2 &&
    frame.readInt16BE(reader.offset) === ErrorCode.UNSUPPORTED_VERSION
  ) {
    return decodeMessage(api.responseSchema, 0, reader);
  }
  return decodeMessage(api.responseSchema, version, reader);
}
