// Statements for the transactional outbox (table sluice_outbox, migrations 0001 and 0004).
//
// How the outbox is published. A relay reads rows in (xid, id) order beyond the outbox's cursor (table
// sluice_outbox_cursor), publishes them, then moves the cursor past them with one single-row UPDATE: a row is written
// once, when it is added, and deleted by the cleanup after the retention; publishing writes nothing to it.
//
// Commit order. Ids come from a sequence, so a transaction may commit its row after a later id is already committed
// and read; a cursor on ids alone would pass it by. So every row records its transaction's id (xid), and a read takes
// only rows of transactions older than every transaction still running (the horizon, see OUTBOX_HORIZON): those have
// all committed or rolled back, and none can add a row behind the cursor any more. A long-running writing transaction
// in the same database therefore delays the relay until it ends (the lag gauges show it, and a read says when rows
// are held back so that the relay looks again soon).
//
// Per-key order: one relay holds the cursor at a time (a lease on the cursor row), and it sends a key's rows in
// cursor order, so rows with the same topic and partition key leave in the order their transactions got their ids,
// and within a transaction in the order they were added. Other relays wait as stand-bys and take the cursor over when
// the lease runs out (or at once when the holder is known to be dead, see releaseDeadCursorLease).
//
// Delivery is at least once: a relay that dies between a send and the cursor's move, or outlives its lease, leaves
// rows that are sent again, with the same event id, which the consumers' inbox absorbs.

import { invalidArgument } from "../errors.js";
import { quoteIdentifier, validateIdentifier } from "../identifiers.js";
import { sql, type SqlStatement } from "./statement.js";

/** The channel that the outbox trigger notifies, with the schema name as payload. */
export const OUTBOX_NOTIFY_CHANNEL = "sluice_outbox";
/** Rows per INSERT statement; six parameters each stays far below PostgreSQL's 65535 parameter limit. */
export const OUTBOX_INSERT_ROWS_MAX = 500;
/** Ids per mark, delete, renew or release statement. */
export const OUTBOX_IDS_MAX = 10_000;
export const OUTBOX_CLAIM_BATCH_MAX = 10_000;
/** The largest byte budget a claim may be given (see claimOutboxRows). */
export const OUTBOX_CLAIM_BYTES_MAX = 1024 * 1024 * 1024;

/** A row of sluice_outbox, every column. */
export interface OutboxRow {
  id: number;
  event_id: string;
  topic: string;
  partition_key: string | null;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, string>;
  created_at: Date;
  /** The adding transaction's id (xid8), as text: it may pass 2^53. */
  xid: string;
  failed_attempts: number;
  last_error: string | null;
}

/**
 * A row as a read returns it: what the relay sends and reports. created_at comes as epoch milliseconds, which costs
 * far less to read than timestamp text. held is false (and the other columns null) when the relay no longer holds the
 * cursor; a read that found nothing but holds it returns one row with a null id.
 */
export interface ReadOutboxRow {
  held: boolean;
  /** Rows beyond the horizon are committed but wait for an older transaction to end. */
  held_back: boolean;
  id: number | null;
  xid: string | null;
  event_id: string;
  topic: string;
  partition_key: string | null;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, string>;
  created_at_ms: number;
  failed_attempts: number;
  last_error: string | null;
}

/** A place in the outbox's (xid, id) order: the cursor, or a row. */
export interface OutboxPosition {
  /** xid8 as decimal text. */
  xid: string;
  id: number;
}

export interface OutboxInsertRow {
  eventId: string;
  topic: string;
  partitionKey: string | null;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, string>;
}

export interface OutboxLagRow {
  waiting: number;
  in_flight: number;
  oldest_created_at: Date | null;
  oldest_age_ms: number | null;
}

