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
} from "./database-types.js";
import { closedError, transactionFinishedError, transactionRolledBackError } from "./errors.js";
import { quoteIdentifier, validateIdentifier, validateSchemaName } from "./identifiers.js";
import { deliverNotification } from "./notifications.js";
import { assertOutsideTransaction, runInTransactionScope } from "./transaction-scope.js";
import { PGLITE_VALUE_TYPES } from "./value-types.js";

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

/** What every view of one PGlite shares: the instance, whether it is closed, and the owner of its transactions. */
interface PgliteHost {
  readonly pglite: PGlite;
  /** The schema of the session's own search_path; views of other schemas set theirs per transaction. */
  readonly sessionSchema: string;
  readonly logger: StoreLogger;
  closed: boolean;
}

class PgliteDatabase implements Database {
  readonly kind = "pglite";
  readonly supportsListen = true;
  readonly #host: PgliteHost;
  /** SET LOCAL search_path for a view of another schema than the session's; null for the session's own. */
  readonly #searchPath: string | null;
  /** True for the database openPgliteDatabase returned, whose close() closes PGlite; false for its views. */
  readonly #ownsHost: boolean;
  #retired = false;

  constructor(
    host: PgliteHost,
    readonly schema: string,
    ownsHost: boolean,
  ) {
    this.#host = host;
    this.#ownsHost = ownsHost;
    this.#searchPath = schema === host.sessionSchema ? null : `SET LOCAL search_path TO ${quoteIdentifier(schema)}`;
  }

  async query<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<Row>> {
    this.#assertUsable("query()");
    const values = params === undefined ? [] : [...params];
    const { pglite } = this.#host;
    if (this.#searchPath === null) return toQueryResult(await pglite.query<Row>(sql, values));
    const searchPath = this.#searchPath;
    return pglite.transaction(async (transaction) => {
      await transaction.exec(searchPath);
      return toQueryResult(await transaction.query<Row>(sql, values));
    });
  }

  async exec(script: string): Promise<void> {
    this.#assertUsable("exec()");
    const { pglite } = this.#host;
    if (this.#searchPath === null) {
      await pglite.exec(script);
      return;
    }
    const searchPath = this.#searchPath;
    await pglite.transaction(async (transaction) => {
      await transaction.exec(searchPath);
      await transaction.exec(script);
    });
  }

  async transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T> {
    this.#assertUsable("transaction()");
    return this.#host.pglite.transaction(async (transaction) => {
      if (this.#searchPath !== null) await transaction.exec(this.#searchPath);
      const handle = new PgliteTransactionHandle(transaction);
      let result: T;
      try {
        // Every view shares the one session, so a call on any of them inside this transaction would wait forever.
        result = await runInTransactionScope([this.#host], () => work(handle));
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
    const { pglite, logger } = this.#host;
    const unlisten = await pglite.listen(channel, (payload) => deliverNotification(channel, payload, onNotify, logger));
    let listening = true;
    return async () => {
      if (!listening || this.#host.closed) return;
      listening = false;
      await unlisten();
    };
  }

  async withSession<T>(work: (session: DatabaseSession) => Promise<T>): Promise<T> {
    this.#assertUsable("withSession()");
    return work(this);
  }

  withSchema(schema: string): Database {
    if (this.#host.closed) throw closedError();
    return new PgliteDatabase(this.#host, validateSchemaName("schema", schema), false);
  }

  async close(): Promise<void> {
    const wasRetired = this.#retired;
    this.#retired = true;
    if (!this.#ownsHost || wasRetired || this.#host.closed) return;
    this.#host.closed = true;
    await this.#host.pglite.close();
  }

  #assertUsable(operation: string): void {
    if (this.#host.closed || this.#retired) throw closedError();
    assertOutsideTransaction(this.#host, operation);
  }
}

export async function openPgliteDatabase(options: ResolvedDatabaseOptions): Promise<Database> {
  if (options.dataDir !== null) await mkdir(options.dataDir, { recursive: true });
  const pglite = await PGlite.create({
    ...(options.dataDir === null ? {} : { dataDir: options.dataDir }),
    ...(options.pgliteSnapshot === null ? {} : { loadDataDir: options.pgliteSnapshot }),
    ...PGLITE_VALUE_TYPES,
  });
  try {
    // The schema may not exist yet (the migrations create it); PostgreSQL accepts such a search_path.
    await pglite.exec(`SET search_path TO ${quoteIdentifier(options.schema)}`);
  } catch (error) {
    await pglite.close();
    throw error;
  }
  options.logger.debug({ kind: "pglite", dataDir: options.dataDir, schema: options.schema }, "database opened");
  return new PgliteDatabase(
    { pglite, sessionSchema: options.schema, logger: options.logger, closed: false },
    options.schema,
    true,
  );
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
