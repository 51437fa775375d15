// Our producer interface over kafkajs's: records in, acknowledgements out, Kafka errors turned into toolkit errors.
//
// After any failed send the kafkajs producer is thrown away and the next send starts a new one (new producer id).
// An idempotent producer numbers its batches; if a send fails after the broker stored it (a lost response), a
// reused producer would send different records under the same sequence numbers and the broker would discard them
// as duplicates. A fresh producer id makes that impossible; the cost is a possible duplicate, which carries the
// same event id and which consumers' inboxes absorb.

import kafkajs from "kafkajs";
import type { Kafka, Message, Producer, TopicMessages } from "kafkajs";

import { describeError, PublishError, ToolkitError, ToolkitErrorCode, UnknownTopicError } from "../errors.js";
import type { ToolkitLogger } from "../logger.js";

const { Partitioners } = kafkajs;

export interface ProducerRecord {
  topic: string;
  key: Buffer | string | null;
  /** null is a tombstone. */
  value: Buffer | null;
  headers: Record<string, string>;
  /** Overrides the partitioner, which otherwise sends the same key to the same partition. */
  partition?: number;
}

/** The broker's acknowledgement of the records sent to one partition. */
export interface PartitionAck {
  topic: string;
  partition: number;
  /** Offset of the first record written, as a decimal string. */
  baseOffset: string;
}

/**
 * The most record bytes (keys, values and header names and values) one produce request carries. A partition's
 * records in one request form one record batch, which brokers refuse above message.max.bytes (1 MiB by default),
 * so larger sends go out as several requests, one after another.
 */
export const PRODUCE_REQUEST_RECORD_BYTES_MAX = 1_000_000;
export const PRODUCE_REQUEST_RECORDS_MAX = 10_000;

export interface KafkaProducerOptions {
  /** Idempotent (the broker drops retried duplicates) with acks=-1; default true. */
  idempotent?: boolean;
  /**
   * Let the broker create a missing topic with its default settings on first use; default false, so a typo in a
   * topic name fails loudly instead of creating a topic with the wrong partition count (see ensureTopics).
   */
  allowAutoTopicCreation?: boolean;
}

export interface KafkaProducer {
  /**
   * Sends records in the given order: records with the same topic and partition (or key) are written in that
   * order. Resolves when the broker acknowledged all of them; rejects with UnknownTopicError or PublishError, in
   * which case some records may have been written (when they needed more than one request).
   */
  send(records: readonly ProducerRecord[]): Promise<PartitionAck[]>;
  /** Connects ahead of the first send; send connects by itself when needed. */
  connect(): Promise<void>;
  disconnect(): Promise<void>;
}

interface Slot {
  readonly producer: Producer;
  readonly connected: Promise<void>;
  inFlight: number;
  retired: boolean;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}

/** The error and everything it wraps; kafkajs nests errors through cause, originalError and errors. */
export function kafkaErrorChain(error: unknown): Record<string, unknown>[] {
  const chain: Record<string, unknown>[] = [];
  const pending: unknown[] = [error];
  while (pending.length > 0 && chain.length < 32) {
    const current = pending.shift();
    if (!isRecord(current) || chain.includes(current)) continue;
    chain.push(current);
    pending.push(current.cause, current.originalError);
    if (Array.isArray(current.errors)) pending.push(...(current.errors as unknown[]));
  }
  return chain;
}

const CONNECTION_ERROR_NAMES = new Set([
  "KafkaJSConnectionError",
  "KafkaJSConnectionClosedError",
  "KafkaJSBrokerNotFound",
  "KafkaJSNoBrokerAvailableError",
  "KafkaJSRequestTimeoutError",
  "KafkaJSTimeout",
]);

/** Turns a kafkajs failure into UnknownTopicError or PublishError, keeping the original as the cause. */
export function toPublishError(error: unknown, topics: readonly string[], brokers: readonly string[]): ToolkitError {
  if (error instanceof ToolkitError) return error;
  const chain = kafkaErrorChain(error);
  const authentication = chain.find((entry) => entry.name === "KafkaJSSASLAuthenticationError");
  if (authentication !== undefined) {
    const detail = typeof authentication.message === "string" ? authentication.message : "refused";
    return new PublishError(
      topics,
      `authentication failed (${detail}); check the sasl option or KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME and ` +
        "KAFKA_SASL_PASSWORD",
      false,
      error,
    );
  }
  const unknownTopic = chain.find((entry) => entry.type === "UNKNOWN_TOPIC_OR_PARTITION");
  if (unknownTopic !== undefined) {
    const topic = typeof unknownTopic.topic === "string" ? unknownTopic.topic : (topics[0] ?? "?");
    return new UnknownTopicError(topic, error);
  }
  const protocol = chain.find((entry) => typeof entry.type === "string" && entry.type !== "UNKNOWN");
  if (protocol !== undefined) {
    const retriable = protocol.retriable !== false;
    return new PublishError(topics, `the broker answered ${String(protocol.type)}`, retriable, error);
  }
  const connection = chain.find(
    (entry) =>
      (typeof entry.name === "string" && CONNECTION_ERROR_NAMES.has(entry.name)) ||
      (typeof entry.code === "string" &&
        ["ECONNREFUSED", "ECONNRESET", "EHOSTUNREACH", "ETIMEDOUT"].includes(entry.code)),
  );
  if (connection !== undefined) {
    return new PublishError(topics, `cannot reach the brokers at ${brokers.join(",")}`, true, error);
  }
  return new PublishError(topics, describeError(error), true, error);
}