/** What a read returns of each row (see ReadOutboxRow). */
const READ_COLUMNS =
  "o.id, o.xid::text AS xid, o.event_id, o.topic, o.partition_key, o.key, o.value, o.headers, o.failed_attempts, " +
  "o.last_error, (extract(epoch FROM o.created_at) * 1000)::double precision AS created_at_ms";

/** The lease's end, leaseMs (parameter $n) from now. */
function leaseEnd(parameter: number): string {
  return `statement_timestamp() + $${parameter}::double precision * interval '1 millisecond'`;
}

function checkPosition(position: OutboxPosition): void {
  if (typeof position !== "object" || position === null || !/^[0-9]{1,20}$/.test(position.xid)) {
    throw invalidArgument("position.xid", "must be a transaction id as decimal text");
  }
  if (!Number.isSafeInteger(position.id) || position.id < 0) {
    throw invalidArgument("position.id", `must be a row id, got ${String(position.id)}`);
  }
}

function checkLeaseMs(leaseMs: number): void {
  checkPositiveInteger("leaseMs", leaseMs, 24 * 60 * 60 * 1000);
}

function checkCount(field: string, count: number, max: number): void {
  if (count < 1 || count > max) throw invalidArgument(field, `must hold 1 to ${max} items, got ${count}`);
}

function checkPositiveInteger(field: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw invalidArgument(field, `must be an integer from 1 to ${max}, got ${String(value)}`);
  }
}

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

/**
 * Takes the cursor for relayId with a lease of leaseMs when it is free, already relayId's (an earlier life of the
 * same relay), past its lease, or, when keepOnly is given, held by a relay not in it (the caller holds the database
 * alone, so no other relay is alive). Returns the cursor's position, and when it was not taken, the holder and how
 * long its lease has left, for a stand-by to wait until then.
 */
export function takeOutboxCursor(
  relayId: string,
  leaseMs: number,
  keepOnly: readonly string[] | null,
): SqlStatement<{
  taken: boolean;
  position_xid: string;
  position_id: number;
  relay_id: string | null;
  lease_ms_left: number | null;
}> {
  checkLeaseMs(leaseMs);
  return sql(
    `WITH taken AS (
  UPDATE sluice_outbox_cursor
  SET relay_id = $1, lease_expires_at = ${leaseEnd(2)}, read_xid = NULL, read_id = NULL
  WHERE relay_id IS NULL OR relay_id = $1 OR lease_expires_at <= statement_timestamp()
    OR ($3::boolean AND NOT relay_id = ANY ($4::text[]))
  RETURNING position_xid, position_id
)
SELECT true AS taken, position_xid::text, position_id, $1 AS relay_id, $2::double precision AS lease_ms_left FROM taken
UNION ALL
SELECT false, position_xid::text, position_id, relay_id,
  (EXTRACT(EPOCH FROM lease_expires_at - statement_timestamp()) * 1000)::double precision
FROM sluice_outbox_cursor WHERE NOT EXISTS (SELECT 1 FROM taken)`,
    [relayId, leaseMs, keepOnly !== null, keepOnly ?? []],
  );
}

/**
 * Reads up to batchSize rows after position (the cursor, or the last row already read ahead), in (xid, id) order,
 * of transactions that no running transaction precedes, for relayId while it holds the cursor; renews its lease and
 * records how far it has read. The first row is read whatever its size; then the read stops before the row that
 * would pass bytesMax, so that a batch of large events cannot exhaust the relay's memory.
 */
/**
 * The horizon: the oldest transaction that was running when the statement's snapshot was taken (pg_snapshot_xmin),
 * leaving out those that pg_stat_activity shows in another database of the server, which cannot add rows here. A
 * transaction it does not show (one that ended meanwhile, or a prepared one) is kept in, which can only hold rows back
 * a little longer. pg_stat_activity's xids are 32 bits, so they are compared with the low 32 bits of the snapshot's.
 */
