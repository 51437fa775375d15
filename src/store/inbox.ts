// The inbox operations the toolkit's idempotent consumer calls.

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

/**
 * Records, inside the handler's transaction tx, that the consumer group processed this event. Returns true the
 * first time, when the handler should do its work, and false for a redelivery, which the handler skips.
 */
export async function recordInboxEvent(tx: Queryable, event: inboxSql.InboxEventKey): Promise<boolean> {
  checkText("consumerGroup", event.consumerGroup);
  checkText("eventId", event.eventId);
  checkText("topic", event.topic);
  if (!Number.isInteger(event.partition) || event.partition < 0) {
    throw invalidArgument("partition", "must be an integer >= 0");
  }
  if (!Number.isSafeInteger(event.offset) || event.offset < 0) {
    throw invalidArgument("offset", "must be an integer >= 0");
  }
  return (await execute(tx, inboxSql.insertInboxEvent(event))).rowCount === 1;
}

/** Deletes up to limit records processed more than olderThanMs ago; returns how many went. */
export async function deleteInboxEventsBefore(
  target: Queryable,
  options: { olderThanMs: number; limit?: number },
): Promise<number> {
  const statement = inboxSql.deleteInboxEventsBefore(options.olderThanMs, options.limit ?? DEFAULT_INBOX_CLEANUP_LIMIT);
  return (await execute(target, statement)).rowCount;
}
