// Turns a record read from a topic into the JSON text every subscriber receives. The text is built once per record
// and the same bytes go to every connection, so fan-out costs a socket write per client and nothing more.

import type { ConsumerRecord } from "../../toolkit/kafka/consumer.js";

/** What a client receives for each event. */
export interface EventMessage {
  type: "event";
  topic: string;
  partition: number;
  offset: number;
  key: string | null;
  /** The value parsed as JSON when it is JSON, otherwise its UTF-8 text; null for a record without a value. */
  value: unknown;
  headers: Record<string, string>;
  /** Milliseconds since the epoch. */
  timestamp: number;
}

/** One record, ready to send. */
export interface EventFrame {
  readonly partition: number;
  readonly offset: number;
  readonly key: string | null;
  /** The UTF-8 JSON text of the event message. */
  readonly bytes: Buffer;
}

export function decodeValue(value: Buffer | null): unknown {
  if (value === null) return null;
  const text = value.toString("utf8");
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export function toEventFrame(record: ConsumerRecord): EventFrame {
  const key = record.key === null ? null : record.key.toString("utf8");
  const offset = Number(record.offset);
  const message: EventMessage = {
    type: "event",
    topic: record.topic,
    partition: record.partition,
    offset,
    key,
    value: decodeValue(record.value),
    headers: record.headers,
    timestamp: record.timestamp,
  };
  return { partition: record.partition, offset, key, bytes: Buffer.from(JSON.stringify(message), "utf8") };
}