const OUTBOX_HORIZON = `(
  SELECT coalesce(
    (
      SELECT running.xid FROM pg_snapshot_xip(snap.snapshot) AS running(xid)
      WHERE NOT EXISTS (
        SELECT 1 FROM pg_stat_activity a
        WHERE a.backend_xid IS NOT NULL AND a.datname IS DISTINCT FROM current_database()
          AND a.backend_xid::text::bigint = running.xid::text::bigint % 4294967296
      )
      ORDER BY running.xid
      LIMIT 1
    ),
    pg_snapshot_xmax(snap.snapshot)
  )
  FROM (SELECT pg_current_snapshot() AS snapshot) snap
)`;

export function readOutboxRows(options: {
  relayId: string;
  after: OutboxPosition;
  batchSize: number;
  bytesMax: number;
  leaseMs: number;
}): SqlStatement<ReadOutboxRow> {
  checkPosition(options.after);
  checkPositiveInteger("batchSize", options.batchSize, OUTBOX_CLAIM_BATCH_MAX);
  checkPositiveInteger("bytesMax", options.bytesMax, OUTBOX_CLAIM_BYTES_MAX);
  checkLeaseMs(options.leaseMs);
  // Every part sees the statement's one snapshot, so the horizon, the rows and the lease agree.
  return sql(
    `WITH horizon AS MATERIALIZED (
  SELECT ${OUTBOX_HORIZON} AS xid
), candidates AS (
  SELECT o.xid, o.id, coalesce(octet_length(o.key), 0) + coalesce(octet_length(o.value), 0) AS bytes
  FROM sluice_outbox o
  WHERE (o.xid, o.id) > ($2::xid8, $3::bigint) AND o.xid < (SELECT xid FROM horizon)
  ORDER BY o.xid, o.id
  LIMIT $4
), within_budget AS (
  SELECT xid, id FROM (SELECT xid, id, bytes, sum(bytes) OVER (ORDER BY xid, id) AS through FROM candidates) sized
  WHERE through <= $5 OR through = bytes
), last_read AS (
  SELECT xid, id FROM within_budget ORDER BY xid DESC, id DESC LIMIT 1
), lease AS (
  UPDATE sluice_outbox_cursor
  SET lease_expires_at = ${leaseEnd(6)},
    read_xid = coalesce((SELECT xid FROM last_read), read_xid),
    read_id = coalesce((SELECT id FROM last_read), read_id)
  WHERE relay_id = $1
  RETURNING true AS held
)
SELECT coalesce(l.held, false) AS held,
  -- The next row's xid alone, found by the index in any plan: an EXISTS over every row past the position was planned
  -- as a sequential scan of the whole outbox once the prepared statement's plan became generic.
  coalesce((
    SELECT o.xid FROM sluice_outbox o WHERE (o.xid, o.id) > ($2::xid8, $3::bigint) ORDER BY o.xid, o.id LIMIT 1
  ) >= (SELECT xid FROM horizon), false) AS held_back,
  r.*
FROM (SELECT true AS one) x
LEFT JOIN lease l ON true
LEFT JOIN LATERAL (
  SELECT ${READ_COLUMNS} FROM within_budget w JOIN sluice_outbox o ON o.id = w.id WHERE l.held
) r ON true
ORDER BY r.xid::xid8, r.id`,
    [options.relayId, options.after.xid, options.after.id, options.batchSize, options.bytesMax, options.leaseMs],
  );
}

/**
 * The cursor's move forward to ($2 xid, $3 id), never back, renewing the lease ($4 ms) of relay $1: a statement's
 * first CTE, "advanced", with one row when $1 holds the cursor and none when another relay has taken it.
 */
const CURSOR_ADVANCE = `advanced AS (
  UPDATE sluice_outbox_cursor
  SET position_xid = greatest(position_xid, $2::xid8),
    position_id = CASE WHEN (position_xid, position_id) < ($2::xid8, $3::bigint) THEN $3::bigint ELSE position_id END,
    lease_expires_at = ${leaseEnd(4)}
  WHERE relay_id = $1
  RETURNING true AS held
)`;

