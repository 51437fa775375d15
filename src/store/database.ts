// One small interface over the two PostgreSQL back ends: PGlite (embedded, the default) and a PostgreSQL server
// reached through `pg`. Callers write the same code for both.

import { integerOption, resolveIntegers } from "../platform/options.js";
import { invalidArgument } from "./errors.js";
import { validateSchemaName } from "./identifiers.js";
import { DEFAULT_MIGRATION_LOCK_TIMEOUT_MS, runMigrations } from "./migrations.js";
import { openPgliteDatabase } from "./pglite-database.js";
import {
  DEFAULT_PGLITE_WORKER_HEAP_MB,
  DEFAULT_PGLITE_WORKER_REQUESTS_MAX,
  openPgliteWorkerDatabase,
  PGLITE_WORKER_REQUESTS_MAX,
} from "./pglite-worker-database.js";
import { openPostgresDatabase } from "./postgres-database.js";
import { DEFAULT_PREPARED_STATEMENTS_MAX, PREPARED_STATEMENTS_MAX } from "./prepared-statements.js";
import type { Database, PgliteThread, ResolvedDatabaseOptions, StoreLogger } from "./database-types.js";

export type * from "./database-types.js";

export const DEFAULT_SCHEMA = "public";
export const DEFAULT_POOL_SIZE = 10;
export const POOL_SIZE_MAX = 1000;
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
export const DEFAULT_IDLE_TIMEOUT_MS = 30_000;
export const DEFAULT_STATEMENT_TIMEOUT_MS = 60_000;
export const DEFAULT_LISTEN_RECONNECT_DELAY_MS_MAX = 5_000;
export const DEFAULT_APPLICATION_NAME = "sluice";
export const DEFAULT_PGLITE_THREAD: PgliteThread = "worker";
/** The environment variable that chooses pgliteThread when the options do not. */
export const PGLITE_THREAD_ENV = "SLUICE_PGLITE_THREAD";
export const PGLITE_THREADS: readonly PgliteThread[] = ["main", "worker"];

export interface OpenDatabaseOptions {
  /** A PostgreSQL server's connection URL (usually DATABASE_URL). Without one, PGlite is used. */
  url?: string | null;
  /** PGlite's data directory; null or absent keeps the database in memory. Ignored with a url. */
  dataDir?: string | null;
  /**
   * Starts an in-memory PGlite from a blank cluster made by createPgliteSnapshot(), which skips PGlite's slow
   * initdb; for tests that open many databases. Not allowed together with dataDir or url.
   */
  pgliteSnapshot?: Blob | null;
  /**
   * Where PGlite runs: "worker" (the default) in a worker thread of its own, so that PostgreSQL's work runs on
   * another core than the caller's JavaScript; "main" on the calling thread. Without the option, the
   * SLUICE_PGLITE_THREAD environment variable decides. Ignored with a url.
   */
  pgliteThread?: PgliteThread;
  /** Calls waiting for PGlite's worker thread at most; past it a call fails with SLUICE_STORE_QUEUE_FULL. */
  pgliteWorkerRequestsMax?: number;
  /** The JavaScript heap of PGlite's worker thread, in MiB (PostgreSQL's own memory is not part of it). */
  pgliteWorkerHeapMb?: number;
  /** The schema to work in (search_path); created by the migrations when missing. Default "public". */
  schema?: string;
  /** Connections in the pool (server only). */
  poolSize?: number;
  /** How long to wait for a new server connection, or for a free one in the pool. */
  connectTimeoutMs?: number;
  /** How long an unused pooled connection stays open. */
  idleTimeoutMs?: number;
  /** The server aborts a statement running longer than this; 0 means no limit. */
  statementTimeoutMs?: number;
  /** The longest pause between attempts to restore a lost LISTEN connection. */
  listenReconnectDelayMsMax?: number;
  /** Shown in pg_stat_activity; the LISTEN connection appends "-listen". */
  applicationName?: string;
  /**
   * Refuse a call on the database itself (not the transaction handle) inside one of its own transactions, with
   * SLUICE_STORE_NESTED_DATABASE_USE. Always on with PGlite, where such a call would wait forever. With a server it
   * is off unless set: the check follows the async context of every promise in the process (Node's async hooks),
   * which cost a busy consumer about a tenth of its throughput. Turn it on in tests to catch such calls, which with a
   * server would silently run outside the transaction.
   */
  detectNestedUse?: boolean;
  /**
   * Statements a server prepares on each connection, at most (default 200; 0 prepares none, as behind a pooler in
   * transaction mode, which cannot keep prepared statements). A statement that returns no columns (an INSERT,
   * UPDATE or DELETE without RETURNING) is prepared from its second run on, which spares the server parsing and
   * planning it every time. PGlite prepares nothing.
   */
  preparedStatementsMax?: number;
  /** Apply pending migrations before returning (default true). */
  migrate?: boolean;
  /** How long to wait for another process that is applying migrations to the same schema. */
  migrationLockTimeoutMs?: number;
  logger?: StoreLogger;
}

const silentLogger: StoreLogger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
};

const DAY_MS = 24 * 60 * 60 * 1000;

