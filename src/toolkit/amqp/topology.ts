// How Kafka's model maps onto RabbitMQ, in one place. A topic is a durable fanout exchange of the same name. A
// consumer group's subscription to a topic is a durable queue bound to it (`<topic>.<group>`, or a configured name
// such as task_queue), so every group gets every event and the members of one group compete for them. A retry tier
// `<topic>.retry.<n>` is an exchange whose one queue, `<topic>.retry.<n>.delay`, has no consumer: each message waits
// there for its own TTL (its due time), and RabbitMQ then dead-letters it to the exchange `<topic>.retry.<n>.due`,
// to which the groups' retry queues are bound. A tier holds one delay, so the message at a queue's head is always the
// next to fall due (RabbitMQ expires messages only at the head). The dead-letter topic `<topic>.dlt` is an exchange
// with one queue of the same name, read by `sluice dlt list|redrive`.

import type { Channel } from "amqplib";

import { DEAD_LETTER_TOPIC_SUFFIX } from "../dead-letter.js";
import type { ResolvedAmqpOptions } from "./options.js";

const RETRY_TIER = /\.retry\.[0-9]+$/;
export const DELAY_QUEUE_SUFFIX = ".delay";
export const DUE_EXCHANGE_SUFFIX = ".due";

export function isRetryTier(topic: string): boolean {
  return RETRY_TIER.test(topic);
}

export function isDeadLetterTopic(topic: string): boolean {
  return topic.endsWith(DEAD_LETTER_TOPIC_SUFFIX);
}

export class AmqpTopology {
  readonly #options: ResolvedAmqpOptions;
  /** Every exchange and queue this client declared, so that tests (and operators) can see and remove them. */
  readonly declaredExchanges = new Set<string>();
  readonly declaredQueues = new Set<string>();

  constructor(options: ResolvedAmqpOptions) {
    this.#options = options;
  }

  /** The queue a group reads a topic from. */
  groupQueue(topic: string, groupId: string): string {
    return this.#options.queueNames.get(topic) ?? `${topic}.${groupId}`;
  }

  /** The exchange a group's queue for this topic is bound to: a retry tier's messages arrive once due. */
  sourceExchange(topic: string): string {
    return isRetryTier(topic) ? `${topic}${DUE_EXCHANGE_SUFFIX}` : topic;
  }

  #queueArguments(extra: Record<string, unknown> = {}): Record<string, unknown> {
    return { "x-queue-type": this.#options.queueType, ...extra };
  }

  async #exchange(channel: Channel, name: string): Promise<void> {
    await channel.assertExchange(name, "fanout", { durable: true });
    this.declaredExchanges.add(name);
  }

  async #queue(channel: Channel, name: string, extra: Record<string, unknown> = {}): Promise<void> {
    await channel.assertQueue(name, { durable: true, arguments: this.#queueArguments(extra) });
    this.declaredQueues.add(name);
  }

  /** Declares what publishing to a topic needs: its exchange, and for a retry tier or dead-letter topic its queue. */
  async declareTopic(channel: Channel, topic: string): Promise<void> {
    await this.#exchange(channel, topic);
    if (isRetryTier(topic)) {
      const due = `${topic}${DUE_EXCHANGE_SUFFIX}`;
      const delay = `${topic}${DELAY_QUEUE_SUFFIX}`;
      await this.#exchange(channel, due);
      // At-least-once dead-lettering (quorum queues only) keeps an expired message in the delay queue until the
      // due exchange's queues have taken it; it needs reject-publish as the overflow behaviour.
      const safety =
        this.#options.queueType === "quorum"
          ? { "x-dead-letter-strategy": "at-least-once", "x-overflow": "reject-publish" }
          : {};
      await this.#queue(channel, delay, { "x-dead-letter-exchange": due, ...safety });
      await channel.bindQueue(delay, topic, "");
    } else if (isDeadLetterTopic(topic)) {
      await this.#queue(channel, topic);
      await channel.bindQueue(topic, topic, "");
    } else {
      // A named work queue (task_queue) exists as soon as its topic does, as the original system's API declared it:
      // events published before any worker started pile up there instead of being dropped.
      const named = this.#options.queueNames.get(topic);
      if (named !== undefined) {
        await this.#queue(channel, named);
        await channel.bindQueue(named, topic, "");
      }
    }
  }

  /** Declares a group's queue for a topic and binds it; returns the queue's name. */
  async declareSubscription(channel: Channel, topic: string, groupId: string): Promise<string> {
    await this.declareTopic(channel, topic);
    const queue = this.groupQueue(topic, groupId);
    await this.#queue(channel, queue);
    await channel.bindQueue(queue, this.sourceExchange(topic), "");
    return queue;
  }
}