/**
 * Moves the cursor forward to position (never back) and renews relayId's lease; with deleteIds, also deletes those
 * rows (a relay that keeps no history). Changes nothing when another relay has taken the cursor: returns no row.
 */
export function advanceOutboxCursor(
  relayId: string,
  position: OutboxPosition,
  leaseMs: number,
  deleteIds: readonly number[] = [],
): SqlStatement<{ held: boolean }> {
  checkPosition(position);
  checkLeaseMs(leaseMs);
  if (deleteIds.length > OUTBOX_IDS_MAX) throw invalidArgument("deleteIds", `must hold at most ${OUTBOX_IDS_MAX} ids`);
  return sql(
    `WITH ${CURSOR_ADVANCE}, deleted AS (
  DELETE FROM sluice_outbox WHERE id = ANY ($5::bigint[]) AND EXISTS (SELECT 1 FROM advanced)
)
SELECT held FROM advanced`,
    [relayId, position.xid, position.id, leaseMs, deleteIds],
  );
}

/**
 * Parks the row at position (the first the cursor has not passed): records why and when, and moves the cursor past
 * it, in one statement, so that a crash cannot leave the row parked behind an unmoved cursor or passed unparked.
 * Changes nothing when another relay has taken the cursor: returns no row.
 */
export function parkOutboxRow(
  relayId: string,
  position: OutboxPosition,
  leaseMs: number,
  reason: string,
): SqlStatement<{ held: boolean }> {
  checkPosition(position);
  checkLeaseMs(leaseMs);
  return sql(
    `WITH ${CURSOR_ADVANCE}, parked AS (
  UPDATE sluice_outbox SET parked_at = statement_timestamp(), failed_attempts = failed_attempts + 1, last_error = $5
  WHERE id = $3 AND EXISTS (SELECT 1 FROM advanced)
)
SELECT held FROM advanced`,
    [relayId, position.xid, position.id, leaseMs, reason],
  );
}

/**
 * Adds parked rows again as new rows (a new transaction id, so after the cursor, and a new row id) and deletes the
 * parked ones, in one statement; the event ids stay, so consumers that saw an earlier copy skip this one. Rows of ids
 * that are not parked are left alone. Returns the new rows' ids.
 */
export function requeueParkedOutboxRows(ids: readonly number[]): SqlStatement<{ id: number; event_id: string }> {
  checkCount("ids", ids.length, OUTBOX_IDS_MAX);
  return sql(
    `WITH parked AS (
  DELETE FROM sluice_outbox WHERE id = ANY ($1::bigint[]) AND parked_at IS NOT NULL
  RETURNING id, event_id, topic, partition_key, key, value, headers
)
INSERT INTO sluice_outbox (event_id, topic, partition_key, key, value, headers)
SELECT event_id, topic, partition_key, key, value, headers FROM parked ORDER BY id
RETURNING id, event_id::text`,
    [ids],
  );
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

/** Extends relayId's lease on the cursor; returns a row when it still holds it. */
export function renewOutboxCursor(relayId: string, leaseMs: number): SqlStatement<{ held: boolean }> {
  checkLeaseMs(leaseMs);
  return sql(
    `UPDATE sluice_outbox_cursor SET lease_expires_at = ${leaseEnd(2)} WHERE relay_id = $1 RETURNING true AS held`,
    [relayId, leaseMs],
  );
}

/** Gives the cursor up, so that a stand-by relay takes it at once rather than when the lease runs out. */
export function releaseOutboxCursor(relayId: string): SqlStatement<never> {
  return sql(
    "UPDATE sluice_outbox_cursor SET relay_id = NULL, lease_expires_at = NULL, read_xid = NULL, read_id = NULL WHERE relay_id = $1",
    [relayId],
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