/** The integer options of openDatabase, each with its default and range. */
const DATABASE_INTEGER_OPTIONS = {
  poolSize: integerOption(DEFAULT_POOL_SIZE, 1, POOL_SIZE_MAX),
  connectTimeoutMs: integerOption(DEFAULT_CONNECT_TIMEOUT_MS, 1, DAY_MS),
  idleTimeoutMs: integerOption(DEFAULT_IDLE_TIMEOUT_MS, 1, DAY_MS),
  statementTimeoutMs: integerOption(DEFAULT_STATEMENT_TIMEOUT_MS, 0, DAY_MS),
  listenReconnectDelayMsMax: integerOption(DEFAULT_LISTEN_RECONNECT_DELAY_MS_MAX, 1, DAY_MS),
  preparedStatementsMax: integerOption(DEFAULT_PREPARED_STATEMENTS_MAX, 0, PREPARED_STATEMENTS_MAX),
  migrationLockTimeoutMs: integerOption(DEFAULT_MIGRATION_LOCK_TIMEOUT_MS, 0, DAY_MS),
  pgliteWorkerRequestsMax: integerOption(DEFAULT_PGLITE_WORKER_REQUESTS_MAX, 1, PGLITE_WORKER_REQUESTS_MAX),
  pgliteWorkerHeapMb: integerOption(DEFAULT_PGLITE_WORKER_HEAP_MB, 16, 65_536),
};

/**
 * The option, else SLUICE_PGLITE_THREAD, else the default. The store reads the variable itself so that every caller
 * that leaves the option out (an embedder's openDatabase(), `sluice registry`) honours it. `sluice up` does not leave
 * it out: it reads the variable with its other settings, between its flag and its config file, and refuses a bad
 * value before anything starts, so under `sluice up` this reads nothing.
 */
function resolvePgliteThread(option: PgliteThread | undefined): PgliteThread {
  const choices = PGLITE_THREADS.map((thread) => `"${thread}"`).join(" or ");
  if (option !== undefined) {
    if (!PGLITE_THREADS.includes(option)) throw invalidArgument("pgliteThread", `must be ${choices}`);
    return option;
  }
  const fromEnv = process.env[PGLITE_THREAD_ENV];
  if (fromEnv === undefined || fromEnv === "") return DEFAULT_PGLITE_THREAD;
  if (!PGLITE_THREADS.includes(fromEnv as PgliteThread)) {
    throw invalidArgument("pgliteThread", `${PGLITE_THREAD_ENV} must be ${choices}, not "${fromEnv}"`);
  }
  return fromEnv as PgliteThread;
}

const POSTGRES_URL_PATTERN = /^postgres(ql)?:\/\/\S+$/;

/**
 * Whether url is a postgres:// or postgresql:// URL, without spaces; the driver says what else is wrong with it. The
 * store's option check and every command that reaches a database (up, console, outbox, registry) use it.
 */
export function isPostgresUrl(url: unknown): url is string {
  return typeof url === "string" && POSTGRES_URL_PATTERN.test(url);
}

export function resolveDatabaseOptions(options: OpenDatabaseOptions): ResolvedDatabaseOptions {
  const url = options.url ?? null;
  if (url !== null) {
    if (!isPostgresUrl(url)) {
      throw invalidArgument("url", "must be a postgres:// or postgresql:// connection URL");
    }
  }
  const dataDir = options.dataDir ?? null;
  if (dataDir !== null && (typeof dataDir !== "string" || dataDir === "")) {
    throw invalidArgument("dataDir", "must be a directory path, or null for an in-memory database");
  }
  const pgliteSnapshot = options.pgliteSnapshot ?? null;
  if (pgliteSnapshot !== null && (!(pgliteSnapshot instanceof Blob) || url !== null || dataDir !== null)) {
    throw invalidArgument("pgliteSnapshot", "must be a Blob from createPgliteSnapshot(), for an in-memory PGlite only");
  }
  const applicationName = options.applicationName ?? DEFAULT_APPLICATION_NAME;
  if (!/^[\x20-\x7e]{1,48}$/.test(applicationName)) {
    throw invalidArgument("applicationName", "must be 1 to 48 printable ASCII characters");
  }
  const integers = resolveIntegers(DATABASE_INTEGER_OPTIONS, options, invalidArgument);
  return {
    url,
    dataDir,
    pgliteSnapshot,
    pgliteThread: resolvePgliteThread(options.pgliteThread),
    schema: validateSchemaName("schema", options.schema ?? DEFAULT_SCHEMA),
    ...integers,
    applicationName,
    detectNestedUse: url === null || options.detectNestedUse === true,
    migrate: options.migrate ?? true,
    logger: options.logger ?? silentLogger,
  };
}

/**
 * Opens a PostgreSQL server when options.url is given, PGlite otherwise, and applies pending migrations (unless
 * options.migrate is false). The database is closed again when the migrations fail.
 */
export async function openDatabase(options: OpenDatabaseOptions = {}): Promise<Database> {
  const resolved = resolveDatabaseOptions(options);
  const database =
    resolved.url !== null
      ? await openPostgresDatabase(resolved)
      : resolved.pgliteThread === "worker"
        ? await openPgliteWorkerDatabase(resolved)
        : await openPgliteDatabase(resolved);
  if (resolved.migrate) {
    try {
      await runMigrations(database, { lockTimeoutMs: resolved.migrationLockTimeoutMs, logger: resolved.logger });
    } catch (error) {
      await database.close().catch((closeError: unknown) => {
        resolved.logger.warn({ err: closeError }, "closing the database after failed migrations failed too");
      });
      throw error;
    }
  }
  return database;
}
