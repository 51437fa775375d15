// A transport that sends some topics over another transport: `sluice up --transport amqp://…` moves an app's work
// queues (the message board's messages.saved) to RabbitMQ while the rest, which the WebSocket gateway and the console
// read live, stay on the Kafka broker. A topic's retry tiers and dead-letter topic go where the topic goes. A consumer
// must read topics of one transport only.

import { ToolkitError, ToolkitErrorCode } from "../errors.js";
import type { EnsureTopicsResult, KafkaAdmin } from "../kafka/admin.js";
import type { KafkaConsumer } from "../kafka/consumer.js";
import type { KafkaProducer, PartitionAck, ProducerRecord } from "../kafka/producer.js";
import type { TransportClient } from "./transport.js";

const DERIVED_SUFFIX = /(\.retry\.[0-9]+|\.dlt)$/;

/** The topic a retry tier or dead-letter topic belongs to (itself for any other). */
export function baseTopicOf(topic: string): string {
  return topic.replace(DERIVED_SUFFIX, "");
}

export function createRoutedClient(
  fallback: TransportClient,
  routes: ReadonlyMap<string, TransportClient>,
): TransportClient {
  if (routes.size === 0) return fallback;
  const transportOf = (topic: string): TransportClient => routes.get(baseTopicOf(topic)) ?? fallback;
  const transports = [fallback, ...new Set(routes.values())];

  const producer = (): KafkaProducer => {
    const producers = new Map<TransportClient, KafkaProducer>();
    const producerOf = (transport: TransportClient): KafkaProducer => {
      let made = producers.get(transport);
      if (made === undefined) {
        made = transport.producer();
        producers.set(transport, made);
      }
      return made;
    };
    return {
      async connect() {
        await Promise.all(transports.map((transport) => producerOf(transport).connect()));
      },
      async send(records: readonly ProducerRecord[]): Promise<PartitionAck[]> {
        const first = records[0];
        // The relay sends one topic per call, so the common case needs no split.
        if (first !== undefined && records.every((record) => record.topic === first.topic)) {
          return producerOf(transportOf(first.topic)).send(records);
        }
        const byTransport = new Map<TransportClient, ProducerRecord[]>();
        for (const record of records) {
          const transport = transportOf(record.topic);
          byTransport.set(transport, [...(byTransport.get(transport) ?? []), record]);
        }
        const acks = await Promise.all([...byTransport].map(([transport, list]) => producerOf(transport).send(list)));
        return acks.flat();
      },
      async disconnect() {
        await Promise.all([...producers.values()].map((made) => made.disconnect()));
      },
    };
  };

  const admin = (): KafkaAdmin => {
    const admins = new Map<TransportClient, KafkaAdmin>();
    const adminOf = (transport: TransportClient): KafkaAdmin => {
      let made = admins.get(transport);
      if (made === undefined) {
        made = transport.admin();
        admins.set(transport, made);
      }
      return made;
    };
    return {
      async listTopics() {
        return (await Promise.all(transports.map((transport) => adminOf(transport).listTopics()))).flat();
      },
      partitionCount: (topic) => adminOf(transportOf(topic)).partitionCount(topic),
      async ensureTopics(topics) {
        const result: EnsureTopicsResult = { created: [], mismatched: [] };
        for (const transport of transports) {
          const mine = topics.filter((spec) => transportOf(spec.name) === transport);
          if (mine.length === 0) continue;
          const part = await adminOf(transport).ensureTopics(mine);
          result.created.push(...part.created);
          result.mismatched.push(...part.mismatched);
        }
        return result;
      },
      topicOffsets: (topic) => adminOf(transportOf(topic)).topicOffsets(topic),
      groupOffsets: (groupId, topic) => adminOf(transportOf(topic)).groupOffsets(groupId, topic),
      async consumerLag(groupId, topics) {
        const lags = [];
        for (const topic of topics) {
          const target = adminOf(transportOf(topic));
          if (target.consumerLag !== undefined) lags.push(...(await target.consumerLag(groupId, [topic])));
        }
        return lags;
      },
      async disconnect() {
        await Promise.all([...admins.values()].map((made) => made.disconnect()));
      },
    };
  };

  return {
    kind: fallback.kind,
    capabilities: fallback.capabilities,
    logger: fallback.logger,
    address: transports.map((transport) => transport.address).join(" + "),
    producer,
    admin,
    consumer(options): KafkaConsumer {
      let chosen: KafkaConsumer | null = null;
      const joinListeners: Parameters<KafkaConsumer["onJoin"]>[0][] = [];
      const crashListeners: Parameters<KafkaConsumer["onCrash"]>[0][] = [];
      const require = (): KafkaConsumer => {
        if (chosen === null) {
          throw new ToolkitError(ToolkitErrorCode.CONSUMER_STATE_INVALID, "the consumer has not started");
        }
        return chosen;
      };
      return {
        groupId: options.groupId,
        async start(startOptions) {
          const targets = new Set(startOptions.topics.map(transportOf));
          if (targets.size > 1) {
            throw new ToolkitError(
              ToolkitErrorCode.INVALID_ARGUMENT,
              `consumer group ${options.groupId} reads topics on different transports (${startOptions.topics.join(", ")}); ` +
                "give each transport's topics a consumer of their own",
            );
          }
          const target = [...targets][0] ?? fallback;
          chosen = target.consumer(options);
          for (const listener of joinListeners) chosen.onJoin(listener);
          for (const listener of crashListeners) chosen.onCrash(listener);
          await chosen.start(startOptions);
        },
        pause: (topic, partition) => require().pause(topic, partition),
        resume: (topic, partition) => require().resume(topic, partition),
        onJoin(listener) {
          if (chosen === null) joinListeners.push(listener);
          else chosen.onJoin(listener);
        },
        onCrash(listener) {
          if (chosen === null) crashListeners.push(listener);
          else chosen.onCrash(listener);
        },
        async stop() {
          await chosen?.stop();
        },
      };
    },
  };
}
