// Publishing straight to Kafka, not through the outbox: the typed publisher for events a service does not need to
// tie to a database write, and the raw publisher that re-publishes records exactly as they are (retries, dead
// letters, redrive). Both use the idempotent producer with acks=-1.

import { encodeEvent, EVENT_BYTES_MAX, recordBytes, type EncodedEvent, type EventOptions } from "./event.js";
import { EventTooLargeError, InvalidArgumentError, ToolkitError, ToolkitErrorCode } from "./errors.js";
import type { TransportClient } from "./transports/transport.js";
import type { KafkaProducer, KafkaProducerOptions, ProducerRecord } from "./kafka/producer.js";
import { publishingMetrics } from "./metrics.js";
import type { TopicDefinition } from "./topic.js";

/** Records per publish call; larger sets are split by the caller. */
export const PUBLISH_RECORDS_MAX = 10_000;

export interface RawRecord {
  key: string | null;
  value: Buffer | null;
  headers: Record<string, string>;
  partition?: number;
}

export interface EventPublisher {
  /** Publishes records to topic in order, exactly as given (no validation, no added headers). */
  publish(topic: string, messages: readonly RawRecord[]): Promise<void>;
  close(): Promise<void>;
}

export interface PublishedEvent {
  id: string;
  topic: string;
  partition: number;
  /** The record's offset, as a decimal string. */
  offset: string;
  traceparent: string;
}

export interface Publisher {
  /** Validates the value against the topic's schema, adds the standard headers, and publishes it. */
  publish<T>(topic: TopicDefinition<T>, value: T, options?: EventOptions): Promise<PublishedEvent>;
  /** Publishes several events of one topic in order; all are validated before any is sent. Returns their ids. */
  publishMany<T>(
    topic: TopicDefinition<T>,
    values: readonly T[],
    options?: Omit<EventOptions, "eventId">,
  ): Promise<string[]>;
  close(): Promise<void>;
}

export interface PublisherOptions {
  producer?: KafkaProducerOptions;
}

function closedError(): ToolkitError {
  return new ToolkitError(ToolkitErrorCode.PUBLISHER_CLOSED, "the publisher has been closed; create a new one");
}

function checkCount(count: number): void {
  if (count > PUBLISH_RECORDS_MAX) {
    throw new InvalidArgumentError("messages", `at most ${PUBLISH_RECORDS_MAX} per call, got ${count}; split them`);
  }
}

/** Connects a producer for re-publishing records unchanged. Rejects with PublishError when no broker answers. */
export async function createRawPublisher(
  client: TransportClient,
  options: PublisherOptions = {},
): Promise<EventPublisher> {
  const producer = client.producer(options.producer);
  await producer.connect();
  let closed = false;
  return {
    async publish(topic, messages) {
      if (closed) throw closedError();
      if (!Array.isArray(messages)) throw new InvalidArgumentError("messages", "must be an array");
      checkCount(messages.length);
      const records: ProducerRecord[] = messages.map((message) => {
        const bytes = recordBytes(message.key, message.value, message.headers);
        if (bytes > EVENT_BYTES_MAX) throw new EventTooLargeError(topic, bytes, EVENT_BYTES_MAX);
        return { topic, ...message };
      });
      await producer.send(records);
    },
    async close() {
      closed = true;
      await producer.disconnect();
    },
  };
}

function toRecord(event: EncodedEvent, partition: number | undefined): ProducerRecord {
  return {
    topic: event.topic,
    key: event.key,
    value: event.value,
    headers: event.headers,
    ...(partition === undefined ? {} : { partition }),
  };
}

/** A typed publisher; it connects on the first publish. */
export function createPublisher(client: TransportClient, options: PublisherOptions = {}): Publisher {
  const metrics = publishingMetrics();
  let producer: KafkaProducer | null = null;
  let closed = false;
  const producerOf = (): KafkaProducer => {
    if (closed) throw closedError();
    producer ??= client.producer(options.producer);
    return producer;
  };
  return {
    async publish(topic, value, eventOptions = {}) {
      const event = await encodeEvent(topic, value, eventOptions);
      const [ack] = await producerOf().send([toRecord(event, undefined)]);
      metrics.eventsProduced.inc({ topic: topic.name, source: "publisher" });
      return {
        id: event.id,
        topic: topic.name,
        partition: ack?.partition ?? -1,
        offset: ack?.baseOffset ?? "-1",
        traceparent: event.traceparent,
      };
    },
    async publishMany(topic, values, eventOptions = {}) {
      if (!Array.isArray(values)) throw new InvalidArgumentError("values", "must be an array");
      checkCount(values.length);
      const events: EncodedEvent[] = [];
      for (const value of values) events.push(await encodeEvent(topic, value, eventOptions));
      await producerOf().send(events.map((event) => toRecord(event, undefined)));
      metrics.eventsProduced.inc({ topic: topic.name, source: "publisher" }, events.length);
      return events.map((event) => event.id);
    },
    async close() {
      closed = true;
      await producer?.disconnect();
    },
  };
}
