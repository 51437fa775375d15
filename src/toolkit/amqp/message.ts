// A record as an AMQP message and back. AMQP messages have no key, so the key travels in a header of its own (bytes,
// as Kafka keys are), and a null value (a tombstone) as an empty body with a marker header; both are taken off again
// on the way in, so that handlers see the same headers on either transport.

import type { Message, Options } from "amqplib";

import type { ConsumerRecord } from "../kafka/consumer.js";
import { RECORD_HEADERS_COUNT_MAX } from "../kafka/consumer.js";
import type { ProducerRecord } from "../kafka/producer.js";
import { RETRY_HEADERS } from "../retry.js";
import { isRetryTier } from "./topology.js";

export const AMQP_KEY_HEADER = "sluice-amqp-key";
export const AMQP_NULL_VALUE_HEADER = "sluice-amqp-null-value";
const EMPTY = Buffer.alloc(0);

/** The body and publish options of a record; retry tiers get their wait as the message's TTL. */
export function toAmqpMessage(record: ProducerRecord, messageId: string): { body: Buffer; options: Options.Publish } {
  const headers: Record<string, unknown> = { ...record.headers };
  if (record.key !== null)
    headers[AMQP_KEY_HEADER] = typeof record.key === "string" ? Buffer.from(record.key) : record.key;
  if (record.value === null) headers[AMQP_NULL_VALUE_HEADER] = "1";
  const options: Options.Publish = {
    persistent: true,
    mandatory: true,
    messageId,
    timestamp: Date.now(),
    headers,
  };
  if (isRetryTier(record.topic)) {
    const due = Number(record.headers[RETRY_HEADERS.dueTime]);
    options.expiration = String(Number.isFinite(due) ? Math.max(0, Math.ceil(due - Date.now())) : 0);
  }
  return { body: record.value ?? EMPTY, options };
}

function headerString(value: unknown): string {
  if (typeof value === "string") return value;
  if (Buffer.isBuffer(value)) return value.toString("utf8");
  return String(value);
}

/** A delivered message as the record the consumer pipeline reads; its delivery tag stands in for the offset. */
export function toConsumerRecordFromAmqp(topic: string, message: Message): ConsumerRecord {
  const raw = message.properties.headers ?? {};
  const headers: Record<string, string> = {};
  let key: Buffer | null = null;
  let nullValue = false;
  let count = 0;
  for (const name of Object.keys(raw)) {
    const value: unknown = raw[name];
    if (name === AMQP_KEY_HEADER) key = Buffer.isBuffer(value) ? value : Buffer.from(headerString(value));
    else if (name === AMQP_NULL_VALUE_HEADER) nullValue = true;
    // RabbitMQ's own bookkeeping (x-death, x-first-death-*) is not the event's.
    else if (!name.startsWith("x-") && value !== undefined && value !== null && count < RECORD_HEADERS_COUNT_MAX) {
      headers[name] = headerString(value);
      count += 1;
    }
  }
  const timestamp = Number(message.properties.timestamp);
  return {
    topic,
    partition: 0,
    offset: String(message.fields.deliveryTag),
    timestamp: Number.isFinite(timestamp) ? timestamp : 0,
    key,
    value: nullValue ? null : message.content,
    headers,
  };
}
