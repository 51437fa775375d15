// Statements for the transactional outbox (table sluice_outbox, migration 0001).
//
// How relays share the outbox. Each relay claims rows with a lease (claimed_by, claim_expires_at) in a short
// transaction, publishes them, then marks them published. Claims never hold a transaction open while publishing,
// which matters with PGlite, where an open transaction would stop every other statement in the process.
//
// Per-key order across relays: a claim takes unpublished, unleased rows in id order, but skips any row whose topic
// and partition key has an unpublished row under a live lease, since another relay is still publishing that key.
// (Even an earlier row waits for a later one in flight: ids come from a sequence, so a transaction may commit its
// row after a later id was claimed.) A key is therefore in flight at one relay at a time and leaves in id order,
// while different keys spread over all relays. That check is only sound if claims see each other's leases, so claims run one at a time
// per schema under a transaction-level advisory lock (claimTransactionSetup), in READ COMMITTED, with the claim as a
// separate statement after the lock so that its snapshot includes the previous claim. A claim is one short
// UPDATE, so this serialisation costs little. FOR UPDATE SKIP LOCKED alone would not do: it lets a second relay
// take a later row of a key while the first still holds an earlier one. The one exception is the rows a relay names
// as publishing (the batch it is sending, and the one it sent and is marking): it may claim later rows of those
// keys, because it sends them only after that batch was acknowledged (and gives them back unsent if it was not).
//
// When a relay dies, its leases expire and any relay takes the rows over; a relay that outlives its lease may
// publish a row twice, which the consumers' inbox absorbs (delivery is at least once, and ordered by first
// delivery).

import { invalidArgument } from "../errors.js";
import { quoteIdentifier, validateIdentifier } from "../identifiers.js";
import { advisoryLockKey, advisoryTransactionLockScript } from "./locks.js";
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
  claimed_by: string | null;
  claim_expires_at: Date | null;
  claim_count: number;
  last_error: string | null;
  published_at: Date | null;
}

/**
 * A row as a claim returns it: what the relay sends and reports. Times come as epoch milliseconds, which cost far
 * less to read than timestamp text (parsing two dates per row was a twentieth of the relay's CPU).
 */
