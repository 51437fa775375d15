// The transport seam: what the outbox relay and the inbox consumer need of a message broker. Two implementations
// exist: Kafka (src/toolkit/kafka/, the default) and AMQP 0-9-1 (src/toolkit/amqp/, RabbitMQ). Services pick one by
// configuration and pass it as `client`; their handlers never see which one it is.
//
// The seam keeps Kafka's vocabulary (topics, partitions, offsets) because the relay and the consumer are written in
// it: an AMQP transport maps a topic to an exchange, a consumer group's subscription to a queue, a queue to one
// "partition", and a delivery tag to an "offset" whose commit is a cumulative ack. What a transport cannot give is
// said by its capabilities, which the conformance suite (test/toolkit/transport-conformance-suite.ts) reads too.

import type { KafkaAdmin } from "../kafka/admin.js";
import type { KafkaConsumer, KafkaConsumerOptions } from "../kafka/consumer.js";
import type { KafkaProducer, KafkaProducerOptions } from "../kafka/producer.js";
import type { ToolkitLogger } from "../logger.js";

export type TransportKind = "kafka" | "amqp";

export interface TransportCapabilities {
  /**
   * Events with the same key reach a group's handler in the order they were published, even with several members
   * in the group. Kafka gives it (a key maps to one partition, a partition to one member); AMQP does not, because
   * the members of a group are competing consumers on one queue.
   */
  readonly perKeyOrderAcrossMembers: boolean;
  /** Topics have several partitions that spread the work over a group's members. */
  readonly partitions: boolean;
}

/** A producer: `send` resolves only when the broker has taken every record for good (acks=-1, or a confirm). */
export type TransportProducer = KafkaProducer;
export type TransportProducerOptions = KafkaProducerOptions;
/** A consumer-group member that hands over batches and acknowledges only what it is told to commit. */
export type TransportConsumer = KafkaConsumer;
export type TransportConsumerOptions = KafkaConsumerOptions;
/** Topic set-up (ensureTopics, partitionCount) and, for lag, offsets or queue depths. */
export type TransportAdmin = KafkaAdmin;

export interface TransportClient {
  readonly kind: TransportKind;
  readonly capabilities: TransportCapabilities;
  readonly logger: ToolkitLogger;
  /** Where the broker is, for logs: bootstrap addresses or the AMQP URL without its password. */
  readonly address: string;
  producer(options?: TransportProducerOptions): TransportProducer;
  admin(): TransportAdmin;
  consumer(options: TransportConsumerOptions): TransportConsumer;
}

export const KAFKA_CAPABILITIES: TransportCapabilities = { perKeyOrderAcrossMembers: true, partitions: true };
export const AMQP_CAPABILITIES: TransportCapabilities = { perKeyOrderAcrossMembers: false, partitions: false };
