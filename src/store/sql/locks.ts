// Advisory locks. Each key is derived from a purpose and the schema, so two Sluice deployments sharing one
// database in different schemas never wait for each other.

import { createHash } from "node:crypto";

import { invalidArgument } from "../errors.js";
import { sql, type SqlStatement } from "./statement.js";

export type AdvisoryLockPurpose = "migrations" | "outbox-claims";

/** A signed 64-bit lock key, as a decimal string (it does not fit a JS number). */
export function advisoryLockKey(purpose: AdvisoryLockPurpose, schema: string): string {
  const digest = createHash("sha256").update(`sluice:${purpose}:${schema}`).digest();
  return digest.readBigInt64BE(0).toString();
}

export function tryAdvisoryLock(key: string): SqlStatement<{ locked: boolean }> {
  return sql("SELECT pg_try_advisory_lock($1::bigint) AS locked", [key]);
}

export function advisoryUnlock(key: string): SqlStatement<{ unlocked: boolean }> {
  return sql("SELECT pg_advisory_unlock($1::bigint) AS unlocked", [key]);
}

/**
 * Waits for a lock that is released when the current transaction ends. A statement for a script (exec), which takes
 * no parameters, so the key is written into the text; only a decimal integer is accepted.
 */
export function advisoryTransactionLockScript(key: string): string {
  if (!/^-?[0-9]{1,19}$/.test(key)) throw invalidArgument("key", `must be a signed 64-bit integer, got ${key}`);
  // Quoted, because a cast binds tighter than unary minus: -9223372036854775808::bigint would be out of range.
  return `SELECT pg_advisory_xact_lock('${key}'::bigint)`;
}
