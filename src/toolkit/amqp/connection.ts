// The AMQP transport's one connection to RabbitMQ, shared by its producers, consumers and admins (each opens its own
// channels on it). It connects on first use; once lost, the next user connects again. connect() tries once: the
// relay and the consumers each have their own bounded backoff around it.
//
// Nothing here waits for RabbitMQ without a limit. amqplib has none of its own past the TCP connect: a server that
// accepts a connection and then says nothing (a stuck node, a half-open path, a proxy that lost its upstream) would
// hold connect() or a channel operation forever, and heartbeats do not cover the handshake, nor a node that keeps
// heartbeating while a channel's operation waits. So the handshake has connectTimeoutMs and each channel operation
// channelOperationTimeoutMs. A channel operation that times out drops the whole connection: RabbitMQ answers a
// channel's operations in order, so the channel is of no further use, and amqplib cannot even close it without the
// server's reply. Every channel on the connection closes with it, and their users reconnect with backoff.

import type { Writable } from "node:stream";

import amqp from "amqplib";
import type { Channel, ChannelModel, ConfirmChannel } from "amqplib";

import { describeError, ToolkitError, ToolkitErrorCode } from "../errors.js";
import type { ToolkitLogger } from "../logger.js";
import type { ResolvedAmqpOptions } from "./options.js";

export class AmqpConnection {
  readonly #options: ResolvedAmqpOptions;
  readonly #logger: ToolkitLogger;
  #model: ChannelModel | null = null;
  #connecting: Promise<ChannelModel> | null = null;
  #closed = false;