export interface ClaimedOutboxRow {
  id: number;
  event_id: string;
  topic: string;
  partition_key: string | null;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, string>;
  created_at_ms: number;
  claim_expires_at_ms: number | null;
  claim_count: number;
  last_error: string | null;
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

/** What a claim returns of each row it leased (see ClaimedOutboxRow). */
const CLAIMED_COLUMNS =
  "o.id, o.event_id, o.topic, o.partition_key, o.key, o.value, o.headers, o.claim_count, o.last_error, " +
  "(extract(epoch FROM o.created_at) * 1000)::double precision AS created_at_ms, " +
  "(extract(epoch FROM o.claim_expires_at) * 1000)::double precision AS claim_expires_at_ms";

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
 * The start of a claim transaction, one script so that it costs one round trip rather than three:
 * - READ COMMITTED, whatever the database's default, because claims rely on its fresh snapshot per statement.
 * - Its commit need not wait for the WAL flush: a claim lost in a database crash is a lease that never existed, and
 *   its rows are simply claimed again.
 * - No bitmap scans: the outbox churns faster than autovacuum analyses it, so the planner, believing few rows wait,
 *   would read every waiting row and sort them instead of walking the index in id order and stopping at the batch
 *   size; with a backlog of 20,000 rows that made a claim of 500 take 30 ms instead of 10.
 * - Then it waits until no other claim on this schema is running (the advisory lock ends with the transaction).
 * The claim itself (claimOutboxRows) must follow as a separate statement, so that its snapshot is taken after the
 * lock was granted and includes the previous claim's leases.
 */
export function claimTransactionSetup(schema: string): string {
  return [
    "SET TRANSACTION ISOLATION LEVEL READ COMMITTED",
    "SELECT set_config('synchronous_commit', 'off', true), set_config('enable_bitmapscan', 'off', true)",
    advisoryTransactionLockScript(advisoryLockKey("outbox-claims", schema)),
  ].join(";\n");
}

/** The second statement of a claim transaction (after claimTransactionSetup): leases up to batchSize rows to relayId, returned in id order. */
export function claimOutboxRows(options: {
  relayId: string;
  batchSize: number;
  /**
   * Keys and values of the claimed rows together, at most: a claim stops before the row that would pass it (but
   * always takes its first row), so that a batch of large events cannot exhaust the relay's memory.
   */
  bytesMax: number;
  leaseMs: number;
  /**
   * Rows the claiming relay is sending now, or has sent and is marking. They do not hold back rows of their keys,
   * because the relay sends those first: this lets a relay claim its next batch while the broker acknowledges the
   * last one.
   */
  publishingIds?: readonly number[];
}): SqlStatement<ClaimedOutboxRow> {
  checkPositiveInteger("batchSize", options.batchSize, OUTBOX_CLAIM_BATCH_MAX);
  checkPositiveInteger("bytesMax", options.bytesMax, OUTBOX_CLAIM_BYTES_MAX);
  checkPositiveInteger("leaseMs", options.leaseMs, 24 * 60 * 60 * 1000);
  const publishingIds = options.publishingIds ?? [];
  if (publishingIds.length > OUTBOX_CLAIM_BATCH_MAX) {
    throw invalidArgument("publishingIds", `must hold at most ${OUTBOX_CLAIM_BATCH_MAX} ids`);
  }
  // The lease condition is repeated in the UPDATE so that, even without the advisory lock, PostgreSQL's re-check of
  // a row changed by a concurrent claim refuses to lease it twice.
  // The keys in flight are gathered once, from leased rows only, through a partial index that holds nothing else
  // (migration 0003), so a claim costs the same however large the backlog is; each candidate then costs one hash
  // probe. Gathering them per candidate instead read every leased row of the key for each one, which was half of
  // a claim's time with a batch of 500 in flight.
  return sql(
    `WITH blocked AS MATERIALIZED (
  SELECT DISTINCT topic, partition_key
  FROM sluice_outbox
  WHERE published_at IS NULL
    AND claimed_by IS NOT NULL
    AND partition_key IS NOT NULL
    AND claim_expires_at > statement_timestamp()
    AND id <> ALL ($4::bigint[])
), candidates AS (
  SELECT o.id, coalesce(octet_length(o.key), 0) + coalesce(octet_length(o.value), 0) AS bytes
  FROM sluice_outbox o
  WHERE o.published_at IS NULL
    AND (o.claim_expires_at IS NULL OR o.claim_expires_at <= statement_timestamp())
    AND (o.partition_key IS NULL OR (o.topic, o.partition_key) NOT IN (SELECT topic, partition_key FROM blocked))
  ORDER BY o.id
  LIMIT $2
), within_budget AS (
  SELECT id FROM (SELECT id, bytes, sum(bytes) OVER (ORDER BY id) AS through FROM candidates) sized
  WHERE through <= $5 OR through = bytes
), claimed AS (
  UPDATE sluice_outbox o
  SET claimed_by = $1,
      claim_expires_at = statement_timestamp() + $3::double precision * interval '1 millisecond',
      claim_count = o.claim_count + 1
  WHERE o.id = ANY (ARRAY(SELECT id FROM within_budget))
    AND o.published_at IS NULL
    AND (o.claim_expires_at IS NULL OR o.claim_expires_at <= statement_timestamp())
  RETURNING ${CLAIMED_COLUMNS}
)
SELECT * FROM claimed ORDER BY id`,
    [options.relayId, options.batchSize, options.leaseMs, publishingIds, options.bytesMax],
  );
}

/** Extends relayId's leases on rows it is still publishing; returns the ids it still holds. */
export function renewOutboxClaims(
  relayId: string,
  ids: readonly number[],
  leaseMs: number,
): SqlStatement<{ id: number }> {
  checkCount("ids", ids.length, OUTBOX_IDS_MAX);
  checkPositiveInteger("leaseMs", leaseMs, 24 * 60 * 60 * 1000);
  return sql(
    `UPDATE sluice_outbox
SET claim_expires_at = statement_timestamp() + $3::double precision * interval '1 millisecond'
WHERE id = ANY($2::bigint[]) AND claimed_by = $1 AND published_at IS NULL
RETURNING id`,
    [relayId, ids, leaseMs],
  );
}

/** Records that rows reached the broker. Whoever published a row may mark it, even after its lease passed on. */
export function markOutboxPublished(ids: readonly number[]): SqlStatement<never> {
  checkCount("ids", ids.length, OUTBOX_IDS_MAX);
  return sql(
    `UPDATE sluice_outbox
SET published_at = statement_timestamp(), claimed_by = NULL, claim_expires_at = NULL, last_error = NULL
WHERE id = ANY($1::bigint[]) AND published_at IS NULL`,
    [ids],
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

/** Removes rows that reached the broker, for relays that keep no history. */
export function deleteOutboxRows(ids: readonly number[]): SqlStatement<never> {
  checkCount("ids", ids.length, OUTBOX_IDS_MAX);
  return sql("DELETE FROM sluice_outbox WHERE id = ANY($1::bigint[])", [ids]);
}

/**
 * Gives up relayId's leases (after a failed publish) so the rows can be claimed again, recording why (a null reason
 * keeps the last error). Rows that were never attempted also take back the claim they were counted for.
 */
export function releaseOutboxClaims(
  relayId: string,
  ids: readonly number[],
  reason: string | null,
  attempted = true,
): SqlStatement<never> {
  checkCount("ids", ids.length, OUTBOX_IDS_MAX);
  return sql(
    `UPDATE sluice_outbox
SET claimed_by = NULL, claim_expires_at = NULL, last_error = COALESCE($3, last_error),
    claim_count = greatest(claim_count - $4::integer, 0)
WHERE id = ANY($2::bigint[]) AND claimed_by = $1 AND published_at IS NULL`,
    [relayId, ids, reason, attempted ? 0 : 1],
  );
}

/**
 * Ends the leases of relays known to be dead, so their rows can be claimed at once rather than when the leases run
 * out: those of relayId (an earlier life of a relay that restarted under the same identity) and, when keepOnly is
 * given, those of every relay not in it (the caller holds the database alone, so no other relay is alive).
 */
export function releaseDeadRelayLeases(relayId: string, keepOnly: readonly string[] | null): SqlStatement<never> {
  return sql(
    `UPDATE sluice_outbox
SET claimed_by = NULL, claim_expires_at = NULL
WHERE claimed_by IS NOT NULL AND published_at IS NULL
  AND (claimed_by = $1 OR ($2::boolean AND NOT claimed_by = ANY($3::text[])))`,
    [relayId, keepOnly !== null, keepOnly ?? []],
  );
}

/** Rows waiting to be published, how many of them a relay is publishing now, and the age of the oldest. */
export function selectOutboxLag(): SqlStatement<OutboxLagRow> {
  return sql(
    `SELECT count(*) AS waiting,
  count(*) FILTER (WHERE claim_expires_at > statement_timestamp()) AS in_flight,
  min(created_at) AS oldest_created_at,
  (EXTRACT(EPOCH FROM statement_timestamp() - min(created_at)) * 1000)::double precision AS oldest_age_ms
FROM sluice_outbox
WHERE published_at IS NULL`,
  );
}

/** Deletes up to limit rows published more than olderThanMs ago, oldest first; run it until it deletes nothing. */
export function deletePublishedOutboxRows(olderThanMs: number, limit: number): SqlStatement<never> {
  if (!Number.isFinite(olderThanMs) || olderThanMs < 0) {
    throw invalidArgument("olderThanMs", `must be a number of milliseconds >= 0, got ${String(olderThanMs)}`);
  }
  checkPositiveInteger("limit", limit, OUTBOX_IDS_MAX);
  return sql(
    `DELETE FROM sluice_outbox
WHERE id IN (
  SELECT id FROM sluice_outbox
  WHERE published_at < statement_timestamp() - $1::double precision * interval '1 millisecond'
  ORDER BY published_at
  LIMIT $2
)`,
    [olderThanMs, limit],
  );
}
