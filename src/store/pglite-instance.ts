// PGlite itself, as both of its back ends run it: on the calling thread (pglite-database.ts) and in a worker thread
// (pglite-worker.ts). Opening it, a view's search path, a result's row count and the check at the end of a
// transaction are written once here, so that the two cannot drift apart.

import { mkdir } from "node:fs/promises";

import { PGlite, type PGliteOptions, type Results, type Transaction } from "@electric-sql/pglite";

import { quoteIdentifier } from "./identifiers.js";
import { PGLITE_VALUE_TYPES } from "./value-types.js";

export interface PgliteOpenOptions {
  /** The data directory, created when missing; null keeps the database in memory. */
  dataDir: string | null;
  /** A createPgliteSnapshot() cluster to start from, which skips initdb; null runs initdb. */
  snapshot: Blob | null;
  /** The session's search_path. */
  schema: string;
  /** PGlite's WebAssembly, compiled already; without it PGlite compiles its own. */
  modules?: Pick<PGliteOptions, "pgliteWasmModule" | "initdbWasmModule">;
}

export async function openPglite(options: PgliteOpenOptions): Promise<PGlite> {
  const { dataDir, snapshot } = options;
  if (dataDir !== null) await mkdir(dataDir, { recursive: true });
  const pglite = await PGlite.create({
    ...(dataDir === null ? {} : { dataDir }),
    ...(snapshot === null ? {} : { loadDataDir: snapshot }),
    ...options.modules,
    ...PGLITE_VALUE_TYPES,
  });
  try {
    // The schema may not exist yet (the migrations create it); PostgreSQL accepts such a search_path.
    await pglite.exec(`SET search_path TO ${quoteIdentifier(options.schema)}`);
  } catch (error) {
    await pglite.close();
    throw error;
  }
  return pglite;
}

/**
 * Runs a statement outside any transaction: on the session, or for a view of another schema (searchPath, its SET
 * LOCAL search_path) in a transaction of its own that sets the view's search path first.
 */
export async function runWithSearchPath<T>(
  pglite: PGlite,
  searchPath: string | null,
  statement: (target: PGlite | Transaction) => Promise<T>,
): Promise<T> {
  if (searchPath === null) return statement(pglite);
  return pglite.transaction(async (transaction) => {
    await transaction.exec(searchPath);
    return statement(transaction);
  });
}

/** Rows returned by a SELECT, or rows changed by INSERT, UPDATE or DELETE. */
export function rowCountOf(result: Results<unknown>): number {
  return result.rowCount ?? result.affectedRows ?? result.rows.length;
}

/**
 * Fails (25P02) when the transaction is aborted. PGlite commits on its own and does not say that the COMMIT of an
 * aborted transaction rolled back, so a transaction that may be aborted is asked before it commits: a statement after
 * a failed one fails, and then nothing gets committed. One where every statement succeeded cannot be aborted, and is
 * spared the statement.
 */
export async function assertNotAborted(transaction: Transaction): Promise<void> {
  await transaction.query("SELECT 1");
}
