// The event envelope: the standard headers every event carries (id, type, time, traceparent, content type), how
// they are built for an outgoing event and read back from a consumed one.

import { isUuid, newEventId } from "../store/event-ids.js";
import { EventTooLargeError, InvalidArgumentError } from "./errors.js";
import { serializerFor, type Serializer } from "./serializer.js";
import type { TopicDefinition } from "./topic.js";
import { childTraceparent, currentTraceparent, isValidTraceparent } from "./tracing.js";

export const EVENT_HEADERS = {
  id: "sluice-event-id",
  type: "sluice-event-type",
  time: "sluice-event-time",
  traceparent: "traceparent",
  contentType: "content-type",
} as const;

const STANDARD_HEADER_NAMES: ReadonlySet<string> = new Set(Object.values(EVENT_HEADERS));

/** Extra headers a caller may add to one event, beside the standard ones. */
export const EVENT_EXTRA_HEADERS_COUNT_MAX = 64;
export const EVENT_HEADER_NAME_CHARS_MAX = 255;
/**
 * Key, value and headers of one event together. Kafka's default message.max.bytes (and the Sluice broker's) is
 * 1 MiB for a whole record batch; this leaves room for the batch's own framing.
 */
export const EVENT_BYTES_MAX = 1_000_000;

export interface ConsumedEvent<T> {
  id: string;
  type: string;
  time: Date;
  topic: string;
  partition: number;
  /** The record's offset as a decimal string (offsets can exceed JavaScript's safe integers). */
  offset: string;
  key: string | null;
  value: T;
  headers: Record<string, string>;
  traceparent: string | null;
}

/** What the standard headers of an outgoing event say. */
export interface EventEnvelope {
  id: string;
  type: string;
  time: Date;
  traceparent: string;
  contentType: string;
}

/** Checks headers a caller adds to an event: string values, no standard names (the toolkit sets those). */
export function checkExtraHeaders(headers: Record<string, string> | undefined): Record<string, string> {
  if (headers === undefined) return {};
  if (typeof headers !== "object" || headers === null || Array.isArray(headers)) {
    throw new InvalidArgumentError("headers", "must be an object of string values");
  }
  const entries = Object.entries(headers);
  if (entries.length > EVENT_EXTRA_HEADERS_COUNT_MAX) {
    throw new InvalidArgumentError(
      "headers",
      `at most ${EVENT_EXTRA_HEADERS_COUNT_MAX} headers, got ${entries.length}`,
    );
  }
  for (const [name, value] of entries) {
    if (name.length < 1 || name.length > EVENT_HEADER_NAME_CHARS_MAX) {
      throw new InvalidArgumentError("headers", `header names must be 1 to ${EVENT_HEADER_NAME_CHARS_MAX} characters`);
    }
    if (STANDARD_HEADER_NAMES.has(name.toLowerCase())) {
      throw new InvalidArgumentError(`headers.${name}`, "is set by the toolkit; use the event options instead");
    }
    if (typeof value !== "string") throw new InvalidArgumentError(`headers.${name}`, "must be a string");
  }
  return { ...headers };
}

/** The record headers of an outgoing event: the caller's extra headers and the standard ones. */
export function buildEventHeaders(envelope: EventEnvelope, extra: Record<string, string> = {}): Record<string, string> {
  return {
    ...extra,
    [EVENT_HEADERS.id]: envelope.id,
    [EVENT_HEADERS.type]: envelope.type,
    [EVENT_HEADERS.time]: envelope.time.toISOString(),
    [EVENT_HEADERS.traceparent]: envelope.traceparent,
    [EVENT_HEADERS.contentType]: envelope.contentType,
  };
}

/** The bytes a record's key, value and headers take, as counted against EVENT_BYTES_MAX. */
export function recordBytes(
  key: string | Buffer | null,
  value: Buffer | null,
  headers: Record<string, string>,
): number {
  let bytes = (key === null ? 0 : Buffer.byteLength(key)) + (value?.length ?? 0);
  for (const [name, headerValue] of Object.entries(headers)) {
    bytes += Buffer.byteLength(name) + Buffer.byteLength(headerValue);
  }
  return bytes;
}

/**
 * The bytes a record takes (as recordBytes counts them) when that is over bytesMax, or null when it is not. A UTF-16
 * code unit is at most 3 bytes of UTF-8, so most records are known to fit from their lengths alone, without
 * encoding every header to count it, which a consumer would do per event.
 */
export function recordBytesOver(
  key: Buffer | null,
  value: Buffer | null,
  headers: Record<string, string>,
  bytesMax: number,
): number | null {
  let bound = (key?.length ?? 0) + (value?.length ?? 0);
  for (const name in headers) bound += 3 * (name.length + headers[name]!.length);
  if (bound <= bytesMax) return null;
  const bytes = recordBytes(key, value, headers);
  return bytes > bytesMax ? bytes : null;
}

/** Header values as a Kafka client delivers them: bytes or text, and a list when a name repeats. */
export type RawHeaderValue = Buffer | string | ReadonlyArray<Buffer | string> | undefined;

