// Statements for the transactional outbox (table sluice_outbox, migrations 0001 and 0004).
// Adding events, looking them up, requeueing parked rows, counting failed sends, the lag, and the cleanup. How the
// outbox is published, and the relay's statements on its cursor, are in outbox-cursor.ts; the limits, row types and
// argument checks in outbox-rows.ts.

import { invalidArgument } from "../errors.js";
import { quoteIdentifier, validateIdentifier } from "../identifiers.js";
import {
  checkCount,
  checkPositiveInteger,
  OUTBOX_IDS_MAX,
  OUTBOX_INSERT_ROWS_MAX,
  type OutboxInsertRow,
  type OutboxLagRow,
} from "./outbox-rows.js";
import { integerArrayParam, sql, type SqlStatement } from "./statement.js";

export {
  OUTBOX_CLAIM_BATCH_MAX,
  OUTBOX_CLAIM_BYTES_MAX,
  OUTBOX_IDS_MAX,
  OUTBOX_INSERT_ROWS_MAX,
  OUTBOX_NOTIFY_CHANNEL,
  type OutboxInsertRow,
  type OutboxLagRow,
  type OutboxPosition,
  type OutboxRow,
  type ReadOutboxRow,
} from "./outbox-rows.js";
export * from "./outbox-cursor.js";

/**
 * Adds events; an event whose event_id is already in the outbox is left alone, so retrying a command that adds
 * the same event is harmless. Returns the rows actually added.
 */
export function insertOutboxEvents(rows: readonly OutboxInsertRow[]): SqlStatement<{ id: number; event_id: string }> {
  checkCount("events", rows.length, OUTBOX_INSERT_ROWS_MAX);
  const values: unknown[] = [];
  const tuples = rows.map((row) => {
    const at = values.length;
    values.push(row.eventId, row.topic, row.partitionKey, row.key, row.value, JSON.stringify(row.headers));
    return `($${at + 1}::uuid, $${at + 2}, $${at + 3}, $${at + 4}::bytea, $${at + 5}::bytea, $${at + 6}::jsonb)`;
  });
  return sql(
    "INSERT INTO sluice_outbox (event_id, topic, partition_key, key, value, headers) VALUES " +
      tuples.join(", ") +
      " ON CONFLICT (event_id) DO NOTHING RETURNING id, event_id",
    values,
  );
}

/** Rows of a caller's own table that say an event id is known although the outbox may have forgotten it. */
export interface KnownRowsSource {
  /** A table (or view) in the current schema, and its column holding the event id (a uuid). */
  table: string;
  idColumn: string;
  /** The columns returned of each row found, as a JSON object. */
  columns: readonly string[];
}

/** An event id known before the statement ran: in the outbox (its topic and value), or in the caller's rows. */
export type KnownEventRow =
  | { source: "outbox"; event_id: string; topic: string; value: Buffer | null; row: null; id: null }
  | { source: "elsewhere"; event_id: string; topic: null; value: null; row: Record<string, unknown>; id: null }
  | { source: "added"; event_id: string; topic: null; value: null; row: null; id: number };

/**
 * Looks up lookupIds in the outbox and, when knownIn is given, in the caller's rows, and adds the events whose ids
 * are in neither, all in one statement: a group commit's whole write costs one round trip. Its rows say what was
 * found (source outbox or elsewhere) and what was added (source added, with the new row's id). Every part of the
 * statement sees the same snapshot; a concurrent writer of the same id is still caught by ON CONFLICT.
 */
