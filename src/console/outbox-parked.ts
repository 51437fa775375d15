// The outbox rows the relay parked (the broker refused them for good), per schema: listing them, and requeueing them,
// all or chosen ones, with the store's requeueParkedOutbox once their cause is fixed. The console's outbox page and
// `sluice outbox` (against DATABASE_URL) share these.

import type { Database } from "../store/database.js";
import { quoteIdentifier } from "../store/identifiers.js";
import { outboxSql, requeueParkedOutbox } from "../store/index.js";

/** Parked rows listed per schema at most; the rest are counted. */
export const PARKED_ROWS_LISTED_MAX = 100;
/** Rows one requeue sends again at most: the ids given, or the oldest of "all". */
export const REQUEUE_ROWS_MAX = outboxSql.OUTBOX_IDS_MAX;
/** Schemas inspected at most; a database with more lists the first by name. */
export const SCHEMAS_MAX = 100;

export async function schemasWith(database: Database, table: string): Promise<string[]> {
  const result = await database.query<{ table_schema: string }>(
    "SELECT table_schema FROM information_schema.tables WHERE table_name = $1 ORDER BY table_schema LIMIT $2",
    [table, SCHEMAS_MAX],
  );
  return result.rows.map((row) => row.table_schema);
}

/** Whether a schema has an outbox, and whether it has parked rows (migration 0006), in one query. */
async function outboxColumns(database: Database, schema: string): Promise<{ outbox: boolean; parked: boolean }> {
  const result = await database.query<{ column_name: string }>(
    `SELECT column_name FROM information_schema.columns
     WHERE table_schema = $1 AND table_name = 'sluice_outbox' AND column_name IN ('id', 'parked_at')`,
    [schema],
  );
  const names = new Set(result.rows.map((row) => row.column_name));
  return { outbox: names.has("id"), parked: names.has("parked_at") };
}

/** Whether a schema has an outbox. */
export async function hasOutbox(database: Database, schema: string): Promise<boolean> {
  return (await outboxColumns(database, schema)).outbox;
}

export const iso = (value: unknown): string | null =>
  value instanceof Date ? value.toISOString() : value === null ? null : String(value);

export interface ParkedRowView {
  id: number;
  eventId: string;
  topic: string;
  parkedAt: string | null;
  failedAttempts: number;
  lastError: string | null;
}

/** The rows the relay parked (the broker refused them for good), oldest first, and how many there are. */
export async function parkedRows(
  database: Database,
  schema: string,
  limit = PARKED_ROWS_LISTED_MAX,
): Promise<{ count: number; rows: ParkedRowView[] }> {
  // A service not upgraded to migration 0006 yet has no parked rows.
  if (!(await outboxColumns(database, schema)).parked) return { count: 0, rows: [] };
  const result = await database.query<{
    id: string;
    event_id: string;
    topic: string;
    parked_at: Date;
    failed_attempts: number;
    last_error: string | null;
    total: string;
  }>(
    `SELECT id::text, event_id::text, topic, parked_at, failed_attempts, last_error, count(*) OVER ()::text AS total
     FROM ${quoteIdentifier(schema)}.sluice_outbox WHERE parked_at IS NOT NULL ORDER BY id LIMIT $1`,
    [limit],
  );
  return {
    count: Number(result.rows[0]?.total ?? 0),
    rows: result.rows.map((row) => ({
      id: Number(row.id),
      eventId: row.event_id,
      topic: row.topic,
      parkedAt: iso(row.parked_at),
      failedAttempts: row.failed_attempts,
      lastError: row.last_error,
    })),
  };
}

/** Which parked rows to requeue: these ids, or every one (the oldest REQUEUE_ROWS_MAX). */
export type RequeueSelection = { ids: readonly number[] } | { all: true };

export interface RequeueReport {
  schema: string;
  /** Rows sent again: each was added anew after the cursor, with its event id, and its parked row deleted. */
  requeued: number;
  /** The new rows' ids. */
  newIds: number[];
  /** Ids given that were not parked rows (already requeued, or no such row). */
  notParked: number;
  /** Rows still parked after the requeue. */
  stillParked: number;
}

/**
 * Requeues a schema's parked rows; null when the schema has no outbox. Three statements: one looks the outbox's
 * columns up, one requeues and one counts what stays parked (the store's requeueParkedOutbox); no row is read into
 * memory.
 */
export async function requeueParked(
  database: Database,
  schema: string,
  selection: RequeueSelection,
): Promise<RequeueReport | null> {
  const columns = await outboxColumns(database, schema);
  if (!columns.outbox) return null;
  // An id given twice counts once: it is either parked or not.
  const ids = "ids" in selection ? [...new Set(selection.ids)] : null;
  if (!columns.parked) return { schema, requeued: 0, newIds: [], notParked: ids?.length ?? 0, stillParked: 0 };
  const { newIds, stillParked } = await requeueParkedOutbox(
    database.withSchema(schema),
    ids === null ? { oldest: REQUEUE_ROWS_MAX } : { ids },
  );
  return {
    schema,
    requeued: newIds.length,
    newIds,
    notParked: ids === null ? 0 : ids.length - newIds.length,
    stillParked,
  };
}
