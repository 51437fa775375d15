// What PGlite's two back ends share on the calling thread, whether PGlite runs there (pglite-database.ts) or in a
// worker thread (pglite-worker-database.ts): one session that every view shares, a view's search path set in each of
// its transactions, and a transaction handle that knows whether the transaction may be aborted.

import type { DatabaseSession, Queryable, QueryResult, StoreLogger } from "./database-types.js";
import { DatabaseView, type ViewHost } from "./database-view.js";
import { transactionFinishedError } from "./errors.js";
import { quoteIdentifier } from "./identifiers.js";
import { runInTransactionScope } from "./transaction-scope.js";

/** What every view of one PGlite shares, besides how it reaches PGlite. */
export interface PgliteViewHost extends ViewHost {
  /** The schema of the session's own search_path; views of other schemas set theirs per transaction. */
  readonly sessionSchema: string;
  readonly logger: StoreLogger;
}

export abstract class PgliteView<Host extends PgliteViewHost> extends DatabaseView<Host> {
  readonly kind = "pglite";
  /** SET LOCAL search_path for a view of another schema than the session's; null for the session's own. */
  protected readonly searchPath: string | null;

  constructor(host: Host, schema: string, ownsHost: boolean) {
    super(host, schema, ownsHost);
    this.searchPath = schema === host.sessionSchema ? null : `SET LOCAL search_path TO ${quoteIdentifier(schema)}`;
  }

  async withSession<T>(work: (session: DatabaseSession) => Promise<T>): Promise<T> {
    this.assertUsable("withSession()");
    return work(this);
  }

  /** Every view shares the one session, so a call on any of them inside a transaction would wait forever. */
  protected get nestingOwner(): object {
    return this.host;
  }

  /** Runs a transaction's work with every view of the session refused inside it; the handle is finished after. */
  protected async runWork<T>(handle: PgliteTransactionHandle, work: (tx: Queryable) => Promise<T>): Promise<T> {
    try {
      return await runInTransactionScope([this.host], () => work(handle));
    } finally {
      handle.finish();
    }
  }
}

/** A transaction's statements, refused once it has ended; subclasses run each through track(). */
export abstract class PgliteTransactionHandle implements Queryable {
  #finished = false;
  #failed = false;
  #running = 0;

  /** Whether a statement failed, or one is still running, which the work did not await and which may yet fail. */
  get mayBeAborted(): boolean {
    return this.#failed || this.#running > 0;
  }

  abstract query<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<Row>>;
  abstract exec(script: string): Promise<void>;

  finish(): void {
    this.#finished = true;
  }

  protected async track<T>(statement: () => Promise<T>): Promise<T> {
    if (this.#finished) throw transactionFinishedError();
    this.#running += 1;
    try {
      return await statement();
    } catch (error) {
      this.#failed = true;
      throw error;
    } finally {
      this.#running -= 1;
    }
  }
}
