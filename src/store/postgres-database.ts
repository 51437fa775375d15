// The Database interface over a PostgreSQL server, through a `pg` connection pool.

import type { Writable } from "node:stream";

import pg from "pg";

import type { Database, DatabaseSession, Queryable, QueryResult, ResolvedDatabaseOptions } from "./database-types.js";
import { DatabaseView } from "./database-view.js";
import { StoreError, StoreErrorCode, transactionFinishedError, transactionRolledBackError } from "./errors.js";
import { quoteIdentifier } from "./identifiers.js";
import { PostgresListener } from "./postgres-listener.js";
import { PreparedStatements } from "./prepared-statements.js";
import { assertOutsideTransaction, runInTransactionScope } from "./transaction-scope.js";
import { INT8_ARRAY_OID, INT8_OID, parseInt8, parseInt8Array } from "./value-types.js";

function toQueryResult<Row>(result: pg.QueryResult): QueryResult<Row> {
  return { rows: result.rows as Row[], rowCount: result.rowCount ?? result.rows.length };
}

const getTypeParser = ((oid: number, format?: "text" | "binary") => {
  if (format !== "binary" && oid === INT8_OID) return parseInt8;
  if (format !== "binary" && oid === INT8_ARRAY_OID) return parseInt8Array;
  return pg.types.getTypeParser(oid, format);
}) as typeof pg.types.getTypeParser;

/** The URL with its password hidden, for messages and logs. */
export function redactDatabaseUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== "") parsed.password = "****";
    return parsed.toString();
  } catch {
    return "(unparseable database URL)";
  }
}

/**
 * Sends one statement on client and resolves to pg's result. The Query is built from the text, not from a config
 * object, and submitted as it is: given a config object, pg copies it property by property and wraps its answer in
 * two promises of its own, which on a consumer running a handler's INSERT per event was a tenth of pg's share of the
 * process's time.
 */
function submitStatement(
  client: pg.PoolClient,
  sql: string,
  params: readonly unknown[] | undefined,
  name: string | undefined,
): Promise<pg.QueryResult> {
  return new Promise((resolve, reject) => {
    const query = new pg.Query(sql, (params ?? []) as unknown[], (error, result) => {
      if (error) reject(error);
      else resolve(result as unknown as pg.QueryResult);
    });
    // The fields a config object would have set; pg reads them when it submits the query.
    const fields = query as unknown as { queryMode: "extended"; name?: string };
    fields.queryMode = "extended";
    if (name !== undefined) fields.name = name;
    client.query(query);
  });
}

/**
 * Runs one statement with the extended protocol, which (like PGlite's query) accepts exactly one statement; pg
 * would otherwise send a query without parameters as a simple query, where several statements are allowed. A
 * statement that runs often is prepared (see prepared-statements.ts).
 */
async function runStatement<Row>(
  client: pg.PoolClient,
  prepared: PreparedStatements,
  sql: string,
  params: readonly unknown[] | undefined,
): Promise<QueryResult<Row>> {
  const name = prepared.nameFor(sql);
  let result: pg.QueryResult;
  try {
    result = await submitStatement(client, sql, params, name);
  } catch (error) {
    if (name !== undefined) prepared.noteFailure(sql, error);
    // The stack pg's error carries leads to the socket's read; this one leads back to the statement's caller.
    if (error instanceof Error) Error.captureStackTrace(error);
    throw error;
  }
  if (name === undefined) prepared.noteRun(sql, result.fields.length);
  return toQueryResult(result);
}

/** The connections whose socket is corked until the statements issued at this moment have all been written. */
const corkedClients = new WeakSet<pg.PoolClient>();

/**
 * Holds the connection's writes back until this turn's promise reactions have run, so that statements issued
 * together (pipelined, see openPostgresDatabase) leave in one socket write instead of one each: on a local server
 * a write was a third of a busy consumer's CPU. A statement issued alone leaves at the end of the same turn.
 */
function coalesceWrites(client: pg.PoolClient): void {
  if (corkedClients.has(client)) return;
  const stream = (client as unknown as { connection?: { stream?: Partial<Pick<Writable, "cork" | "uncork">> } })
    .connection?.stream;
  if (typeof stream?.cork !== "function" || typeof stream.uncork !== "function") return;
  const socket = stream as Pick<Writable, "cork" | "uncork">;
  corkedClients.add(client);
  socket.cork();
  process.nextTick(() => {
    corkedClients.delete(client);
    socket.uncork();
  });
}

class ClientQueryable implements Queryable {
  #finished = false;

  constructor(
    private readonly client: pg.PoolClient,
    private readonly prepared: PreparedStatements,
  ) {}

