// The inbox operations the toolkit's idempotent consumer calls.

import { chunksOf } from "./chunks.js";
import type { Queryable } from "./database.js";
import { invalidArgument, isUniqueViolation } from "./errors.js";
import * as inboxSql from "./sql/inbox.js";
import { execute } from "./sql/statement.js";

export type { InboxEventKey } from "./sql/inbox.js";

export const INBOX_TEXT_CHARS_MAX = 255;
export const DEFAULT_INBOX_CLEANUP_LIMIT = 1_000;

function checkText(field: string, value: string): void {
  if (typeof value !== "string" || value.length < 1 || value.length > INBOX_TEXT_CHARS_MAX) {
    throw invalidArgument(field, `must be 1 to ${INBOX_TEXT_CHARS_MAX} characters`);
  }
}

function checkEvent(event: Omit<inboxSql.InboxEventKey, "consumerGroup">): void {
  checkText("eventId", event.eventId);
  checkText("topic", event.topic);
  if (!Number.isInteger(event.partition) || event.partition < 0) {
    throw invalidArgument("partition", "must be an integer >= 0");
  }
  if (!Number.isSafeInteger(event.offset) || event.offset < 0) {
    throw invalidArgument("offset", "must be an integer >= 0");
  }
}

/**
 * Records, inside the handler's transaction tx, that the consumer group processed this event. Returns true the
 * first time, when the handler should do its work, and false for a redelivery, which the handler skips.
 */
export async function recordInboxEvent(tx: Queryable, event: inboxSql.InboxEventKey): Promise<boolean> {
  const { consumerGroup, ...key } = event;
  return (await recordInboxEvents(tx, consumerGroup, [key])).has(event.eventId);
}

/**
 * recordInboxEvent for many events of one group, in one statement per INBOX_EVENTS_PER_STATEMENT_MAX. Returns the
 * ids recorded now: an event whose id is absent was processed before, and an event whose id already appeared
 * earlier in events is a redelivery too; both skip their handler.
 */
export async function recordInboxEvents(
  tx: Queryable,
  consumerGroup: string,
  events: readonly Omit<inboxSql.InboxEventKey, "consumerGroup">[],
): Promise<Set<string>> {
  const recorded = new Set<string>();
  for (const chunk of chunksOf(uniqueEvents(consumerGroup, events), inboxSql.INBOX_EVENTS_PER_STATEMENT_MAX)) {
    for (const row of (await execute(tx, inboxSql.insertInboxEvents(consumerGroup, chunk))).rows) {
      recorded.add(row.event_id);
    }
  }
  return recorded;
}

/**
 * recordInboxEvents for events that are expected to be new, which is the cheaper statement (see
 * insertNewInboxEvents). Resolves to the ids recorded, every one of them; or to null when the inbox held one of them
 * already, in which case the failed statement has aborted the transaction tx: roll it back, and record the events
 * with recordInboxEvents in a new one.
 */
export async function recordNewInboxEvents(
  tx: Queryable,
  consumerGroup: string,
  events: readonly Omit<inboxSql.InboxEventKey, "consumerGroup">[],
): Promise<Set<string> | null> {
  const unique = uniqueEvents(consumerGroup, events);
  try {
    for (const chunk of chunksOf(unique, inboxSql.INBOX_EVENTS_PER_STATEMENT_MAX)) {
      await execute(tx, inboxSql.insertNewInboxEvents(consumerGroup, chunk));
    }
  } catch (error) {
    if (isUniqueViolation(error)) return null;
    throw error;
  }
  return new Set(unique.map((event) => event.eventId));
}

/** The events checked, each id once (its first occurrence). */
function uniqueEvents(
  consumerGroup: string,
  events: readonly Omit<inboxSql.InboxEventKey, "consumerGroup">[],
): Omit<inboxSql.InboxEventKey, "consumerGroup">[] {
  checkText("consumerGroup", consumerGroup);
  const unique = new Map<string, Omit<inboxSql.InboxEventKey, "consumerGroup">>();
  for (const event of events) {
    checkEvent(event);
    if (!unique.has(event.eventId)) unique.set(event.eventId, event);
  }
  return [...unique.values()];
}

/** Removes records that recordInboxEvents wrote earlier in the same transaction tx. */
export async function forgetInboxEvents(
  tx: Queryable,
  consumerGroup: string,
  eventIds: readonly string[],
): Promise<void> {
  checkText("consumerGroup", consumerGroup);
  for (const chunk of chunksOf(eventIds, inboxSql.INBOX_EVENTS_PER_STATEMENT_MAX)) {
    await execute(tx, inboxSql.deleteInboxEvents(consumerGroup, chunk));
  }
}

/** Deletes up to limit records processed more than olderThanMs ago; returns how many went. */
export async function deleteInboxEventsBefore(
  target: Queryable,
  options: { olderThanMs: number; limit?: number },
): Promise<number> {
  const statement = inboxSql.deleteInboxEventsBefore(options.olderThanMs, options.limit ?? DEFAULT_INBOX_CLEANUP_LIMIT);
  return (await execute(target, statement)).rowCount;
}
