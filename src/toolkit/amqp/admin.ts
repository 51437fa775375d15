// The AMQP admin: the topic set-up the consumers need (exchanges, delay and dead-letter queues; see topology.ts) and
// the lag of a group, which on RabbitMQ is the number of messages waiting in its queues. RabbitMQ has no offsets, so
// topicOffsets and groupOffsets say so; listTopics names the exchanges this client declared, since AMQP 0-9-1 cannot
// list exchanges (the management plugin can).

import type { Channel } from "amqplib";

import { InvalidArgumentError, ToolkitError, ToolkitErrorCode } from "../errors.js";
import { ENSURE_TOPICS_COUNT_MAX, type KafkaAdmin } from "../kafka/admin.js";
import type { AmqpConnection } from "./connection.js";
import type { AmqpTopology } from "./topology.js";

function noOffsets(what: string): ToolkitError {
  return new ToolkitError(
    ToolkitErrorCode.INVALID_ARGUMENT,
    `${what}: RabbitMQ queues have no offsets; read a group's lag with consumerLag instead`,
  );
}

export function createAmqpAdmin(connection: AmqpConnection, topology: AmqpTopology): KafkaAdmin {
  let channel: Channel | null = null;
  const open = async (): Promise<Channel> => {
    if (channel !== null) return channel;
    const opened = await connection.channel();
    opened.on("close", () => {
      if (channel === opened) channel = null;
    });
    channel = opened;
    return opened;
  };

  /** Runs a passive check on a channel of its own: a missing object closes the channel it was asked on. */
  const check = async <T>(task: (probe: Channel) => Promise<T>): Promise<T | null> => {
    const probe = await connection.channel();
    try {
      return await connection.operation(probe, "a passive check", () => task(probe));
    } catch (error) {
      if (/NOT_FOUND/.test(String((error as Error)?.message))) return null;
      throw error;
    } finally {
      await connection.closeChannel(probe);
    }
  };

  return {
    async listTopics() {
      return [...topology.declaredExchanges];
    },

    async partitionCount(topic) {
      const found = await check((probe) => probe.checkExchange(topic));
      return found === null ? null : 1;
    },

    async ensureTopics(topics) {
      if (!Array.isArray(topics) || topics.length > ENSURE_TOPICS_COUNT_MAX) {
        throw new InvalidArgumentError("topics", `must be an array of at most ${ENSURE_TOPICS_COUNT_MAX} topics`);
      }
      const created: string[] = [];
      for (const spec of topics) {
        const existed = (await check((probe) => probe.checkExchange(spec.name))) !== null;
        const channel = await open();
        await connection.operation(channel, `declaring topic ${spec.name}`, () =>
          topology.declareTopic(channel, spec.name),
        );
        if (!existed) created.push(spec.name);
      }
      return { created, mismatched: [] };
    },

    async topicOffsets() {
      throw noOffsets("topicOffsets");
    },

    async groupOffsets() {
      throw noOffsets("groupOffsets");
    },

    async consumerLag(groupId, topics) {
      const lags: Array<{ topic: string; partition: number; lag: number }> = [];
      for (const topic of topics) {
        const queue = topology.groupQueue(topic, groupId);
        const reply = await check((probe) => probe.checkQueue(queue));
        lags.push({ topic, partition: 0, lag: reply?.messageCount ?? 0 });
      }
      return lags;
    },

    async disconnect() {
      const open = channel;
      channel = null;
      if (open !== null) await connection.closeChannel(open);
    },
  };
}
