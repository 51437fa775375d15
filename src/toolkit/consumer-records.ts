// Reading a consumed record, the first stage of the consumer's batch pipeline: its retry headers (for records from
// retry topics), its event id, and its value decoded and validated. Everything here is decided without the database
// or the broker; what the record then needs is in the PreparedRecord it becomes.

import { INBOX_TEXT_CHARS_MAX } from "../store/inbox.js";
import type { ResolvedConsumer } from "./consumer-options.js";
import { EventDecodeError, EventTooLargeError, ToolkitError, ToolkitErrorCode } from "./errors.js";
import {
  EVENT_HEADERS,
  readEventHeaders,
  recordBytesOver,
  type ConsumedEvent,
  type EventHeaderValues,
} from "./event.js";
import type { ConsumerRecord } from "./kafka/consumer.js";
import { parseRetryHeaders, toError, withoutRetryHeaders } from "./retry.js";
import { serializerFor } from "./serializer.js";
import type { TopicDefinition } from "./topic.js";

/** Where an event first arrived, and the attempt a delivery is. */
export interface Origin {
  topic: string;
  partition: number;
  offset: string;
  attempt: number;
}

/** What reading a record decided, before any database or broker work. */
export type PreparedRecord = IgnoredRecord | BlockingRecord | EventRecord;
/** A record this group does not handle: another group's retry, or a topic it does not read. */
export type IgnoredRecord = { kind: "ignore" };
/** A retry not due yet, or a record that goes to the dead-letter topic unread. */
export type BlockingRecord =
  | { kind: "wait"; untilMs: number }
  | {
      kind: "reject";
      headers: Record<string, string>;
      eventId: string;
      origin: Origin;
      error: Error;
      attempts: number;
    };
export type EventRecord = {
  kind: "event";
  event: ConsumedEvent<unknown>;
  headers: Record<string, string>;
  origin: Origin;
};

/** What one attempt of an event ended with inside its group's transaction. */
export type EventResult =
  { kind: "processed"; durationMs: number } | { kind: "duplicate" } | { kind: "failed"; error: Error };

/** A record handled in a group transaction, and (once handled) what happened to it. */
export interface GroupEntry {
  record: ConsumerRecord;
  prepared: IgnoredRecord | EventRecord;
  result: EventResult | null;
}

/**
 * Lets the topic's serializer fetch what decoding the record needs (a writer's schema); decode reports failures.
 * Null when the serializer needs nothing (JSON): then there is nothing to wait for, not even a turn.
 */
export function prepareToDecode(consumer: ResolvedConsumer, record: ConsumerRecord): Promise<void> | null {
  const definition = consumer.definitionOfTopic.get(record.topic);
  if (definition === undefined || record.value === null) return null;
  const preparing = serializerFor(definition).prepareDecode?.(definition, record.value);
  return preparing === undefined ? null : preparing.catch(() => undefined);
}

/** Reads a record's headers and value; decides everything about it that needs neither database nor broker. */
/** The id of an event that carries none: its position, which stays with it through retries and dead letters. */
function positionId(origin: Origin): string {
  return `${origin.topic}:${origin.partition}:${origin.offset}`;
}

export function prepareRecord(consumer: ResolvedConsumer, record: ConsumerRecord): PreparedRecord {
  const { definitionOfTopic, groupId } = consumer;
  const definition = definitionOfTopic.get(record.topic);
  if (definition === undefined) return { kind: "ignore" };
  let origin: Origin = { topic: record.topic, partition: record.partition, offset: record.offset, attempt: 1 };
  let headers = record.headers;
  if (record.topic !== definition.name) {
    let envelope;
    try {
      envelope = parseRetryHeaders(record.headers);
    } catch (error) {
      const cleaned = withoutRetryHeaders(record.headers);
      const eventId = readEventHeaders(cleaned).id ?? positionId(origin);
      return { kind: "reject", headers: cleaned, eventId, origin, error: toError(error), attempts: 0 };
    }
    // Retry topics are shared by every group consuming the topic; each group retries only its own failures.
    if (envelope.group !== groupId) return { kind: "ignore" };
    if (envelope.dueTimeMs > Date.now()) return { kind: "wait", untilMs: envelope.dueTimeMs };
    origin = {
      topic: definition.name,
      partition: envelope.originalPartition,
      offset: envelope.originalOffset,
      attempt: envelope.attempt,
    };
    headers = withoutRetryHeaders(record.headers);
  }
  // Events from producers other than the toolkit may lack an id; their position identifies them for the inbox
  // and travels with them (as the id header) through retries and dead letters.
  const envelope = readEventHeaders(headers);
  const eventId = envelope.id ?? positionId(origin);
  if (eventId.length > INBOX_TEXT_CHARS_MAX) {
    const error = new ToolkitError(
      ToolkitErrorCode.EVENT_ID_INVALID,
      `event id header ${EVENT_HEADERS.id} is ${eventId.length} characters long, over ${INBOX_TEXT_CHARS_MAX}; ` +
        "use UUIDs as event ids",
    );
    return { kind: "reject", headers, eventId: positionId(origin), origin, error, attempts: origin.attempt - 1 };
  }
  const event = decode(consumer, definition, record, headers, envelope, eventId, origin);
  if (event instanceof Error) {
    return { kind: "reject", headers, eventId, origin, error: event, attempts: origin.attempt - 1 };
  }
  return { kind: "event", event, headers, origin };
}

/** The event a record holds, or the reason it cannot be read. */
function decode(
  consumer: ResolvedConsumer,
  definition: TopicDefinition<unknown>,
  record: ConsumerRecord,
  headers: Record<string, string>,
  envelope: EventHeaderValues,
  eventId: string,
  origin: Origin,
): ConsumedEvent<unknown> | Error {
  const { settings } = consumer;
  if (record.value === null) {
    return new ToolkitError(
      ToolkitErrorCode.EVENT_VALUE_MISSING,
      `record ${origin.offset} in partition ${origin.partition} of "${origin.topic}" has no value (a tombstone); ` +
        "events on this topic must carry a value",
    );
  }
  const bytes = recordBytesOver(record.key, record.value, headers, settings.eventBytesMax);
  if (bytes !== null) return new EventTooLargeError(origin.topic, bytes, settings.eventBytesMax);
  const serializer = serializerFor(definition);
  if (envelope.contentType !== null && envelope.contentType !== serializer.contentType) {
    return new EventDecodeError(
      origin.topic,
      `its content type is "${envelope.contentType}", but the topic's serializer reads "${serializer.contentType}"`,
    );
  }
  let value: unknown;
  try {
    value = definition.validate(serializer.decode(definition, record.value));
  } catch (error) {
    return toError(error);
  }
  return {
    id: eventId,
    type: envelope.type ?? definition.eventType,
    time: envelope.time ?? new Date(record.timestamp),
    topic: origin.topic,
    partition: origin.partition,
    offset: origin.offset,
    key: record.key === null ? null : record.key.toString("utf8"),
    value,
    headers,
    traceparent: envelope.traceparent,
  };
}
