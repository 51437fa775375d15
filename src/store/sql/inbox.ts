// Statements for the idempotent consumer's inbox (table sluice_inbox, migration 0001).

import { invalidArgument } from "../errors.js";
import { sql, type SqlStatement } from "./statement.js";

export const INBOX_CLEANUP_LIMIT_MAX = 10_000;

export interface InboxEventKey {
  consumerGroup: string;
  eventId: string;
  topic: string;
  partition: number;
  offset: number;
}

/**
 * Records that consumerGroup processed eventId; returns one row the first time and none for a redelivery. Run it
 * in the handler's transaction: when a concurrent consumer is processing the same event, this waits for that
 * transaction and returns nothing if it committed.
 */
export function insertInboxEvent(event: InboxEventKey): SqlStatement<{ processed_at: Date }> {
  return sql(
    `INSERT INTO sluice_inbox (consumer_group, event_id, topic, partition, record_offset)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (consumer_group, event_id) DO NOTHING
RETURNING processed_at`,
    [event.consumerGroup, event.eventId, event.topic, event.partition, event.offset],
  );
}

/**
 * Deletes up to limit records processed more than olderThanMs ago, oldest first; run it until it deletes nothing.
 * An event redelivered after its record is gone is processed again, so the window must outlast redelivery.
 */
export function deleteInboxEventsBefore(olderThanMs: number, limit: number): SqlStatement<never> {
  if (!Number.isFinite(olderThanMs) || olderThanMs < 0) {
    throw invalidArgument("olderThanMs", `must be a number of milliseconds >= 0, got ${String(olderThanMs)}`);
  }
  if (!Number.isInteger(limit) || limit < 1 || limit > INBOX_CLEANUP_LIMIT_MAX) {
    throw invalidArgument("limit", `must be an integer from 1 to ${INBOX_CLEANUP_LIMIT_MAX}, got ${String(limit)}`);
  }
  return sql(
    `DELETE FROM sluice_inbox
WHERE (consumer_group, event_id) IN (
  SELECT consumer_group, event_id FROM sluice_inbox
  WHERE processed_at < statement_timestamp() - $1::double precision * interval '1 millisecond'
  ORDER BY processed_at
  LIMIT $2
)`,
    [olderThanMs, limit],
  );
}