  async query<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<Row>> {
    if (this.#finished) throw transactionFinishedError();
    coalesceWrites(this.client);
    return runStatement<Row>(this.client, this.prepared, sql, params);
  }

  async exec(script: string): Promise<void> {
    if (this.#finished) throw transactionFinishedError();
    await this.client.query(script);
  }

  finish(): void {
    this.#finished = true;
  }
}

/**
 * Runs work in a transaction on client. Returns the result, or throws the work's error (or transactionRolledBackError
 * when the work carried on after a failed statement); reports through onBrokenConnection when ROLLBACK itself
 * failed, so the caller discards the connection instead of reusing it.
 */
async function runClientTransaction<T>(
  client: pg.PoolClient,
  prepared: PreparedStatements,
  owners: readonly object[] | null,
  work: (tx: Queryable) => Promise<T>,
  onBrokenConnection: (error: Error) => void,
): Promise<T> {
  // BEGIN leaves in the same socket write as the work's first statements (the connection pipelines them) rather
  // than a round trip ahead of them: a socket write and a wake-up of the server fewer per transaction, which a busy
  // consumer runs per group of events. On a connection idle between transactions BEGIN fails only when the
  // connection does, and then so does every statement behind it; its failure is still the transaction's.
  coalesceWrites(client);
  const begun = client.query("BEGIN");
  const handle = new ClientQueryable(client, prepared);
  let result: T;
  let commit: pg.QueryResult;
  try {
    const working = (async () =>
      owners === null ? work(handle) : runInTransactionScope(owners, () => work(handle)))();
    // Both settle before the outcome counts: a failed BEGIN goes first, and the work is never left running.
    const [beginOutcome, workOutcome] = await Promise.allSettled([begun, working]);
    if (beginOutcome.status === "rejected") throw beginOutcome.reason;
    if (workOutcome.status === "rejected") throw workOutcome.reason;
    result = workOutcome.value;
    handle.finish();
    commit = await client.query("COMMIT");
  } catch (error) {
    handle.finish();
    try {
      await client.query("ROLLBACK");
    } catch (rollbackError) {
      onBrokenConnection(rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError)));
    }
    throw error;
  }
  // COMMIT of a transaction aborted by a failed statement that the work caught succeeds with the tag ROLLBACK.
  if (commit.command === "ROLLBACK") throw transactionRolledBackError();
  return result;
}

class PostgresSession implements DatabaseSession {
  readonly #queryable: ClientQueryable;
  brokenBy: Error | null = null;

  constructor(
    private readonly client: pg.PoolClient,
    private readonly database: object,
    private readonly detectNestedUse: boolean,
    private readonly prepared: PreparedStatements,
  ) {
    this.#queryable = new ClientQueryable(client, prepared);
  }

  query<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<Row>> {
    assertOutsideTransaction(this, "session query()");
    return this.#queryable.query<Row>(sql, params);
  }

  exec(script: string): Promise<void> {
    assertOutsideTransaction(this, "session exec()");
    return this.#queryable.exec(script);
  }

  transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T> {
    assertOutsideTransaction(this, "session transaction()");
    const owners = this.detectNestedUse ? [this.database, this] : null;
    return runClientTransaction(this.client, this.prepared, owners, work, (error) => {
      this.brokenBy = error;
    });
  }

  finish(): void {
    this.#queryable.finish();
  }
}

/** What every view of one server database shares: the pool, its prepared statements, the listener, closing. */
interface PostgresHost {
  readonly pool: pg.Pool;
  readonly listenerConfig: pg.ClientConfig;
  readonly options: ResolvedDatabaseOptions;
  readonly prepared: PreparedStatements;
  /** The search_path of each pooled connection this database has used (listed connections have an error listener). */
  readonly connectionSchemas: WeakMap<pg.PoolClient, string>;
  listener: PostgresListener | null;
  closed: boolean;
}

class PostgresDatabase extends DatabaseView<PostgresHost> {
  readonly kind = "postgres";

  async query<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<Row>> {
    this.assertUsable("query()");
    const client = await this.#checkout();
    let failed: Error | undefined;
    try {
      return await runStatement<Row>(client, this.host.prepared, sql, params);
    } catch (error) {
      // A connection whose statement failed for a reason other than the statement may be broken; pg tells by
      // ending it, and a plain statement error leaves it usable.
      failed = isConnectionError(error) ? (error as Error) : undefined;
      throw error;
    } finally {
      client.release(failed);
    }
  }

  async exec(script: string): Promise<void> {
    this.assertUsable("exec()");
    const client = await this.#checkout();
    let failed: Error | undefined;
    try {
      await client.query(script);
    } catch (error) {
      failed = isConnectionError(error) ? (error as Error) : undefined;
      throw error;
    } finally {
      client.release(failed);
    }
  }

  async transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T> {
    this.assertUsable("transaction()");
    const client = await this.#checkout();
    let brokenBy: Error | null = null;
    try {
      const owners = this.host.options.detectNestedUse ? [this] : null;
      return await runClientTransaction(client, this.host.prepared, owners, work, (error) => {
        brokenBy = error;
      });
    } finally {
      client.release(brokenBy ?? undefined);
    }
  }

