// The AMQP transport's one connection to RabbitMQ, shared by its producers, consumers and admins (each opens its own
// channels on it). It connects on first use; once lost, the next user connects again. connect() tries once: the
// relay and the consumers each have their own bounded backoff around it.

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
    return guard(await (await this.connect()).createChannel(), this.#logger);
  }

  async confirmChannel(): Promise<ConfirmChannel> {
    return guard(await (await this.connect()).createConfirmChannel(), this.#logger);
  }

  async close(): Promise<void> {
    this.#closed = true;
    const model = (await this.#connecting?.catch(() => null)) ?? this.#model;
    this.#model = null;
    await model?.close().catch(() => undefined);
  }

  async #open(): Promise<ChannelModel> {
    const url = new URL(this.#options.url);
    if (!url.searchParams.has("heartbeat")) url.searchParams.set("heartbeat", String(this.#options.heartbeatS));
    // noDelay: amqplib leaves Nagle's algorithm on, which holds a lone publish or ack back until the server's delayed
    // ACK (40 ms on Linux) and made every confirm of a quorum queue take that long. Without Nagle, each frame would
    // be a packet of its own; coalesceWrites makes each of amqplib's flushes one write instead.
    const model = await amqp.connect(url.toString(), {
      noDelay: true,
      clientProperties: { connection_name: "sluice-toolkit" },
    });
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

/** A channel error (a missing exchange, say) closes the channel; its users see the close, not an unhandled error. */
function guard<C extends Channel>(channel: C, logger: ToolkitLogger): C {
  channel.on("error", (error: Error) => {
    logger.debug({ err: error }, `a RabbitMQ channel closed: ${describeError(error)}`);
  });
  return channel;
}