/** Turns a consumed record's headers into strings; when a name repeats, the last value wins, as in Kafka's lastHeader. */
export function headersToStrings(raw: Readonly<Record<string, RawHeaderValue>> | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  if (raw === undefined) return headers;
  for (const [name, value] of Object.entries(raw)) {
    const last = Array.isArray(value) ? value[value.length - 1] : value;
    if (last === undefined) continue;
    headers[name] = typeof last === "string" ? last : (last as Buffer).toString("utf8");
  }
  return headers;
}

/** The standard headers of a consumed event; each is null when absent or malformed. */
export interface EventHeaderValues {
  id: string | null;
  type: string | null;
  time: Date | null;
  traceparent: string | null;
  contentType: string | null;
}

export function readEventHeaders(headers: Readonly<Record<string, string>>): EventHeaderValues {
  const time = headers[EVENT_HEADERS.time];
  const parsedTime = time === undefined ? null : new Date(time);
  const traceparent = headers[EVENT_HEADERS.traceparent];
  return {
    id: nonEmpty(headers[EVENT_HEADERS.id]),
    type: nonEmpty(headers[EVENT_HEADERS.type]),
    time: parsedTime === null || Number.isNaN(parsedTime.getTime()) ? null : parsedTime,
    traceparent: isValidTraceparent(traceparent) ? (traceparent ?? null) : null,
    contentType: nonEmpty(headers[EVENT_HEADERS.contentType]),
  };
}

function nonEmpty(value: string | undefined): string | null {
  return value === undefined || value === "" ? null : value;
}

/** Options for one outgoing event, whether published directly or through the outbox. */
export interface EventOptions {
  /** Overrides the topic's key function; null sends the event without a key. */
  key?: string | null;
  /** Extra headers; the standard ones (EVENT_HEADERS) are set by the toolkit. */
  headers?: Record<string, string>;
  /** A UUID; a new one when absent. Reusing the id of an event already in the outbox adds nothing. */
  eventId?: string;
  /** When the event happened; now when absent. */
  time?: Date;
  /**
   * The trace the event continues: it gets a new span under this traceparent (null starts a new trace). By default
   * the trace of the transaction it is added through (a handler's), else of runWithTraceparent(), else a new one.
   */
  parentTraceparent?: string | null;
}

/** An event turned into a record, ready to publish or to store in the outbox. */
export interface EncodedEvent {
  id: string;
  topic: string;
  key: string | null;
  value: Buffer;
  headers: Record<string, string>;
  traceparent: string;
}

const prepared = new WeakMap<Serializer, WeakSet<object>>();

async function prepareSerializer(serializer: Serializer, topic: TopicDefinition<unknown>): Promise<void> {
  if (serializer.prepare === undefined) return;
  let topics = prepared.get(serializer);
  if (topics?.has(topic)) return;
  await serializer.prepare(topic);
  if (topics === undefined) {
    topics = new WeakSet();
    prepared.set(serializer, topics);
  }
  topics.add(topic);
}

/**
 * Validates value against the topic's schema (throwing EventValidationError), encodes it, and builds its standard
 * headers. The event's traceparent is a new span under options.parentTraceparent or the current one (see
 * tracing.ts), or starts a trace.
 */
export async function encodeEvent<T>(
  topic: TopicDefinition<T>,
  value: T,
  options: EventOptions = {},
): Promise<EncodedEvent> {
  const valid = topic.validate(value);
  const key = options.key !== undefined ? options.key : topic.key(valid);
  if (key !== null && typeof key !== "string") throw new InvalidArgumentError("key", "must be a string or null");
  const id = options.eventId ?? newEventId();
  if (!isUuid(id)) {
    throw new InvalidArgumentError("eventId", `must be a UUID, got ${JSON.stringify(id)}`);
  }
  const time = options.time ?? new Date();
  if (!(time instanceof Date) || Number.isNaN(time.getTime()))
    throw new InvalidArgumentError("time", "must be a valid Date");
  const extra = checkExtraHeaders(options.headers);
  const untyped = topic as TopicDefinition<unknown>;
  const serializer = serializerFor(untyped);
  await prepareSerializer(serializer, untyped);
  const bytes = serializer.encode(untyped, valid);
  const parent = options.parentTraceparent === undefined ? currentTraceparent() : options.parentTraceparent;
  if (parent !== null && typeof parent !== "string") {
    throw new InvalidArgumentError("parentTraceparent", "must be a traceparent string or null");
  }
  const traceparent = childTraceparent(parent);
  const headers = buildEventHeaders(
    { id: id.toLowerCase(), type: topic.eventType, time, traceparent, contentType: serializer.contentType },
    extra,
  );
  const size = recordBytes(key, bytes, headers);
  if (size > EVENT_BYTES_MAX) throw new EventTooLargeError(topic.name, size, EVENT_BYTES_MAX);
  return { id: id.toLowerCase(), topic: topic.name, key, value: bytes, headers, traceparent };
}
