// The AMQP transport's one connection to RabbitMQ, shared by its producers, consumers and admins (each opens its own
// channels on it). It connects on first use; once lost, the next user connects again. connect() tries once: the
// relay and the consumers each have their own bounded backoff around it.

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
    const model = await amqp.connect(url.toString(), { clientProperties: { connection_name: "sluice-toolkit" } });
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

/** A channel error (a missing exchange, say) closes the channel; its users see the close, not an unhandled error. */
function guard<C extends Channel>(channel: C, logger: ToolkitLogger): C {
  channel.on("error", (error: Error) => {
    logger.debug({ err: error }, `a RabbitMQ channel closed: ${describeError(error)}`);
  });
  return channel;
}
