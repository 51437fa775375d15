// The toolkit's producer interface over Sluice's own client (src/kafka/client): the same contract as the kafkajs one
// in producer.ts, with the client's errors turned into toolkit errors. The client's producer batches per partition
// and keeps a few batches out per partition, so concurrent sends share requests instead of queueing behind each
// other, and a send does not wait for an earlier batch's fsync before it is written.

import {
  KafkaAuthenticationError,
  KafkaBrokerError,
  KafkaClientClosedError,
  KafkaClientError,
  KafkaConnectionError,
  KafkaTopicUnknownError,
  type OutgoingRecord,
  type Producer,
  type SluiceKafkaClient,
} from "../../kafka/client/index.js";
import { describeError, PublishError, ToolkitError, ToolkitErrorCode, UnknownTopicError } from "../errors.js";
import {
  chunkRecords,
  type KafkaProducer,
  type KafkaProducerOptions,
  type PartitionAck,
  type ProducerRecord,
} from "./producer.js";

/** Turns a failure of Sluice's client into UnknownTopicError or PublishError, keeping the original as the cause. */
export function toNativePublishError(
  error: unknown,
  topics: readonly string[],
  brokers: readonly string[],
): ToolkitError {
  if (error instanceof ToolkitError) return error;
  if (error instanceof KafkaTopicUnknownError) return new UnknownTopicError(error.topic, error);
  if (error instanceof KafkaAuthenticationError) {
    return new PublishError(
      topics,
      `authentication failed (${error.message}); check the sasl option or KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME ` +
        "and KAFKA_SASL_PASSWORD",
      false,
      error,
    );
  }
  if (error instanceof KafkaBrokerError) {
    return new PublishError(topics, `the broker answered ${error.errorName}`, error.retriable, error);
  }
  if (error instanceof KafkaConnectionError) {
    return new PublishError(topics, `cannot reach the brokers at ${brokers.join(",")}`, true, error);
  }
  if (error instanceof KafkaClientError) return new PublishError(topics, error.message, error.retriable, error);
  return new PublishError(topics, describeError(error), true, error);
}

const NO_HEADERS: OutgoingRecord["headers"] = [];

function toOutgoingRecord(record: ProducerRecord): OutgoingRecord {
  let headers: Array<{ key: string; value: string }> | null = null;
  for (const key of Object.keys(record.headers)) (headers ??= []).push({ key, value: record.headers[key]! });
  const { topic, key, value, partition } = record;
  return partition === undefined
    ? { topic, key, value, headers: headers ?? NO_HEADERS }
    : { topic, key, value, headers: headers ?? NO_HEADERS, partition };
}

/** A producer with connections of its own, made on first use and closed by disconnect(). */
export function createNativeProducer(
  connect: () => SluiceKafkaClient,
  brokers: readonly string[],
  options: KafkaProducerOptions = {},
): KafkaProducer {
  let client: SluiceKafkaClient | null = null;
  let producer: Producer | null = null;
  let closed = false;
  let inFlight = 0;
  let idle: (() => void) | null = null;
  const open = (): Producer => {
    client ??= connect();
    producer ??= client.producer({
      idempotent: options.idempotent ?? true,
      acks: -1,
      allowAutoTopicCreation: options.allowAutoTopicCreation ?? false,
    });
    return producer;
  };
  const refuseWhenClosed = (): void => {
    if (closed) {
      throw new ToolkitError(
        ToolkitErrorCode.PUBLISHER_CLOSED,
        "the producer has been disconnected; create a new one to publish again",
      );
    }
  };

  return {
    async connect() {
      refuseWhenClosed();
      try {
        await open().connect();
      } catch (error) {
        throw toNativePublishError(error, [], brokers);
      }
    },

    async send(records) {
      refuseWhenClosed();
      if (records.length === 0) return [];
      const current = open();
      const topics = [...new Set(records.map((record) => record.topic))];
      inFlight += 1;
      try {
        // Chunks go out together; the client keeps each partition's records in the order they were handed over.
        const answers = await Promise.all(
          chunkRecords(records).map((chunk) => current.send(chunk.map(toOutgoingRecord))),
        );
        const acks = new Map<string, PartitionAck>();
        for (const answer of answers.flat()) {
          const key = `${answer.topic}\0${answer.partition}`;
          if (!acks.has(key)) {
            acks.set(key, { topic: answer.topic, partition: answer.partition, baseOffset: String(answer.baseOffset) });
          }
        }
        return [...acks.values()];
      } catch (error) {
        if (error instanceof KafkaClientClosedError && closed) refuseWhenClosed();
        throw toNativePublishError(error, topics, brokers);
      } finally {
        inFlight -= 1;
        if (inFlight === 0) idle?.();
      }
    },

    async disconnect() {
      closed = true;
      producer?.close();
      // Sends already handed over finish (or fail) before the connections close.
      if (inFlight > 0) await new Promise<void>((resolve) => (idle = resolve));
      await client?.close();
    },
  };
}
