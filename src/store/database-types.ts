// The shapes of the store's database, apart from database.ts (which opens one) so that the two back ends and the
// SQL helpers can implement and take them without importing the code that chooses between them.

export type DatabaseKind = "pglite" | "postgres";

/** Where PGlite runs: on the thread that opened it, or in a worker thread of its own. */
export type PgliteThread = "main" | "worker";

export interface QueryResult<Row> {
  rows: Row[];
  /** Rows returned by a SELECT, or rows changed by INSERT, UPDATE or DELETE. */
  rowCount: number;
}

export interface Queryable {
  /** Runs one statement; `$1`, `$2`… in the text refer to params. */
  query<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<Row>>;
  /** Runs a script of one or more statements without parameters, such as a migration file. */
  exec(script: string): Promise<void>;
}

export interface DatabaseSession extends Queryable {
  /**
   * Runs work between BEGIN and COMMIT, and rolls back when it throws. With PGlite, transactions (and every other
   * statement) run one at a time; with a server, each transaction has its own pooled connection.
   */
  transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T>;
}

export interface Database extends DatabaseSession {
  readonly kind: DatabaseKind;
  /** The schema that unqualified names resolve to, and that migrations create their tables in. */
  readonly schema: string;
  /** True when listen() delivers notifications; callers that rely on them still poll when it is false. */
  readonly supportsListen: boolean;
  /**
   * Calls onNotify with the payload of every NOTIFY on the channel (a lower-case identifier) until the returned
   * function is called. Notifications are database-wide, not per schema. With a server they arrive on one dedicated
   * connection that reconnects when it is lost; notifications sent while it is down are lost, so callers that must
   * not miss work also poll.
   */
  listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>>;
  /**
   * Runs work on one connection held for its whole duration, for session state such as session-level advisory
   * locks. PGlite has a single session, shared with every other caller in the process.
   */
  withSession<T>(work: (session: DatabaseSession) => Promise<T>): Promise<T>;
  /**
   * The same database seen from another schema: unqualified names resolve there, and migrations run on it create
   * their tables there. A view shares this database's connections (PGlite's one session, or the server's pool), so
   * services that each own a schema need one database between them. Closing a view only retires the view; closing
   * the database it came from closes every view.
   */
  withSchema(schema: string): Database;
  close(): Promise<void>;
}

/** The subset of a pino logger that the store uses. */
export interface StoreLogger {
  debug(details: object, message: string): void;
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
  error(details: object, message: string): void;
}

export interface ResolvedDatabaseOptions {
  url: string | null;
  dataDir: string | null;
  pgliteSnapshot: Blob | null;
  pgliteThread: PgliteThread;
  pgliteWorkerRequestsMax: number;
  pgliteWorkerHeapMb: number;
  schema: string;
  poolSize: number;
  connectTimeoutMs: number;
  idleTimeoutMs: number;
  statementTimeoutMs: number;
  listenReconnectDelayMsMax: number;
  applicationName: string;
  detectNestedUse: boolean;
  preparedStatementsMax: number;
  migrate: boolean;
  migrationLockTimeoutMs: number;
  logger: StoreLogger;
}