export function insertUnknownOutboxEvents(
  rows: readonly OutboxInsertRow[],
  lookupIds: readonly string[],
  knownIn: KnownRowsSource | null,
): SqlStatement<KnownEventRow> {
  checkCount("events", rows.length, OUTBOX_INSERT_ROWS_MAX);
  if (lookupIds.length > OUTBOX_IDS_MAX) throw invalidArgument("lookupIds", `must hold at most ${OUTBOX_IDS_MAX} ids`);
  if (knownIn !== null) {
    validateIdentifier("knownIn.table", knownIn.table);
    validateIdentifier("knownIn.idColumn", knownIn.idColumn);
    if (knownIn.columns.length === 0) throw invalidArgument("knownIn.columns", "must name at least one column");
    for (const column of knownIn.columns) validateIdentifier("knownIn.columns", column);
  }
  const values: unknown[] = [lookupIds];
  const tuples = rows.map((row) => {
    const at = values.length;
    values.push(row.eventId, row.topic, row.partitionKey, row.key, row.value, JSON.stringify(row.headers));
    return `($${at + 1}::uuid, $${at + 2}, $${at + 3}, $${at + 4}::bytea, $${at + 5}::bytea, $${at + 6}::jsonb)`;
  });
  const elsewhere =
    knownIn === null
      ? "SELECT NULL::uuid AS event_id, NULL::jsonb AS row WHERE false"
      : `SELECT k.${quoteIdentifier(knownIn.idColumn)}::uuid AS event_id, ` +
        `jsonb_build_object(${knownIn.columns.map((column) => `'${column}', k.${quoteIdentifier(column)}`).join(", ")}) AS row ` +
        `FROM ${quoteIdentifier(knownIn.table)} k WHERE k.${quoteIdentifier(knownIn.idColumn)} = ANY ($1::uuid[])`;
  // The rows are inserted in the order given (a VALUES list is read in order), so ids follow it, as with VALUES alone.
  return sql(
    `WITH in_outbox AS (
  SELECT event_id, topic, value FROM sluice_outbox WHERE event_id = ANY ($1::uuid[])
), elsewhere AS (
  ${elsewhere}
), added AS (
  INSERT INTO sluice_outbox (event_id, topic, partition_key, key, value, headers)
  SELECT * FROM (VALUES ${tuples.join(", ")}) AS v (event_id, topic, partition_key, key, value, headers)
  WHERE v.event_id NOT IN (SELECT event_id FROM in_outbox) AND v.event_id NOT IN (SELECT event_id FROM elsewhere)
  ON CONFLICT (event_id) DO NOTHING
  RETURNING id, event_id
)
SELECT 'outbox' AS source, event_id::text, topic, value, NULL::jsonb AS row, NULL::bigint AS id FROM in_outbox
UNION ALL
SELECT 'elsewhere', event_id::text, NULL, NULL, row, NULL FROM elsewhere
UNION ALL
SELECT 'added', event_id::text, NULL, NULL, NULL, id FROM added`,
    values,
  );
}

/** Which parked rows a requeue takes: those among ids (the others are left alone), or the oldest `oldest`. */
export type ParkedRowsChoice = { ids: readonly number[] } | { oldest: number };

/**
 * Adds parked rows again as new rows (a new transaction id, so after the cursor, and a new row id) and deletes the
 * parked ones, in one statement; the event ids stay, so consumers that saw an earlier copy skip this one. The new rows
 * start with no failed attempts, and their INSERT wakes the relays like any other. Returns the new rows' ids, in the
 * order of the old ones.
 */
export function requeueParkedOutboxRows(choice: ParkedRowsChoice): SqlStatement<{ id: number }> {
  let chosen: string;
  let value: unknown;
  if ("ids" in choice) {
    if (choice.ids.length > OUTBOX_IDS_MAX) throw invalidArgument("ids", `must hold at most ${OUTBOX_IDS_MAX} ids`);
    chosen = "id = ANY ($1::bigint[])";
    value = integerArrayParam(choice.ids);
  } else {
    checkPositiveInteger("oldest", choice.oldest, OUTBOX_IDS_MAX);
    // SKIP LOCKED: a requeue running beside this one takes the next parked rows instead of waiting for these and
    // finding them gone.
    chosen =
      "id IN (SELECT id FROM sluice_outbox WHERE parked_at IS NOT NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)";
    value = choice.oldest;
  }
  // The INSERT takes the rows in the order of their old ids, so the new ids follow it.
  return sql(
    `WITH parked AS (
  DELETE FROM sluice_outbox WHERE ${chosen} AND parked_at IS NOT NULL
  RETURNING id, event_id, topic, partition_key, key, value, headers
), added AS (
  INSERT INTO sluice_outbox (event_id, topic, partition_key, key, value, headers)
  SELECT event_id, topic, partition_key, key, value, headers FROM parked ORDER BY id
  RETURNING id
)
SELECT id FROM added ORDER BY id`,
    [value],
  );
}

