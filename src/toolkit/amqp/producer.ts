// The AMQP producer: records in, publisher confirms out. Each record is published persistent and mandatory on a
// confirm channel, and send resolves only when RabbitMQ confirmed every one, which it does once the message is on
// disk in every queue it went to (for a quorum queue, on a majority of its replicas). A message no queue took
// (mandatory, returned) or one RabbitMQ refused (nacked) fails the send, so the outbox keeps its row and tries again:
// an event is never marked sent while it sits nowhere.

import type { ConfirmChannel, Message } from "amqplib";

import { describeError, PublishError, ToolkitError, UnknownTopicError } from "../errors.js";
import type { ToolkitLogger } from "../logger.js";
import type { KafkaProducer, PartitionAck, ProducerRecord } from "../kafka/producer.js";
import type { AmqpConnection } from "./connection.js";
import { toAmqpMessage } from "./message.js";
import type { ResolvedAmqpOptions } from "./options.js";

class Unroutable extends Error {}

/** One confirm channel and what it is waiting for. */
class PublishChannel {
  readonly channel: ConfirmChannel;
  readonly returned = new Set<string>();
  closed = false;
  /** Why RabbitMQ closed the channel (a missing exchange, say), when it did. */
  closeError: Error | null = null;
  #drainWaiters: Array<() => void> = [];

  constructor(channel: ConfirmChannel) {
    this.channel = channel;
    channel.on("return", (message: Message) => {
      const id = message.properties.messageId;
      if (typeof id === "string") this.returned.add(id);
    });
    channel.on("drain", () => this.#wakeDrainWaiters());
    channel.on("error", (error: Error) => {
      this.closeError = error;
    });
    channel.on("close", () => {
      this.closed = true;
      this.#wakeDrainWaiters();
    });
  }

  /** Resolves when the channel's write buffer drained, or it closed. */
  drained(): Promise<void> {
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  #wakeDrainWaiters(): void {
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const wake of waiters) wake();
  }
}

export function createAmqpProducer(
  connection: AmqpConnection,
  options: ResolvedAmqpOptions,
  logger: ToolkitLogger,
): KafkaProducer {
  let current: PublishChannel | null = null;
  let opening: Promise<PublishChannel> | null = null;
  let sequence = 0;

  const open = (): Promise<PublishChannel> => {
    if (current !== null && !current.closed) return Promise.resolve(current);
    opening ??= connection
      .confirmChannel()
      .then((channel) => {
        current = new PublishChannel(channel);
        return current;
      })
      .finally(() => {
        opening = null;
      });
    return opening;
  };

  /**
   * Publishes one record; confirmed resolves to null once RabbitMQ confirmed it, or to why not (it never rejects,
   * so that a failure while later messages are still being written is not an unhandled rejection). written is false
   * when the channel's write buffer is full.
   */
  const publishOne = (
    target: PublishChannel,
    record: ProducerRecord,
  ): { confirmed: Promise<Error | null>; written: boolean } => {
    sequence += 1;
    const messageId = `p${sequence}`;
    const { body, options: publishOptions } = toAmqpMessage(record, messageId);
    let settle: (error: unknown) => void = () => undefined;
    const confirmed = new Promise<Error | null>((resolve) => {
      const timer = setTimeout(
        () => resolve(new Error(`no confirm within ${options.confirmTimeoutMs} ms (confirmTimeoutMs)`)),
        options.confirmTimeoutMs,
      );
      settle = (error) => {
        clearTimeout(timer);
        if (error !== null && error !== undefined) resolve(error instanceof Error ? error : new Error(String(error)));
        else if (target.returned.delete(messageId)) resolve(new Unroutable(record.topic));
        else resolve(null);
      };
    });
    const written = target.channel.publish(record.topic, "", body, publishOptions, (error) => settle(error));
    return { confirmed, written };
  };

  const toError = (error: unknown, topics: string[]): ToolkitError => {
    if (error instanceof ToolkitError) return error;
    if (error instanceof Unroutable) {
      return new PublishError(
        [error.message],
        `no queue is bound to exchange "${error.message}" yet, so RabbitMQ would drop the event; start the topic's ` +
          "consumers (or declare their queues) first",
        true,
        error,
      );
    }
    const text = describeError(error);
    if (/NOT_FOUND/.test(text)) {
      const match = /exchange '([^']+)'/.exec(text);
      return new UnknownTopicError(match?.[1] ?? topics[0] ?? "?", error);
    }
    return new PublishError(topics, `RabbitMQ did not confirm: ${text}`, true, error);
  };

  return {
    async connect() {
      await open();
    },

    async send(records: readonly ProducerRecord[]): Promise<PartitionAck[]> {
      if (records.length === 0) return [];
      const topics = [...new Set(records.map((record) => record.topic))];
      let target: PublishChannel;
      try {
        target = await open();
      } catch (error) {
        throw new PublishError(
          topics,
          `cannot reach RabbitMQ at ${options.address}: ${describeError(error)}`,
          true,
          error,
        );
      }
      const confirms: Array<Promise<Error | null>> = [];
      try {
        for (const record of records) {
          if (target.closed) throw new Error("the channel closed while publishing");
          const { confirmed, written } = publishOne(target, record);
          confirms.push(confirmed);
          // The write buffer is full: wait for it to drain before the next message, so memory stays bounded.
          if (!written) await target.drained();
        }
      } catch (error) {
        // Messages published so far may still be confirmed; the send fails as a whole and is retried.
        await Promise.all(confirms);
        throw toError(target.closeError ?? error, topics);
      }
      const results = await Promise.all(confirms);
      const failed = results.find((result) => result !== null);
      if (failed !== undefined && failed !== null) {
        const error = toError(target.closeError ?? failed, topics);
        logger.debug({ err: error, topics }, "an AMQP publish was not confirmed");
        throw error;
      }
      return topics.map((topic) => ({ topic, partition: 0, baseOffset: "0" }));
    },

    async disconnect() {
      const channel = current;
      current = null;
      if (channel !== null && !channel.closed) await connection.closeChannel(channel.channel);
    },
  };
}
