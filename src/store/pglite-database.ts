// The Database interface over PGlite: PostgreSQL compiled to WebAssembly, running inside this process with one
// session. PGlite runs statements and transactions one at a time, so this adapter adds no locking of its own.

import { mkdir } from "node:fs/promises";

import { PGlite, type Results, type Transaction } from "@electric-sql/pglite";

import type {
  Database,
  DatabaseSession,
  Queryable,
  QueryResult,
  ResolvedDatabaseOptions,
  StoreLogger,
} from "./database.js";
import { closedError, transactionFinishedError, transactionRolledBackError } from "./errors.js";
import { quoteIdentifier, validateIdentifier } from "./identifiers.js";
import { deliverNotification } from "./notifications.js";
import { assertOutsideTransaction, runInTransactionScope } from "./transaction-scope.js";
import { BYTEA_OID, INT8_ARRAY_OID, INT8_OID, parseByteaHex, parseInt8, parseInt8Array } from "./value-types.js";

function toQueryResult<Row>(result: Results<Row>): QueryResult<Row> {
  return { rows: result.rows, rowCount: result.rowCount ?? result.affectedRows ?? result.rows.length };
}

class PgliteTransactionHandle implements Queryable {
  #finished = false;
  /**
   * Whether the transaction may be aborted: a statement failed (unless a savepoint was rolled back after it), or one
   * is still running, which the work did not await and which may yet fail.
   */
  get mayBeAborted(): boolean {
    return this.#failed || this.#running > 0;
  }
  #failed = false;
  #running = 0;

  constructor(private readonly transaction: Transaction) {}

  async query<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<Row>> {
    if (this.#finished) throw transactionFinishedError();
    this.#running += 1;
    try {
      return toQueryResult(await this.transaction.query<Row>(sql, params === undefined ? [] : [...params]));
    } catch (error) {
      this.#failed = true;
      throw error;
    } finally {
      this.#running -= 1;
    }
  }

  async exec(script: string): Promise<void> {
    if (this.#finished) throw transactionFinishedError();
    this.#running += 1;
    try {
      await this.transaction.exec(script);
    } catch (error) {
      this.#failed = true;
      throw error;
    } finally {
      this.#running -= 1;
    }
  }

  finish(): void {
    this.#finished = true;
  }
}

class PgliteDatabase implements Database {
  readonly kind = "pglite";
  readonly supportsListen = true;
  #closed = false;

  constructor(
    private readonly pglite: PGlite,
    readonly schema: string,
    private readonly logger: StoreLogger,
  ) {}

  async query<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<Row>> {
    this.#assertUsable("query()");
    return toQueryResult(await this.pglite.query<Row>(sql, params === undefined ? [] : [...params]));
  }

  async exec(script: string): Promise<void> {
    this.#assertUsable("exec()");
    await this.pglite.exec(script);
  }

  async transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T> {
    this.#assertUsable("transaction()");
    return this.pglite.transaction(async (transaction) => {
      const handle = new PgliteTransactionHandle(transaction);
      let result: T;
      try {
        result = await runInTransactionScope([this], () => work(handle));
      } finally {
        handle.finish();
      }
      // PGlite commits on its own and does not say that the COMMIT of an aborted transaction rolled back, so a
      // transaction that may be aborted is asked first: a statement after a failed one fails (25P02), and nothing
      // gets committed. One where every statement succeeded cannot be aborted, and is spared the statement.
      if (!handle.mayBeAborted) return result;
      try {
        await transaction.query("SELECT 1");
      } catch (error) {
        throw transactionRolledBackError(error);
      }
      return result;
    });
  }

  async listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>> {
    this.#assertUsable("listen()");
    validateIdentifier("channel", channel);
    const unlisten = await this.pglite.listen(channel, (payload) =>
      deliverNotification(channel, payload, onNotify, this.logger),
    );
    let listening = true;
    return async () => {
      if (!listening || this.#closed) return;
      listening = false;
      await unlisten();
    };
  }

  async withSession<T>(work: (session: DatabaseSession) => Promise<T>): Promise<T> {
    this.#assertUsable("withSession()");
    return work(this);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.pglite.close();
  }

  #assertUsable(operation: string): void {
    if (this.#closed) throw closedError();
    assertOutsideTransaction(this, operation);
  }
}

export async function openPgliteDatabase(options: ResolvedDatabaseOptions): Promise<Database> {
  if (options.dataDir !== null) await mkdir(options.dataDir, { recursive: true });
  const pglite = await PGlite.create({
    ...(options.dataDir === null ? {} : { dataDir: options.dataDir }),
    ...(options.pgliteSnapshot === null ? {} : { loadDataDir: options.pgliteSnapshot }),
    parsers: { [INT8_OID]: parseInt8, [INT8_ARRAY_OID]: parseInt8Array, [BYTEA_OID]: parseByteaHex },
  });
  try {
    // The schema may not exist yet (the migrations create it); PostgreSQL accepts such a search_path.
    await pglite.exec(`SET search_path TO ${quoteIdentifier(options.schema)}`);
  } catch (error) {
    await pglite.close();
    throw error;
  }
  options.logger.debug({ kind: "pglite", dataDir: options.dataDir, schema: options.schema }, "database opened");
  return new PgliteDatabase(pglite, options.schema, options.logger);
}

/**
 * A blank PGlite cluster as an uncompressed tarball, for openDatabase's pgliteSnapshot option: each database opened
 * from it starts in memory without running initdb, which takes most of PGlite's start-up time.
 */
export async function createPgliteSnapshot(): Promise<Blob> {
  const pglite = await PGlite.create();
  try {
    return await pglite.dumpDataDir("none");
  } finally {
    await pglite.close();
  }
}
