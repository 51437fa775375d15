// The messages between PGlite's worker thread (pglite-worker.ts) and the Database that drives it
// (pglite-worker-database.ts). Every request carries an id that its one reply repeats; statements of one transaction
// carry its transaction id, and the worker runs them inside that transaction, in the order they were sent.

/** What the thread needs to open PGlite: the same options as the in-thread back end. */
export interface PgliteWorkerData {
  dataDir: string | null;
  /** The bytes of a createPgliteSnapshot() Blob, copied in. */
  snapshot: ArrayBuffer | null;
  schema: string;
  /** PGlite's WebAssembly, compiled once by the opening thread, which every worker would otherwise compile again. */
  pgliteWasmModule: WebAssembly.Module;
  initdbWasmModule: WebAssembly.Module;
}

/** Where a statement runs: outside any transaction (null) or inside the one with this id. */
export type TransactionId = number | null;

export type PgliteWorkerRequest =
  | {
      kind: "query";
      id: number;
      transactionId: TransactionId;
      /** SET LOCAL search_path for a view of another schema, run first in a new transaction; else null. */
      searchPath: string | null;
      sql: string;
      params: unknown[];
    }
  | { kind: "exec"; id: number; transactionId: TransactionId; searchPath: string | null; script: string }
  /**
   * Ends a transaction: rolls it back, or commits it, first running a statement when it may be aborted (PGlite does
   * not say that the COMMIT of an aborted transaction rolled back). A transaction that ran no statement was never
   * begun in the worker, which then has nothing to do.
   */
  | { kind: "end"; id: number; transactionId: number; commit: boolean; checkAborted: boolean }
  | { kind: "listen"; id: number; listenId: number; channel: string }
  | { kind: "unlisten"; id: number; listenId: number }
  | { kind: "close"; id: number };

/** A PostgreSQL error as plain data: its message and its fields (code, detail, constraint…). */
export interface SerializedError {
  name: string;
  message: string;
  fields: Record<string, string | number>;
}

export interface WorkerQueryResult {
  rows: Record<string, unknown>[];
  rowCount: number;
  /** The columns that hold bytea values (or arrays of them), which arrive as Uint8Array and become Buffers again. */
  byteaColumns: string[];
}

export type PgliteWorkerReply =
  | { kind: "opened"; id: 0 }
  | { kind: "ok"; id: number; result?: WorkerQueryResult }
  /** rolledBack: the failure was the aborted-transaction check at commit, and the transaction rolled back. */
  | { kind: "failed"; id: number; error: SerializedError; rolledBack?: boolean }
  | { kind: "notification"; listenId: number; payload: string };

/** The id of the "opened" reply (or the "failed" one) that the thread sends once PGlite has started, or has not. */
export const OPEN_REQUEST_ID = 0;

export function serializeError(error: unknown): SerializedError {
  if (!(error instanceof Error)) return { name: "Error", message: String(error), fields: {} };
  const fields: Record<string, string | number> = {};
  for (const [key, value] of Object.entries(error)) {
    // The failed statement's parameters may be anything; the text and PostgreSQL's fields are strings and numbers.
    if (key !== "params" && (typeof value === "string" || typeof value === "number")) fields[key] = value;
  }
  return { name: error.name, message: error.message, fields };
}

/** An Error with the fields PGlite's own had, so that callers see the same code, detail and constraint. */
export function deserializeError(serialized: SerializedError): Error {
  const error = new Error(serialized.message);
  Object.assign(error, serialized.fields);
  error.name = serialized.name;
  return error;
}
