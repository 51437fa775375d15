// The outbox operations the toolkit calls: adding events inside a caller's transaction, and the relay's cursor (take,
// read, advance, give up), lag and cleanup. The SQL is in sql/outbox.ts, the reasoning behind the cursor in
// sql/outbox-cursor.ts.

import { chunksOf } from "./chunks.js";
import type { Queryable } from "./database.js";
import { invalidArgument } from "./errors.js";
import { isUuid, newEventId } from "./event-ids.js";
import * as outboxSql from "./sql/outbox.js";
import { execute } from "./sql/statement.js";

export { OUTBOX_NOTIFY_CHANNEL, type KnownRowsSource } from "./sql/outbox.js";

/** Key, value and headers together; Kafka's default message.max.bytes is about the same. */
export const OUTBOX_RECORD_BYTES_MAX = 1024 * 1024;
export const DEFAULT_OUTBOX_CLAIM_BATCH_SIZE = 500;
/** Keys and values per read: a relay holds two batches at most, so large events cannot exhaust its memory. */
export const DEFAULT_OUTBOX_CLAIM_BYTES_MAX = 16 * 1024 * 1024;
/** Short, because a relay renews its lease every third of this, and a dead relay's rows wait this long. */
export const DEFAULT_OUTBOX_LEASE_MS = 10_000;
export const OUTBOX_RELAY_ID_CHARS_MAX = 200;
export const OUTBOX_ERROR_CHARS_MAX = 2_000;
/** The migration's CHECK allows the same. */
export const OUTBOX_PARTITION_KEY_BYTES_MAX = 4096;

export interface OutboxEventInput {
  topic: string;
  /** The record key; a string is sent as its UTF-8 bytes. */
  key?: Uint8Array | string | null;
  /** The record value, already serialised; null is a tombstone. */
  value: Uint8Array | string | null;
  headers?: Record<string, string>;
  /** A UUID; a random one when absent. Adding an event id that is already in the outbox adds nothing. */
  eventId?: string;
  /**
   * Events with the same topic and partition key are published in the order they were added. When absent it
   * follows the key (same key bytes, same partition key); null asks for no order.
   */
  partitionKey?: string | null;
}

export interface AddedOutboxEvent {
  id: number;
  eventId: string;
}

export interface OutboxRecord {
  id: number;
  /** The adding transaction's id, as decimal text: with id, the row's place in the cursor's order. */
  xid: string;
  eventId: string;
  topic: string;
  partitionKey: string | null;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, string>;
  createdAt: Date;
  /** How many sends of the row failed so far, and why the last one did. */
  failedAttempts: number;
  lastError: string | null;
}

export interface OutboxLag {
  /** Rows not yet published, including those a relay is publishing now. */
  waiting: number;
  /** Rows the cursor's relay has read and is publishing now. */
  inFlight: number;
  oldestCreatedAt: Date | null;
  /** How long the oldest waiting row has waited; null when nothing waits. */
  oldestAgeMs: number | null;
}

export type OutboxPosition = outboxSql.OutboxPosition;

/** What takeOutboxCursor found: the cursor's position, and whether relayId holds it now. */
export interface OutboxCursorTake {
  taken: boolean;
  position: OutboxPosition;
  /** The relay holding the cursor, when not taken (null: none). */
  holder: string | null;
  /** How long the holder's lease has left; 0 when it has run out. */
  leaseMsLeft: number;
}

