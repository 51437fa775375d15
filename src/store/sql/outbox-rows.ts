// The outbox's rows as its statements see them: the limits on what one statement may carry, the row types, and the
// argument checks the statements share.

import { invalidArgument } from "../errors.js";

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

export function checkPosition(position: OutboxPosition): void {
  if (typeof position !== "object" || position === null || !/^[0-9]{1,20}$/.test(position.xid)) {
    throw invalidArgument("position.xid", "must be a transaction id as decimal text");
  }
  if (!Number.isSafeInteger(position.id) || position.id < 0) {
    throw invalidArgument("position.id", `must be a row id, got ${String(position.id)}`);
  }
}

export function checkLeaseMs(leaseMs: number): void {
  checkPositiveInteger("leaseMs", leaseMs, 24 * 60 * 60 * 1000);
}

export function checkCount(field: string, count: number, max: number): void {
  if (count < 1 || count > max) throw invalidArgument(field, `must hold 1 to ${max} items, got ${count}`);
}

export function checkPositiveInteger(field: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw invalidArgument(field, `must be an integer from 1 to ${max}, got ${String(value)}`);
  }
}