/** How many rows are parked. */
export function countParkedOutboxRows(): SqlStatement<{ parked: number }> {
  return sql("SELECT count(*)::integer AS parked FROM sluice_outbox WHERE parked_at IS NOT NULL");
}

/** Parked rows, oldest first, at most limit. */
export function selectParkedOutboxRows(limit: number): SqlStatement<{
  id: number;
  event_id: string;
  topic: string;
  parked_at: Date;
  failed_attempts: number;
  last_error: string | null;
}> {
  checkPositiveInteger("limit", limit, OUTBOX_IDS_MAX);
  return sql(
    `SELECT id, event_id::text, topic, parked_at, failed_attempts, last_error FROM sluice_outbox
WHERE parked_at IS NOT NULL ORDER BY id LIMIT $1`,
    [limit],
  );
}

/** Counts a failed send against rows and records why, so that a row that keeps failing shows up. */
export function recordOutboxFailures(ids: readonly number[], reason: string): SqlStatement<never> {
  checkCount("ids", ids.length, OUTBOX_IDS_MAX);
  return sql(
    "UPDATE sluice_outbox SET failed_attempts = failed_attempts + 1, last_error = $2 WHERE id = ANY ($1::bigint[])",
    [ids, reason],
  );
}

/** The topic and value of the event with this id, while its row is in the outbox. */
export function selectOutboxEvent(eventId: string): SqlStatement<{ topic: string; value: Buffer | null }> {
  return sql("SELECT topic, value FROM sluice_outbox WHERE event_id = $1", [eventId]);
}

/** The rows of these event ids that are still in the outbox; ids must be lower-case UUIDs. */
export function selectOutboxEvents(
  eventIds: readonly string[],
): SqlStatement<{ event_id: string; topic: string; value: Buffer | null }> {
  checkCount("eventIds", eventIds.length, OUTBOX_IDS_MAX);
  return sql("SELECT event_id, topic, value FROM sluice_outbox WHERE event_id = ANY($1::uuid[])", [eventIds]);
}

/** Rows waiting beyond the cursor, how many of them the cursor's relay has read and is sending, and the oldest's age. */
export function selectOutboxLag(): SqlStatement<OutboxLagRow> {
  return sql(
    `SELECT count(o.id) AS waiting,
  count(o.id) FILTER (
    WHERE c.lease_expires_at > statement_timestamp() AND (o.xid, o.id) <= (c.read_xid, c.read_id)
  ) AS in_flight,
  min(o.created_at) AS oldest_created_at,
  (EXTRACT(EPOCH FROM statement_timestamp() - min(o.created_at)) * 1000)::double precision AS oldest_age_ms
FROM sluice_outbox_cursor c
LEFT JOIN sluice_outbox o ON (o.xid, o.id) > (c.position_xid, c.position_id)`,
  );
}

/**
 * Deletes published rows (behind the cursor, not parked) added more than olderThanMs ago, among the limit oldest; run it until it
 * deletes fewer than limit. Looking at the oldest rows only keeps each run bounded while every published row is
 * younger than the retention.
 */
export function deletePublishedOutboxRows(olderThanMs: number, limit: number): SqlStatement<never> {
  if (!Number.isFinite(olderThanMs) || olderThanMs < 0) {
    throw invalidArgument("olderThanMs", `must be a number of milliseconds >= 0, got ${String(olderThanMs)}`);
  }
  checkPositiveInteger("limit", limit, OUTBOX_IDS_MAX);
  return sql(
    `DELETE FROM sluice_outbox
WHERE id IN (
  SELECT oldest.id FROM (
    SELECT o.id, o.created_at
    FROM sluice_outbox o, sluice_outbox_cursor c
    WHERE (o.xid, o.id) <= (c.position_xid, c.position_id) AND o.parked_at IS NULL
    ORDER BY o.xid, o.id
    LIMIT $2
  ) oldest
  WHERE oldest.created_at < statement_timestamp() - $1::double precision * interval '1 millisecond'
)`,
    [olderThanMs, limit],
  );
}
