// The relay's statements on the outbox's cursor (table sluice_outbox_cursor): taking it, reading beyond it, moving it
// (and parking a row as it passes), renewing and giving up its lease.
//
// How the outbox is published. A relay reads rows in (xid, id) order beyond the outbox's cursor (table
// sluice_outbox_cursor), publishes them, then moves the cursor past them with one single-row UPDATE: a row is written
// once, when it is added, and deleted by the cleanup after the retention; publishing writes nothing to it.
//
// Commit order. Ids come from a sequence, so a transaction may commit its row after a later id is already committed
// and read; a cursor on ids alone would pass it by. So every row records its transaction's id (xid), and a read takes
// only rows of transactions older than every transaction still running (the horizon, see OUTBOX_HORIZON): those have
// all committed or rolled back, and none can add a row behind the cursor any more. A long-running writing transaction
// in the same database therefore delays the relay until it ends (the lag gauges show it, a read says when rows are
// held back so that the relay looks again soon, and findOutboxHolder names the session for the relay's warning).
//
// Per-key order: one relay holds the cursor at a time (a lease on the cursor row), and it sends a key's rows in
// cursor order, so rows with the same topic and partition key leave in the order their transactions got their ids,
// and within a transaction in the order they were added. Other relays wait as stand-bys and take the cursor over when
// the lease runs out (or at once when the holder is known to be dead, see releaseDeadCursorLease).
//
// Delivery is at least once: a relay that dies between a send and the cursor's move, or outlives its lease, leaves
// rows that are sent again, with the same event id, which the consumers' inbox absorbs.

import { invalidArgument } from "../errors.js";
import {
  checkLeaseMs,
  checkPosition,
  checkPositiveInteger,
  OUTBOX_CLAIM_BATCH_MAX,
  OUTBOX_CLAIM_BYTES_MAX,
  OUTBOX_IDS_MAX,
  type OutboxPosition,
  type ReadOutboxRow,
} from "./outbox-rows.js";
import { sql, type SqlStatement } from "./statement.js";

/** What a read returns of each row (see ReadOutboxRow). */
const READ_COLUMNS =
  "o.id, o.xid::text AS xid, o.event_id, o.topic, o.partition_key, o.key, o.value, o.headers, o.failed_attempts, " +
  "o.last_error, (extract(epoch FROM o.created_at) * 1000)::double precision AS created_at_ms";

/** The lease's end, leaseMs (parameter $n) from now. */
function leaseEnd(parameter: number): string {
  return `statement_timestamp() + $${parameter}::double precision * interval '1 millisecond'`;
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

/**
 * Reads up to batchSize rows after position (the cursor, or the last row already read ahead), in (xid, id) order,
 * of transactions that no running transaction precedes, for relayId while it holds the cursor; renews its lease and
 * records how far it has read. The first row is read whatever its size; then the read stops before the row that
 * would pass bytesMax, so that a batch of large events cannot exhaust the relay's memory.
 */
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

/** How much of the holding-back session's query a lookup returns, in characters. */
export const OUTBOX_HOLDER_QUERY_CHARS_MAX = 200;

/**
 * The session of this database whose transaction holds the relay back (see "Commit order" above): the one, other than
 * the caller's, with the oldest transaction id, since the horizon is the oldest transaction with an id still running.
 * pg_stat_activity shows other roles' sessions without their details (backend_xid among them) unless the caller may
 * read all statistics (pg_read_all_stats), so then no row comes back.
 */
export function findOutboxHolder(): SqlStatement<{
  pid: number;
  application_name: string;
  usename: string | null;
  state: string | null;
  backend_xid: string;
  xact_age_ms: number | null;
  state_age_ms: number | null;
  query: string | null;
}> {
  return sql(
    `SELECT pid, application_name, usename::text AS usename, state, backend_xid::text AS backend_xid,
  (extract(epoch FROM clock_timestamp() - xact_start) * 1000)::double precision AS xact_age_ms,
  (extract(epoch FROM clock_timestamp() - state_change) * 1000)::double precision AS state_age_ms,
  left(query, $1) AS query
FROM pg_stat_activity
WHERE datname = current_database() AND backend_xid IS NOT NULL AND pid <> pg_backend_pid()
ORDER BY age(backend_xid) DESC
LIMIT 1`,
    [OUTBOX_HOLDER_QUERY_CHARS_MAX],
  );
}
