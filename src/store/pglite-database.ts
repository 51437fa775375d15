// The Database interface over PGlite: PostgreSQL compiled to WebAssembly, running inside this process with one
// session. PGlite runs statements and transactions one at a time, so this adapter adds no locking of its own.

import { PGlite, type Results, type Transaction } from "@electric-sql/pglite";

import type { Database, Queryable, QueryResult, ResolvedDatabaseOptions } from "./database-types.js";
import { transactionRolledBackError } from "./errors.js";
import { deliverNotification } from "./notifications.js";
import { assertNotAborted, openPglite, rowCountOf, runWithSearchPath } from "./pglite-instance.js";
import { PgliteTransactionHandle, PgliteView, type PgliteViewHost } from "./pglite-view.js";

function toQueryResult<Row>(result: Results<Row>): QueryResult<Row> {
  return { rows: result.rows, rowCount: rowCountOf(result) };
}

class InThreadTransactionHandle extends PgliteTransactionHandle {
  constructor(private readonly transaction: Transaction) {
    super();
  }

  async query<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<Row>> {
    return toQueryResult(
      await this.track(() => this.transaction.query<Row>(sql, params === undefined ? [] : [...params])),
    );
  }

  async exec(script: string): Promise<void> {
    await this.track(() => this.transaction.exec(script));
  }
}

/** What every view of one PGlite on this thread shares: PGlite itself, besides what every PGlite view shares. */
interface PgliteHost extends PgliteViewHost {
  readonly pglite: PGlite;
}

class PgliteDatabase extends PgliteView<PgliteHost> {
  async query<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<Row>> {
    this.assertUsable("query()");
    const values = params === undefined ? [] : [...params];
    return toQueryResult(
      await runWithSearchPath(this.host.pglite, this.searchPath, (target) => target.query<Row>(sql, values)),
    );
  }

  async exec(script: string): Promise<void> {
    this.assertUsable("exec()");
    await runWithSearchPath(this.host.pglite, this.searchPath, (target) => target.exec(script));
  }

  async transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T> {
    this.assertUsable("transaction()");
    return this.host.pglite.transaction(async (transaction) => {
      if (this.searchPath !== null) await transaction.exec(this.searchPath);
      const handle = new InThreadTransactionHandle(transaction);
      const result = await this.runWork(handle, work);
      if (!handle.mayBeAborted) return result;
      try {
        await assertNotAborted(transaction);
      } catch (error) {
        throw transactionRolledBackError(error);
      }
      return result;
    });
  }

  protected async subscribe(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>> {
    const { pglite, logger } = this.host;
    const unlisten = await pglite.listen(channel, (payload) => deliverNotification(channel, payload, onNotify, logger));
    let listening = true;
    return async () => {
      if (!listening || this.host.closed) return;
      listening = false;
      await unlisten();
    };
  }

  protected view(schema: string): Database {
    return new PgliteDatabase(this.host, schema, false);
  }

  protected async closeHost(): Promise<void> {
    await this.host.pglite.close();
  }
}

export async function openPgliteDatabase(options: ResolvedDatabaseOptions): Promise<Database> {
  const pglite = await openPglite({
    dataDir: options.dataDir,
    snapshot: options.pgliteSnapshot,
    schema: options.schema,
  });
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
