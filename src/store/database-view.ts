// What the three back ends share as a Database: each is a view of one schema over a host (PGlite's session on this
// thread, PGlite's worker thread, or a server's pool) that every view of it shares. Closing a view retires that view
// alone; closing the database the host was opened with closes the host, and with it every view.

import type { Database, DatabaseKind, DatabaseSession, Queryable, QueryResult } from "./database-types.js";
import { closedError } from "./errors.js";
import { validateIdentifier, validateSchemaName } from "./identifiers.js";
import { assertOutsideTransaction } from "./transaction-scope.js";

/** What every view of one database shares. */
export interface ViewHost {
  closed: boolean;
  /** Why the host stopped without being closed (PGlite's worker thread crashed); absent or null while it works. */
  readonly failure?: Error | null;
}

export abstract class DatabaseView<Host extends ViewHost> implements Database {
  abstract readonly kind: DatabaseKind;
  readonly supportsListen = true;
  protected readonly host: Host;
  /** True for the database that its back end's open function returned, whose close() closes the host. */
  readonly #ownsHost: boolean;
  #retired = false;

  constructor(
    host: Host,
    readonly schema: string,
    ownsHost: boolean,
  ) {
    this.host = host;
    this.#ownsHost = ownsHost;
  }

  abstract query<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<Row>>;
  abstract exec(script: string): Promise<void>;
  abstract transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T>;
  abstract withSession<T>(work: (session: DatabaseSession) => Promise<T>): Promise<T>;

  async listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>> {
    this.assertUsable("listen()");
    validateIdentifier("channel", channel);
    return this.subscribe(channel, onNotify);
  }

  withSchema(schema: string): Database {
    if (this.host.closed) throw closedError();
    return this.view(validateSchemaName("schema", schema));
  }

  async close(): Promise<void> {
    const wasRetired = this.#retired;
    this.#retired = true;
    if (!this.#ownsHost || wasRetired || this.host.closed) return;
    this.host.closed = true;
    await this.closeHost();
  }

  /** Refuses a call on a retired view, a closed or failed host, or inside a transaction of nestingOwner. */
  protected assertUsable(operation: string): void {
    const host = this.host;
    if (host.closed || this.#retired) throw closedError();
    if (host.failure !== undefined && host.failure !== null) throw host.failure;
    assertOutsideTransaction(this.nestingOwner, operation);
  }

  /** Whose open transactions a call on this view is refused inside (see transaction-scope.ts). */
  protected abstract get nestingOwner(): object;

  /** A view of the same host for another (validated) schema. */
  protected abstract view(schema: string): Database;

  /** listen() once the view is usable and the channel a valid name. */
  protected abstract subscribe(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>>;

  /** Closes what the host holds; run once, by the database that owns the host, after host.closed is set. */
  protected abstract closeHost(): Promise<void>;
}