  protected async subscribe(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>> {
    const host = this.host;
    host.listener ??= new PostgresListener(
      host.listenerConfig,
      host.options.listenReconnectDelayMsMax,
      host.options.logger,
    );
    return host.listener.subscribe(channel, onNotify);
  }

  async withSession<T>(work: (session: DatabaseSession) => Promise<T>): Promise<T> {
    this.assertUsable("withSession()");
    const client = await this.#checkout();
    const session = new PostgresSession(client, this, this.host.options.detectNestedUse, this.host.prepared);
    let failed = false;
    try {
      return await work(session);
    } catch (error) {
      failed = true;
      throw error;
    } finally {
      session.finish();
      // Session state left behind by failed work (an open transaction, a held lock) must not reach the next
      // borrower, so such a connection is closed rather than returned to the pool.
      const discard = session.brokenBy ?? (failed ? new Error("session work failed") : undefined);
      client.release(discard);
    }
  }

  protected view(schema: string): Database {
    return new PostgresDatabase(this.host, schema, false);
  }

  protected async closeHost(): Promise<void> {
    await this.host.listener?.close();
    await this.host.pool.end();
  }

  /**
   * A transaction holds a connection of its own, so a call beside it waits for nothing; detectNestedUse refuses the
   * calls on this view inside its own transactions, which would run outside them.
   */
  protected get nestingOwner(): object {
    return this;
  }

  /** A pooled connection whose search_path is this database's schema. */
  async #checkout(): Promise<pg.PoolClient> {
    const host = this.host;
    const client = await host.pool.connect();
    if (!host.connectionSchemas.has(client)) {
      // A checked-out connection that breaks emits "error", which would end the process without a listener; the
      // statement running on it fails with the same error, so here it is only logged.
      client.on("error", (error) => {
        host.options.logger.debug({ err: error }, "a PostgreSQL connection in use failed");
      });
      host.connectionSchemas.set(client, host.options.schema);
    }
    const current = host.connectionSchemas.get(client);
    if (current === this.schema) return client;
    try {
      await client.query(`SET search_path TO ${quoteIdentifier(this.schema)}`);
    } catch (error) {
      client.release(error instanceof Error ? error : new Error(String(error)));
      throw error;
    }
    host.connectionSchemas.set(client, this.schema);
    return client;
  }
}

/** True for errors of the connection itself (it ended or broke), as opposed to a statement the server refused. */
function isConnectionError(error: unknown): boolean {
  return !(error instanceof pg.DatabaseError);
}

export async function openPostgresDatabase(options: ResolvedDatabaseOptions): Promise<Database> {
  const url = options.url;
  if (url === null) throw new Error("openPostgresDatabase needs a url");
  const common: pg.ClientConfig = {
    connectionString: url,
    connectionTimeoutMillis: options.connectTimeoutMs,
    types: { getTypeParser },
  };
  const pool = new pg.Pool({
    ...common,
    max: options.poolSize,
    idleTimeoutMillis: options.idleTimeoutMs,
    application_name: options.applicationName,
    // A connection sends each statement at once rather than after the answer to the one before, so statements
    // issued together (the handlers a consumer runs at once in one transaction) share round trips. Statements
    // awaited one by one behave as without it; pg answers each in order and fails those after an error alone.
    pipeline: true,
    // Every pooled session starts with the schema as its search_path, so queries need no schema prefix.
    options: `-c search_path=${options.schema}`,
    ...(options.statementTimeoutMs > 0 ? { statement_timeout: options.statementTimeoutMs } : {}),
  });
  // An idle pooled connection that breaks (say, the server restarts) is dropped by the pool; without this handler
  // the error event would end the process.
  pool.on("error", (error) => {
    options.logger.warn({ err: error }, "an idle PostgreSQL connection failed and was dropped from the pool");
  });
  try {
    await pool.query("SELECT 1");
  } catch (error) {
    await pool.end().catch(() => undefined);
    const reason = error instanceof Error ? error.message : String(error);
    throw new StoreError(
      StoreErrorCode.CONNECT_FAILED,
      `could not connect to PostgreSQL at ${redactDatabaseUrl(url)}: ${reason}; check the URL (DATABASE_URL) and that ` +
        "the server is running",
      { field: "url", cause: error },
    );
  }
  const listenerConfig: pg.ClientConfig = {
    ...common,
    application_name: `${options.applicationName}-listen`,
    keepAlive: true,
  };
  options.logger.debug({ kind: "postgres", url: redactDatabaseUrl(url), schema: options.schema }, "database opened");
  const host: PostgresHost = {
    pool,
    listenerConfig,
    options,
    prepared: new PreparedStatements(options.preparedStatementsMax),
    connectionSchemas: new WeakMap(),
    listener: null,
    closed: false,
  };
  return new PostgresDatabase(host, options.schema, true);
}
