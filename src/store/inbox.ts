// The inbox operations the toolkit's idempotent consumer calls.

import { chunksOf } from "./chunks.js";
import type { Queryable } from "./database.js";
import { invalidArgument } from "./errors.js";
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

function checkEvent(event: inboxSql.InboxEventKey): void {
  checkText("consumerGroup", event.consumerGroup);
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
  const unique = new Map<string, Omit<inboxSql.InboxEventKey, "consumerGroup">>();
  for (const event of events) {
    checkEvent({ consumerGroup, ...event });
    if (!unique.has(event.eventId)) unique.set(event.eventId, event);
  }
  const recorded = new Set<string>();
  for (const chunk of chunksOf([...unique.values()], inboxSql.INBOX_EVENTS_PER_STATEMENT_MAX)) {
    for (const row of (await execute(tx, inboxSql.insertInboxEvents(consumerGroup, chunk))).rows) {
      recorded.add(row.event_id);
    }
  }
  return recorded;
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