/** The bytes of a record that count against PRODUCE_REQUEST_RECORD_BYTES_MAX. */
export function producerRecordBytes(record: ProducerRecord): number {
  let bytes = (record.key === null ? 0 : Buffer.byteLength(record.key)) + (record.value?.length ?? 0);
  for (const [name, value] of Object.entries(record.headers))
    bytes += Buffer.byteLength(name) + Buffer.byteLength(value);
  return bytes;
}

/** Splits records, keeping their order, into runs that each fit one produce request. */
export function chunkRecords<R extends ProducerRecord>(records: readonly R[]): R[][] {
  const chunks: R[][] = [];
  let chunk: R[] = [];
  let chunkBytes = 0;
  for (const record of records) {
    const bytes = producerRecordBytes(record);
    if (
      chunk.length > 0 &&
      (chunkBytes + bytes > PRODUCE_REQUEST_RECORD_BYTES_MAX || chunk.length >= PRODUCE_REQUEST_RECORDS_MAX)
    ) {
      chunks.push(chunk);
      chunk = [];
      chunkBytes = 0;
    }
    chunk.push(record);
    chunkBytes += bytes;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}

function toTopicMessages(records: readonly ProducerRecord[]): TopicMessages[] {
  const byTopic = new Map<string, Message[]>();
  for (const record of records) {
    let messages = byTopic.get(record.topic);
    if (messages === undefined) {
      messages = [];
      byTopic.set(record.topic, messages);
    }
    messages.push({
      key: record.key,
      value: record.value,
      headers: record.headers,
      ...(record.partition === undefined ? {} : { partition: record.partition }),
    });
  }
  return [...byTopic].map(([topic, messages]) => ({ topic, messages }));
}

export function createKafkaProducer(
  kafka: Kafka,
  brokers: readonly string[],
  logger: ToolkitLogger,
  options: KafkaProducerOptions = {},
): KafkaProducer {
  const idempotent = options.idempotent ?? true;
  let slot: Slot | null = null;
  let closed = false;

  const open = (): Slot => {
    if (slot !== null) return slot;
    const producer = kafka.producer({
      idempotent,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: options.allowAutoTopicCreation ?? false,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    const connected = producer.connect();
    const opened: Slot = { producer, connected, inFlight: 0, retired: false };
    // A failed connect is reported by the send waiting on it; this only keeps it from counting as unhandled.
    connected.catch(() => undefined);
    slot = opened;
    return opened;
  };

  const disconnectWhenIdle = (retired: Slot): void => {
    if (retired.inFlight > 0) return;
    retired.producer.disconnect().catch((error: unknown) => {
      logger.debug({ err: error }, "disconnecting a retired Kafka producer failed");
    });
  };

  const retire = (failed: Slot): void => {
    if (failed.retired) return;
    failed.retired = true;
    if (slot === failed) slot = null;
    disconnectWhenIdle(failed);
  };

  return {
    async connect() {
      if (closed) throw new ToolkitError(ToolkitErrorCode.PUBLISHER_CLOSED, "the producer has been disconnected");
      const current = open();
      try {
        await current.connected;
      } catch (error) {
        retire(current);
        throw toPublishError(error, [], brokers);
      }
    },

    async send(records) {
      if (closed) {
        throw new ToolkitError(
          ToolkitErrorCode.PUBLISHER_CLOSED,
          "the producer has been disconnected; create a new one to publish again",
        );
      }
      if (records.length === 0) return [];
      const current = open();
      current.inFlight += 1;
      let topics = [...new Set(records.map((record) => record.topic))];
      try {
        await current.connected;
        const acks: PartitionAck[] = [];
        for (const chunk of chunkRecords(records)) {
          const topicMessages = toTopicMessages(chunk);
          topics = topicMessages.map((entry) => entry.topic);
          const metadata = await current.producer.sendBatch({ topicMessages, acks: -1 });
          for (const entry of metadata) {
            acks.push({
              topic: entry.topicName,
              partition: entry.partition,
              baseOffset: String(entry.baseOffset ?? entry.offset ?? "-1"),
            });
          }
        }
        return acks;
      } catch (error) {
        retire(current);
        throw toPublishError(error, topics, brokers);
      } finally {
        current.inFlight -= 1;
        if (current.retired) disconnectWhenIdle(current);
      }
    },

    async disconnect() {
      closed = true;
      const current = slot;
      slot = null;
      if (current === null) return;
      current.retired = true;
      await current.connected.catch(() => undefined);
      await current.producer.disconnect().catch((error: unknown) => {
        logger.debug({ err: error }, "disconnecting the Kafka producer failed");
      });
    },
  };
}
