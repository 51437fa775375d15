// Advisory locks. Each key is derived from a purpose and the schema, so two Sluice deployments sharing one
// database in different schemas never wait for each other.

import { createHash } from "node:crypto";

import { sql, type SqlStatement } from "./statement.js";

export type AdvisoryLockPurpose = "migrations";

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