/** A read's rows, in cursor order; held is false when relayId no longer holds the cursor (the rows are then empty). */
export interface OutboxRead {
  held: boolean;
  records: OutboxRecord[];
  /**
   * Nothing was read, but rows wait after the position: the next one's transaction is preceded by an older one still
   * running (see the head of sql/outbox-cursor.ts). The relay should look again soon rather than wait for a
   * notification.
   */
  heldBack: boolean;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

function toBuffer(field: string, value: Uint8Array | string | null | undefined): Buffer | null {
  if (value === null || value === undefined) return null;
  if (typeof value === "string") return Buffer.from(value, "utf8");
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  throw invalidArgument(field, "must be a Uint8Array, a string or null");
}

/**
 * The default partition key: the key's text when its bytes are UTF-8, otherwise its hex with a "\x" prefix. The
 * same key bytes always give the same partition key, whichever way the caller passed them.
 */
export function partitionKeyForKey(key: Buffer | null): string | null {
  if (key === null) return null;
  try {
    return utf8.decode(key);
  } catch {
    return `\\x${key.toString("hex")}`;
  }
}

function toInsertRow(event: OutboxEventInput, index: number, recordBytesMax: number): outboxSql.OutboxInsertRow {
  const field = `events[${index}]`;
  if (typeof event !== "object" || event === null) throw invalidArgument(field, "must be an object");
  if (typeof event.topic !== "string" || !/^[A-Za-z0-9._-]{1,249}$/.test(event.topic)) {
    throw invalidArgument(`${field}.topic`, "must be 1 to 249 characters of letters, digits, '.', '_' and '-'");
  }
  const eventId = event.eventId ?? newEventId();
  if (!isUuid(eventId)) {
    throw invalidArgument(`${field}.eventId`, `must be a UUID, got ${JSON.stringify(eventId)}`);
  }
  const key = toBuffer(`${field}.key`, event.key);
  const value = toBuffer(`${field}.value`, event.value);
  const headers = event.headers ?? {};
  if (typeof headers !== "object" || headers === null || Array.isArray(headers)) {
    throw invalidArgument(`${field}.headers`, "must be an object of string values");
  }
  let headerBytes = 0;
  for (const [name, headerValue] of Object.entries(headers)) {
    if (typeof headerValue !== "string") {
      throw invalidArgument(`${field}.headers.${name}`, "must be a string");
    }
    headerBytes += Buffer.byteLength(name) + Buffer.byteLength(headerValue);
  }
  const recordBytes = (key?.length ?? 0) + (value?.length ?? 0) + headerBytes;
  if (recordBytes > recordBytesMax) {
    throw invalidArgument(field, `key, value and headers take ${recordBytes} bytes, over the ${recordBytesMax} limit`);
  }
  const partitionKey = event.partitionKey === undefined ? partitionKeyForKey(key) : event.partitionKey;
  if (partitionKey !== null && typeof partitionKey !== "string") {
    throw invalidArgument(`${field}.partitionKey`, "must be a string or null");
  }
  if (partitionKey !== null && Buffer.byteLength(partitionKey) > OUTBOX_PARTITION_KEY_BYTES_MAX) {
    throw invalidArgument(`${field}.partitionKey`, `must be at most ${OUTBOX_PARTITION_KEY_BYTES_MAX} bytes`);
  }
  return { eventId: eventId.toLowerCase(), topic: event.topic, partitionKey, key, value, headers };
}

/**
 * Adds events to the outbox through tx, normally the transaction that makes the business change they describe,
 * so that both commit or neither does. Returns the events added, in input order; an event whose id is already in
 * the outbox is skipped.
 */
export async function addOutboxEvents(
  tx: Queryable,
  events: readonly OutboxEventInput[],
  limits: { recordBytesMax?: number } = {},
): Promise<AddedOutboxEvent[]> {
  if (!Array.isArray(events)) throw invalidArgument("events", "must be an array");
  const recordBytesMax = limits.recordBytesMax ?? OUTBOX_RECORD_BYTES_MAX;
  const rows = events.map((event, index) => toInsertRow(event, index, recordBytesMax));
  const added: AddedOutboxEvent[] = [];
  for (const chunk of chunksOf(rows, outboxSql.OUTBOX_INSERT_ROWS_MAX)) {
    const result = await execute(tx, outboxSql.insertOutboxEvents(chunk));
    added.push(...result.rows.map((row) => ({ id: row.id, eventId: row.event_id })));
  }
  return added.sort((left, right) => left.id - right.id);
}

/** What addUnknownOutboxEvents found and added. */
export interface UnknownOutboxEventsResult {
  /** The looked-up ids found in the outbox, by event id (lower case): their topic and value. */
  inOutbox: Map<string, { topic: string; value: Buffer | null }>;
  /** The looked-up ids found among the caller's rows (knownIn), with the columns asked for. */
  elsewhere: Map<string, Record<string, unknown>>;
  /** The events added, in input order. */
  added: AddedOutboxEvent[];
}

/**
 * Adds the events whose ids are neither in the outbox nor among the caller's rows (knownIn), and says which of
 * lookupIds were found where, in one statement (see outboxSql.insertUnknownOutboxEvents). For a producer that lets
 * clients choose event ids: a retried request adds nothing, and the caller compares what was found with what the
 * client sent. One statement per OUTBOX_INSERT_ROWS_MAX events; at least one event.
 */
export async function addUnknownOutboxEvents(
  tx: Queryable,
  events: readonly OutboxEventInput[],
  options: { lookupIds: readonly string[]; knownIn?: outboxSql.KnownRowsSource | null },
  limits: { recordBytesMax?: number } = {},
): Promise<UnknownOutboxEventsResult> {
  if (!Array.isArray(events)) throw invalidArgument("events", "must be an array");
  const recordBytesMax = limits.recordBytesMax ?? OUTBOX_RECORD_BYTES_MAX;
  const rows = events.map((event, index) => toInsertRow(event, index, recordBytesMax));
  const lookupIds = [...new Set(options.lookupIds.filter(isUuid))].map((id) => id.toLowerCase());
  const result: UnknownOutboxEventsResult = { inOutbox: new Map(), elsewhere: new Map(), added: [] };
  if (rows.length === 0) throw invalidArgument("events", "must hold at least one event");
  // One statement per OUTBOX_INSERT_ROWS_MAX events, each looking up the ids of its own events (the first also those
  // of no event).
  const eventIds = new Set(rows.map((row) => row.eventId));
  const unmatched = lookupIds.filter((id) => !eventIds.has(id));
  const wanted = new Set(lookupIds);
  for (const [index, chunk] of [...chunksOf(rows, outboxSql.OUTBOX_INSERT_ROWS_MAX)].entries()) {
    const chunkIds = chunk.flatMap((row) => (wanted.has(row.eventId) ? [row.eventId] : []));
    const ids = index === 0 ? [...new Set([...chunkIds, ...unmatched])] : [...new Set(chunkIds)];
    const statement = outboxSql.insertUnknownOutboxEvents(chunk, ids, options.knownIn ?? null);
    for (const row of (await execute(tx, statement)).rows) {
      if (row.source === "outbox") result.inOutbox.set(row.event_id, { topic: row.topic, value: row.value });
      else if (row.source === "added") result.added.push({ id: Number(row.id), eventId: row.event_id });
      else result.elsewhere.set(row.event_id, row.row);
    }
  }
  result.added.sort((left, right) => left.id - right.id);
  return result;
}

/**
 * The event with this id while it is in the outbox (waiting, or published and not yet cleaned up), else null. Lets a
 * producer tell a retried request from a different one that reuses an id.
 */
export async function findOutboxEvent(
  tx: Queryable,
  eventId: string,
): Promise<{ topic: string; value: Buffer | null } | null> {
  if (!isUuid(eventId)) return null;
  const result = await execute(tx, outboxSql.selectOutboxEvent(eventId.toLowerCase()));
  return result.rows[0] ?? null;
}

/**
 * findOutboxEvent for many ids at once: the events still in the outbox, by event id (lower case). Ids that are not
 * UUIDs cannot be in the outbox and are left out.
 */
export async function findOutboxEvents(
  tx: Queryable,
  eventIds: readonly string[],
): Promise<Map<string, { topic: string; value: Buffer | null }>> {
  const ids = [...new Set(eventIds.filter(isUuid))].map((id) => id.toLowerCase());
  const found = new Map<string, { topic: string; value: Buffer | null }>();
  for (const chunk of chunksOf(ids, outboxSql.OUTBOX_IDS_MAX)) {
    for (const row of (await execute(tx, outboxSql.selectOutboxEvents(chunk))).rows) {
      found.set(row.event_id, { topic: row.topic, value: row.value });
    }
  }
  return found;
}

export async function addOutboxEvent(tx: Queryable, event: OutboxEventInput): Promise<AddedOutboxEvent | null> {
  const [added] = await addOutboxEvents(tx, [event]);
  return added ?? null;
}

function checkRelayId(relayId: string): void {
  if (typeof relayId !== "string" || relayId.length < 1 || relayId.length > OUTBOX_RELAY_ID_CHARS_MAX) {
    throw invalidArgument("relayId", `must be 1 to ${OUTBOX_RELAY_ID_CHARS_MAX} characters`);
  }
}

/**
 * Takes the outbox's cursor for relayId, with a lease of leaseMs, when it is free, its lease ran out, or it is held by
 * a relay known to be dead: relayId itself (an earlier life of the caller) or, with keepOnly, any relay not in it
 * (for a caller that holds the database alone).
 */
export async function takeOutboxCursor(
  target: Queryable,
  relayId: string,
  options: { leaseMs?: number; keepOnly?: readonly string[] | null } = {},
): Promise<OutboxCursorTake> {
  checkRelayId(relayId);
  const statement = outboxSql.takeOutboxCursor(
    relayId,
    options.leaseMs ?? DEFAULT_OUTBOX_LEASE_MS,
    options.keepOnly ?? null,
  );
  const [row] = (await execute(target, statement)).rows;
  if (row === undefined) throw new Error("the outbox has no cursor row (migration 0004)");
  return {
    taken: row.taken,
    position: { xid: row.position_xid, id: Number(row.position_id) },
    holder: row.relay_id,
    leaseMsLeft: Math.max(0, row.lease_ms_left ?? 0),
  };
}

/**
 * Reads the next rows after position (the cursor's, or the last row the relay already read) for relayId, which must
 * hold the cursor; renews its lease. See outboxSql.readOutboxRows.
 */
export async function readOutboxBatch(
  target: Queryable,
  options: {
    relayId: string;
    after: OutboxPosition;
    batchSize?: number;
    /** Keys and values of the rows together, at most; the first row is read whatever its size. */
    bytesMax?: number;
    leaseMs?: number;
  },
): Promise<OutboxRead> {
  checkRelayId(options.relayId);
  const statement = outboxSql.readOutboxRows({
    relayId: options.relayId,
    after: options.after,
    batchSize: options.batchSize ?? DEFAULT_OUTBOX_CLAIM_BATCH_SIZE,
    bytesMax: options.bytesMax ?? DEFAULT_OUTBOX_CLAIM_BYTES_MAX,
    leaseMs: options.leaseMs ?? DEFAULT_OUTBOX_LEASE_MS,
  });
  const rows = (await execute(target, statement)).rows;
  const held = rows[0]?.held === true;
  const heldBack = rows[0]?.held_back === true;
  const records: OutboxRecord[] = [];
  for (const row of rows) {
    if (row.id === null || row.xid === null) continue;
    records.push({
      id: Number(row.id),
      xid: row.xid,
      eventId: row.event_id,
      topic: row.topic,
      partitionKey: row.partition_key,
      key: row.key,
      value: row.value,
      headers: row.headers,
      createdAt: new Date(row.created_at_ms),
      failedAttempts: row.failed_attempts,
      lastError: row.last_error,
    });
  }
  return { held, records, heldBack };
}

/**
 * Moves the cursor past position (rows up to it are published) and renews relayId's lease; with deleteIds, deletes
 * those rows in the same statement. Returns false, changing nothing, when another relay has taken the cursor.
 */
export async function advanceOutboxCursor(
  target: Queryable,
  relayId: string,
  position: OutboxPosition,
  options: { leaseMs?: number; deleteIds?: readonly number[] } = {},
): Promise<boolean> {
  checkRelayId(relayId);
  const statement = outboxSql.advanceOutboxCursor(
    relayId,
    position,
    options.leaseMs ?? DEFAULT_OUTBOX_LEASE_MS,
    options.deleteIds ?? [],
  );
  return (await execute(target, statement)).rows.length > 0;
}

/** Extends relayId's lease on the cursor; false when it no longer holds it. */
export async function renewOutboxCursor(
  target: Queryable,
  relayId: string,
  leaseMs: number = DEFAULT_OUTBOX_LEASE_MS,
): Promise<boolean> {
  checkRelayId(relayId);
  return (await execute(target, outboxSql.renewOutboxCursor(relayId, leaseMs))).rows.length > 0;
}

/** Gives the cursor up (when relayId holds it), so that a stand-by relay takes it at once. */
export async function releaseOutboxCursor(target: Queryable, relayId: string): Promise<void> {
  checkRelayId(relayId);
  await execute(target, outboxSql.releaseOutboxCursor(relayId));
}

/** Counts a failed send against rows, recording why; returns how many rows were found. */
export async function recordOutboxFailures(target: Queryable, ids: readonly number[], reason: string): Promise<number> {
  if (ids.length === 0) return 0;
  return (await execute(target, outboxSql.recordOutboxFailures(ids, reason.slice(0, OUTBOX_ERROR_CHARS_MAX)))).rowCount;
}

/**
 * Parks the row at position, the first the cursor has not passed, after the broker refused it for good: records the
 * reason and moves the cursor past it in one statement. Returns false when relayId no longer holds the cursor.
 */
export async function parkOutboxRow(
  target: Queryable,
  relayId: string,
  position: OutboxPosition,
  reason: string,
  options: { leaseMs?: number } = {},
): Promise<boolean> {
  checkRelayId(relayId);
  const statement = outboxSql.parkOutboxRow(
    relayId,
    position,
    options.leaseMs ?? DEFAULT_OUTBOX_LEASE_MS,
    reason.slice(0, OUTBOX_ERROR_CHARS_MAX),
  );
  return (await execute(target, statement)).rows.length > 0;
}

/** A row the relay parked: why, and when. */
export interface ParkedOutboxRow {
  id: number;
  eventId: string;
  topic: string;
  parkedAt: Date;
  failedAttempts: number;
  lastError: string | null;
}

/** The parked rows, oldest first (at most limit, default and most OUTBOX_IDS_MAX). */
export async function listParkedOutboxRows(
  target: Queryable,
  limit: number = outboxSql.OUTBOX_IDS_MAX,
): Promise<ParkedOutboxRow[]> {
  const { rows } = await execute(target, outboxSql.selectParkedOutboxRows(limit));
  return rows.map((row) => ({
    id: Number(row.id),
    eventId: row.event_id,
    topic: row.topic,
    parkedAt: row.parked_at,
    failedAttempts: Number(row.failed_attempts),
    lastError: row.last_error,
  }));
}

/** What a requeue did: the new rows' ids, in the order of the old ones, and how many rows stay parked. */
export interface ParkedOutboxRequeue {
  newIds: number[];
  stillParked: number;
}

/**
 * Sends parked rows again, those among ids (the others are ignored) or the oldest `oldest` (at most OUTBOX_IDS_MAX):
 * adds each as a new row, after the cursor, and deletes the parked one, in one statement. The event keeps its id, so
 * consumers deduplicate a copy they already saw. What stays parked is counted by a second statement, after the first
 * committed where target is no transaction, so that a requeue running beside it cannot make the count wrong.
 */
export async function requeueParkedOutbox(
  target: Queryable,
  choice: outboxSql.ParkedRowsChoice,
): Promise<ParkedOutboxRequeue> {
  const { rows } = await execute(target, outboxSql.requeueParkedOutboxRows(choice));
  const [counted] = (await execute(target, outboxSql.countParkedOutboxRows())).rows;
  return { newIds: rows.map((row) => Number(row.id)), stillParked: counted?.parked ?? 0 };
}

/**
 * Sends parked rows again (see requeueParkedOutbox's single statement). Ids of rows not parked are ignored. Returns the
 * new rows' ids, in the order of the old ones.
 */
export async function requeueParkedOutboxRows(target: Queryable, ids: readonly number[]): Promise<number[]> {
  if (ids.length === 0) return [];
  const { rows } = await execute(target, outboxSql.requeueParkedOutboxRows({ ids }));
  return rows.map((row) => Number(row.id));
}

export async function readOutboxLag(target: Queryable): Promise<OutboxLag> {
  const [row] = (await execute(target, outboxSql.selectOutboxLag())).rows;
  if (row === undefined) throw new Error("the outbox lag query returned no row");
  return {
    waiting: row.waiting,
    inFlight: row.in_flight,
    oldestCreatedAt: row.oldest_created_at,
    oldestAgeMs: row.oldest_age_ms === null ? null : Math.max(0, row.oldest_age_ms),
  };
}

/** Deletes up to limit rows published more than olderThanMs ago; returns how many went. */
export async function deletePublishedOutboxEvents(
  target: Queryable,
  options: { olderThanMs: number; limit?: number },
): Promise<number> {
  return (await execute(target, outboxSql.deletePublishedOutboxRows(options.olderThanMs, options.limit ?? 1_000)))
    .rowCount;
}
