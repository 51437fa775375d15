// Who holds the outbox relay back: the session of a PostgreSQL server's database with the oldest transaction still
// running (see "Commit order" in sql/outbox-cursor.ts), for the relay's warning.

import type { Queryable } from "./database.js";
import * as outboxSql from "./sql/outbox.js";
import { execute } from "./sql/statement.js";

/** The session whose transaction holds the outbox relay back (see findOutboxHolder). */
export interface OutboxHolder {
  pid: number;
  applicationName: string;
  user: string | null;
  /** pg_stat_activity's state: "idle in transaction" for a session that forgot to commit. */
  state: string | null;
  /** Its transaction's id (32 bits, as pg_stat_activity shows it). */
  xid: string;
  /** How long its transaction has been open. */
  transactionAgeMs: number | null;
  /** How long it has been in its state (for "idle in transaction", since its last statement). */
  stateAgeMs: number | null;
  /** The start of its last or current statement, up to OUTBOX_HOLDER_QUERY_CHARS_MAX characters. */
  query: string | null;
}

/**
 * The session of this database (a PostgreSQL server's) with the oldest transaction still running, which holds the
 * outbox relay back; null when none is visible (none runs, or the caller may not see other roles' sessions).
 */
export async function findOutboxHolder(target: Queryable): Promise<OutboxHolder | null> {
  const row = (await execute(target, outboxSql.findOutboxHolder())).rows[0];
  if (row === undefined) return null;
  return {
    pid: row.pid,
    applicationName: row.application_name,
    user: row.usename,
    state: row.state,
    xid: row.backend_xid,
    transactionAgeMs: row.xact_age_ms === null ? null : Math.round(row.xact_age_ms),
    stateAgeMs: row.state_age_ms === null ? null : Math.round(row.state_age_ms),
    query: row.query,
  };
}
