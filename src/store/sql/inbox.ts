// Statements for the idempotent consumer's inbox (table sluice_inbox, migration 0001).

import { invalidArgument } from "../errors.js";
import { integerArrayParam, sql, textArrayParam, type SqlStatement } from "./statement.js";

export const INBOX_CLEANUP_LIMIT_MAX = 10_000;
/** Events per batched insert or delete; one consumer transaction holds far fewer. */
export const INBOX_EVENTS_PER_STATEMENT_MAX = 1_000;

export interface InboxEventKey {
  consumerGroup: string;
  eventId: string;
  topic: string;
  partition: number;
  offset: number;
}

function checkBatch(count: number): void {
  if (count < 1 || count > INBOX_EVENTS_PER_STATEMENT_MAX) {
    throw invalidArgument("events", `must hold 1 to ${INBOX_EVENTS_PER_STATEMENT_MAX} items, got ${count}`);
  }
}

/** One inbox row per event of the arrays, in their order (see inboxEventColumns for the parameters). */
const INSERT_INBOX_EVENTS = `INSERT INTO sluice_inbox (consumer_group, event_id, topic, partition, record_offset)
SELECT $1, event.id, event.topic, event.partition, event.record_offset
FROM unnest($2::text[], $3::text[], $4::integer[], $5::bigint[]) WITH ORDINALITY
  AS event (id, topic, partition, record_offset, position)
ORDER BY event.position`;

/** The parameters of an inbox insert: the group, then one array per column. */
function inboxEventColumns(consumerGroup: string, events: readonly Omit<InboxEventKey, "consumerGroup">[]): unknown[] {
  const ids: string[] = [];
  const topics: string[] = [];
  const partitions: number[] = [];
  const offsets: number[] = [];
  for (const event of events) {
    ids.push(event.eventId);
    topics.push(event.topic);
    partitions.push(event.partition);
    offsets.push(event.offset);
  }
  return [
    consumerGroup,
    textArrayParam(ids),
    textArrayParam(topics),
    integerArrayParam(partitions),
    integerArrayParam(offsets),
  ];
}

/**
 * Records that consumerGroup processed each of the events, in the given order; returns the ids recorded now, so
 * an id missing from the result is a redelivery. Run it in the handlers' transaction: when a concurrent consumer is
 * recording the same id, this waits for that transaction and leaves the id out if it committed. The caller passes
 * each id once.
 */
export function insertInboxEvents(
  consumerGroup: string,
  events: readonly Omit<InboxEventKey, "consumerGroup">[],
): SqlStatement<{ event_id: string }> {
  checkBatch(events.length);
  return sql(
    `${INSERT_INBOX_EVENTS}
ON CONFLICT (consumer_group, event_id) DO NOTHING
RETURNING event_id`,
    inboxEventColumns(consumerGroup, events),
  );
}

/**
 * Records that consumerGroup processed each of the events, expecting every one of them to be new: without ON
 * CONFLICT the server checks each key once, as the index takes it, rather than probing the index first and then
 * inserting, and no row comes back. An id held already fails the statement with a unique violation (23505), which
 * aborts the transaction: the caller rolls back and records the events with insertInboxEvents instead. The caller
 * passes each id once.
 */
export function insertNewInboxEvents(
  consumerGroup: string,
  events: readonly Omit<InboxEventKey, "consumerGroup">[],
): SqlStatement<never> {
  checkBatch(events.length);
  return sql(INSERT_INBOX_EVENTS, inboxEventColumns(consumerGroup, events));
}

/** Takes back inbox records written earlier in the same transaction, for events whose work was not done. */
export function deleteInboxEvents(consumerGroup: string, eventIds: readonly string[]): SqlStatement<never> {
  checkBatch(eventIds.length);
  return sql("DELETE FROM sluice_inbox WHERE consumer_group = $1 AND event_id = ANY($2::text[])", [
    consumerGroup,
    eventIds,
  ]);
}

/**
 * Deletes up to limit records processed more than olderThanMs ago, oldest first; run it until it deletes fewer than
 * limit. It deletes the rows it found by their addresses rather than looking each one up again by its key. An event
 * redelivered after its record is gone is processed again, so the window must outlast redelivery.
 */
export function deleteInboxEventsBefore(olderThanMs: number, limit: number): SqlStatement<never> {
  if (!Number.isFinite(olderThanMs) || olderThanMs < 0) {
    throw invalidArgument("olderThanMs", `must be a number of milliseconds >= 0, got ${String(olderThanMs)}`);
  }
  if (!Number.isInteger(limit) || limit < 1 || limit > INBOX_CLEANUP_LIMIT_MAX) {
    throw invalidArgument("limit", `must be an integer from 1 to ${INBOX_CLEANUP_LIMIT_MAX}, got ${String(limit)}`);
  }
  // The subquery's snapshot keeps the rows it found from being vacuumed, so no address can be reused by another row
  // before the DELETE reaches it; a row another cleanup deleted meanwhile is skipped.
  return sql(
    `DELETE FROM sluice_inbox
WHERE ctid = ANY (ARRAY(
  SELECT ctid FROM sluice_inbox
  WHERE processed_at < statement_timestamp() - $1::double precision * interval '1 millisecond'
  ORDER BY processed_at
  LIMIT $2
))`,
    [olderThanMs, limit],
  );
}