  constructor(options: ResolvedAmqpOptions, logger: ToolkitLogger) {
    this.#options = options;
    this.#logger = logger;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The open connection, connecting once if there is none. */
  connect(): Promise<ChannelModel> {
    if (this.#closed)
      return Promise.reject(new ToolkitError(ToolkitErrorCode.AMQP_UNREACHABLE, "the AMQP client is closed"));
    if (this.#model !== null) return Promise.resolve(this.#model);
    this.#connecting ??= this.#open().finally(() => {
      this.#connecting = null;
    });
    return this.#connecting;
  }

  async channel(): Promise<Channel> {
    const model = await this.connect();
    const channel = await this.#within(model, "opening a channel", () => model.createChannel());
    return guard(channel, this.#logger);
  }

  async confirmChannel(): Promise<ConfirmChannel> {
    const model = await this.connect();
    const channel = await this.#within(model, "opening a confirm channel", () => model.createConfirmChannel());
    return guard(channel, this.#logger);
  }

  /**
   * Runs operations on a channel (declarations, bindings, qos, consume, cancel) that RabbitMQ answers, with
   * channelOperationTimeoutMs for all of them together; when they time out, the channel's connection is dropped and
   * this fails with SLUICE_AMQP_TIMED_OUT.
   */
  operation<T>(channel: Channel, what: string, run: () => Promise<T>): Promise<T> {
    return this.#within(channel, what, run);
  }

  /** Closes a channel, waiting for RabbitMQ's reply at most channelOperationTimeoutMs; never fails. */
  async closeChannel(channel: Channel): Promise<void> {
    await this.operation(channel, "closing a channel", () => channel.close()).catch(() => undefined);
  }

  async close(): Promise<void> {
    this.#closed = true;
    const model = (await this.#connecting?.catch(() => null)) ?? this.#model;
    this.#model = null;
    if (model !== null) await this.#within(model, "closing the connection", () => model.close()).catch(() => undefined);
  }

  /**
   * Waits for run at most channelOperationTimeoutMs. On the timeout, the connection (of the channel or model given)
   * is dropped: its socket is destroyed with an error, which amqplib takes as the connection's loss.
   */
  #within<T>(owner: Channel | ChannelModel, what: string, run: () => Promise<T>): Promise<T> {
    const limitMs = this.#options.channelOperationTimeoutMs;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        const error = new ToolkitError(
          ToolkitErrorCode.AMQP_TIMED_OUT,
          `RabbitMQ at ${this.#options.address} did not answer ${what} within ${limitMs} ms ` +
            "(channelOperationTimeoutMs); the connection is dropped and made again",
        );
        this.#logger.warn({ err: error }, error.message);
        (owner as unknown as AmqplibInternals).connection?.stream?.destroy?.(error);
        reject(error);
      }, limitMs);
      let running: Promise<T>;
      try {
        running = run();
      } catch (error) {
        // amqplib throws at once for an operation on a channel that has closed already.
        clearTimeout(timer);
        reject(error);
        return;
      }
      running.then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(error);
        },
      );
    });
  }

  /** amqp.connect, failing with SLUICE_AMQP_TIMED_OUT when the handshake does not finish in connectTimeoutMs. */
  #connectWithin(url: string): Promise<ChannelModel> {
    const limitMs = this.#options.connectTimeoutMs;
    const timedOutError = (cause?: unknown): ToolkitError =>
      new ToolkitError(
        ToolkitErrorCode.AMQP_TIMED_OUT,
        `RabbitMQ at ${this.#options.address} did not complete the AMQP handshake within ${limitMs} ms ` +
          "(connectTimeoutMs); is it a RabbitMQ server, and is it healthy?",
        { cause },
      );
    return new Promise<ChannelModel>((resolve, reject) => {
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        reject(timedOutError());
      }, limitMs);
      // noDelay: amqplib leaves Nagle's algorithm on, which holds a lone publish or ack back until the server's
      // delayed ACK (40 ms on Linux) and made every confirm of a quorum queue take that long. Without Nagle, each
      // frame would be a packet of its own; coalesceWrites makes each of amqplib's flushes one write instead.
      // timeout: amqplib destroys a socket that stays silent that long before the handshake ends.
      amqp
        .connect(url, { noDelay: true, timeout: limitMs, clientProperties: { connection_name: "sluice-toolkit" } })
        .then(
          (model) => {
            clearTimeout(timer);
            // A handshake that finished after the limit (a server trickling bytes) has nobody waiting for it.
            if (timedOut) void model.close().catch(() => undefined);
            else resolve(model);
          },
          (error: unknown) => {
            clearTimeout(timer);
            // amqplib's own timeout (of a silent socket) says only "connect ETIMEDOUT".
            reject(/ETIMEDOUT/.test(describeError(error)) ? timedOutError(error) : error);
          },
        );
    });
  }

  async #open(): Promise<ChannelModel> {
    const url = new URL(this.#options.url);
    if (!url.searchParams.has("heartbeat")) url.searchParams.set("heartbeat", String(this.#options.heartbeatS));
    const model = await this.#connectWithin(url.toString());
    coalesceWrites(model);
    // An error event without a listener would end the process; the close that follows is what matters.
    model.on("error", (error: Error) => {
      this.#logger.warn({ err: error }, `the RabbitMQ connection failed: ${describeError(error)}`);
    });
    model.on("close", (error?: Error) => {
      if (this.#model === model) this.#model = null;
      if (!this.#closed) {
        this.#logger.warn(
          { err: error },
          `the RabbitMQ connection closed: ${describeError(error ?? "no reason given")}`,
        );
      }
    });
    if (this.#closed) {
      await model.close().catch(() => undefined);
      throw new ToolkitError(ToolkitErrorCode.AMQP_UNREACHABLE, "the AMQP client was closed while it connected");
    }
    this.#model = model;
    return model;
  }
}

/**
 * amqplib queues each channel's frames and moves them to the socket in one turn of the event loop (its "mux"), a
 * socket write per frame, and so a system call and, without Nagle, a packet per published message. Corking the socket
 * for that turn sends the frames of a burst in one write. It reaches into amqplib's internals (connection.stream and
 * connection.muxer, as of amqplib 2.x); when they are not there, writes are left as they are, correct but slower.
 */
function coalesceWrites(model: ChannelModel): void {
  const internals = (model as unknown as { connection?: { stream?: unknown; muxer?: unknown } }).connection;
  const stream = internals?.stream as Partial<Pick<Writable, "cork" | "uncork">> | undefined;
  const muxer = internals?.muxer as { _readIncoming?: () => void } | undefined;
  const readIncoming = muxer?._readIncoming;
  if (muxer === undefined || typeof readIncoming !== "function") return;
  if (typeof stream?.cork !== "function" || typeof stream.uncork !== "function") return;
  const socket = stream as Pick<Writable, "cork" | "uncork">;
  muxer._readIncoming = () => {
    socket.cork();
    try {
      readIncoming.call(muxer);
    } finally {
      socket.uncork();
    }
  };
}

/** What the timeouts reach into: amqplib's connection and its socket (a channel and a model both have it). */
interface AmqplibInternals {
  connection?: { stream?: { destroy?: (error: Error) => void } };
}

/** A channel error (a missing exchange, say) closes the channel; its users see the close, not an unhandled error. */
function guard<C extends Channel>(channel: C, logger: ToolkitLogger): C {
  channel.on("error", (error: Error) => {
    logger.debug({ err: error }, `a RabbitMQ channel closed: ${describeError(error)}`);
  });
  return channel;
}
