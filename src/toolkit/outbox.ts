// The transactional outbox, producing side: an event is added inside the caller's database transaction, so it
// exists exactly when the business write commits. The outbox relay (outbox-relay.ts) publishes it afterwards.

import {
  addOutboxEvents,
  addUnknownOutboxEvents,
  findOutboxEvent,
  findOutboxEvents,
  outboxSql,
  type KnownRowsSource,
  type Queryable,
} from "../store/index.js";
import { encodeEvent, type EncodedEvent, type EventOptions } from "./event.js";
import { InvalidArgumentError } from "./errors.js";
import { serializerFor } from "./serializer.js";
import type { TopicDefinition } from "./topic.js";
import { traceparentOf } from "./tracing.js";

/** Events per addManyToOutbox call. */
export const OUTBOX_ADD_EVENTS_MAX = 10_000;
/** Events addUnknownToOutbox adds in one statement; more take a statement per this many. */
export const OUTBOX_EVENTS_PER_STATEMENT_MAX = outboxSql.OUTBOX_INSERT_ROWS_MAX;

function toOutboxInput(event: EncodedEvent) {
  return { topic: event.topic, key: event.key, value: event.value, headers: event.headers, eventId: event.id };
}

/** The options with the trace of tx (a handler's transaction carries one) unless the caller named a parent. */
function withTraceOf<O extends EventOptions>(tx: Queryable, options: O): O {
  if (options.parentTraceparent !== undefined) return options;
  const parentTraceparent = traceparentOf(tx);
  return parentTraceparent === undefined ? options : { ...options, parentTraceparent };
}

/**
 * Adds one event to the outbox through tx, the transaction that makes the business change it describes. The
 * value is validated against the topic's schema first (EventValidationError, and nothing is added), and the event
 * gets its id, standard headers and a traceparent continuing the trace of tx (in a handler) or the current one.
 * Returns the event id. Adding an event whose id is
 * already in the outbox adds nothing and returns the same id.
 */
export async function addToOutbox<T>(
  tx: Queryable,
  topic: TopicDefinition<T>,
  value: T,
  options: EventOptions = {},
): Promise<string> {
  const event = await encodeEvent(topic, value, withTraceOf(tx, options));
  await addOutboxEvents(tx, [toOutboxInput(event)]);
  return event.id;
}

/**
 * Adds several events of one topic through tx, in order (events with the same key are published in this order).
 * Every value is validated before any is added. Returns the event ids in input order.
 */
export async function addManyToOutbox<T>(
  tx: Queryable,
  topic: TopicDefinition<T>,
  values: readonly T[],
  options: Omit<EventOptions, "eventId"> = {},
): Promise<string[]> {
  if (!Array.isArray(values)) throw new InvalidArgumentError("values", "must be an array");
  if (values.length > OUTBOX_ADD_EVENTS_MAX) {
    throw new InvalidArgumentError("values", `at most ${OUTBOX_ADD_EVENTS_MAX} per call, got ${values.length}`);
  }
  const events: EncodedEvent[] = [];
  const traced = withTraceOf(tx, options);
  for (const value of values) events.push(await encodeEvent(topic, value, traced));
  if (events.length > 0) await addOutboxEvents(tx, events.map(toOutboxInput));
  return events.map((event) => event.id);
}

/**
 * The value of the event with this id while it is still in the outbox (not yet published, or published and not yet
 * cleaned up), or null. A producer that lets clients choose event ids uses it to tell a retried request, which adds
 * nothing, from a different one that reuses an id.
 */
export async function findInOutbox<T>(tx: Queryable, topic: TopicDefinition<T>, eventId: string): Promise<T | null> {
  const row = await findOutboxEvent(tx, eventId);
  if (row === null || row.topic !== topic.name || row.value === null) return null;
  return serializerFor(topic as TopicDefinition<unknown>).decode(topic as TopicDefinition<unknown>, row.value) as T;
}

/**
 * findInOutbox for many event ids in one statement: the values of those still in the outbox as events of topic, by
 * event id in lower case. A group commit (group-commit.ts) uses it to check a whole group of requests at once.
 */
export async function findManyInOutbox<T>(
  tx: Queryable,
  topic: TopicDefinition<T>,
  eventIds: readonly string[],
): Promise<Map<string, T>> {
  const found = new Map<string, T>();
  if (eventIds.length === 0) return found;
  const untyped = topic as TopicDefinition<unknown>;
  const serializer = serializerFor(untyped);
  for (const [eventId, row] of await findOutboxEvents(tx, eventIds)) {
    if (row.topic !== topic.name || row.value === null) continue;
    found.set(eventId, serializer.decode(untyped, row.value) as T);
  }
  return found;
}

/**
 * Adds events that encodeEvent already made (and so validated) through tx, in order, in one multi-row statement per
 * 500. For writers that encode outside the transaction, such as a group commit, so that a value that does not fit
 * its schema fails its own request before it joins a group. Returns how many were added (an id already in the
 * outbox adds nothing).
 */
export async function addEncodedToOutbox(tx: Queryable, events: readonly EncodedEvent[]): Promise<number> {
  if (!Array.isArray(events)) throw new InvalidArgumentError("events", "must be an array");
  if (events.length > OUTBOX_ADD_EVENTS_MAX) {
    throw new InvalidArgumentError("events", `at most ${OUTBOX_ADD_EVENTS_MAX} per call, got ${events.length}`);
  }
  if (events.length === 0) return 0;
  return (await addOutboxEvents(tx, events.map(toOutboxInput))).length;
}

/** What addUnknownToOutbox found of the looked-up ids, and how many events it added. */
export interface UnknownToOutboxResult<T> {
  /** Values of the ids still in the outbox as events of the topic, by event id in lower case. */
  inOutbox: Map<string, T>;
  /** The caller's rows (knownIn) for the ids found there, by event id in lower case. */
  elsewhere: Map<string, Record<string, unknown>>;
  added: number;
}

/**
 * addEncodedToOutbox and findManyInOutbox in one statement, for a group commit whose requests may be retries: adds
 * the events whose ids are neither in the outbox nor among the caller's own rows (knownIn: the table that keeps
 * what the outbox forgets after a while), and returns what was found of lookupIds in each, so that the caller can
 * tell a retry (the same value: nothing more to do) from a different request that reuses an id. One statement for
 * up to 500 events; at least one event, and at most OUTBOX_ADD_EVENTS_MAX.
 */
export async function addUnknownToOutbox<T>(
  tx: Queryable,
  topic: TopicDefinition<T>,
  events: readonly EncodedEvent[],
  options: { lookupIds: readonly string[]; knownIn?: KnownRowsSource | null },
): Promise<UnknownToOutboxResult<T>> {
  if (!Array.isArray(events)) throw new InvalidArgumentError("events", "must be an array");
  if (events.length > OUTBOX_ADD_EVENTS_MAX) {
    throw new InvalidArgumentError("events", `at most ${OUTBOX_ADD_EVENTS_MAX} per call, got ${events.length}`);
  }
  const found = await addUnknownOutboxEvents(tx, events.map(toOutboxInput), options);
  const untyped = topic as TopicDefinition<unknown>;
  const serializer = serializerFor(untyped);
  const inOutbox = new Map<string, T>();
  for (const [eventId, row] of found.inOutbox) {
    if (row.topic !== topic.name || row.value === null) continue;
    inOutbox.set(eventId, serializer.decode(untyped, row.value) as T);
  }
  return { inOutbox, elsewhere: found.elsewhere, added: found.added.length };
}
