// The store's public surface: the Database interface over PGlite and PostgreSQL, migrations, and the outbox and
// inbox operations with their SQL builders.

export {
  openDatabase,
  resolveDatabaseOptions,
  DEFAULT_APPLICATION_NAME,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_IDLE_TIMEOUT_MS,
  DEFAULT_LISTEN_RECONNECT_DELAY_MS_MAX,
  DEFAULT_POOL_SIZE,
  DEFAULT_SCHEMA,
  DEFAULT_STATEMENT_TIMEOUT_MS,
  DEFAULT_PGLITE_THREAD,
  isPostgresUrl,
  PGLITE_THREAD_ENV,
  PGLITE_THREADS,
  POOL_SIZE_MAX,
  type Database,
  type DatabaseKind,
  type DatabaseSession,
  type OpenDatabaseOptions,
  type PgliteThread,
  type Queryable,
  type QueryResult,
  type StoreLogger,
} from "./database.js";
export { isUniqueViolation, StoreError, StoreErrorCode, sqlStateOf } from "./errors.js";
export { isUuid, newEventId, UUID_PATTERN } from "./event-ids.js";
export { createPgliteSnapshot } from "./pglite-database.js";
export { DEFAULT_PGLITE_WORKER_HEAP_MB, DEFAULT_PGLITE_WORKER_REQUESTS_MAX } from "./pglite-worker-database.js";
export {
  BUILT_IN_COMPONENT,
  BUILT_IN_MIGRATIONS_DIR,
  MIGRATION_COMPONENT_PATTERN,
  DEFAULT_MIGRATION_LOCK_TIMEOUT_MS,
  loadMigrations,
  runMigrations,
  type MigrationFile,
  type MigrationReport,
  type RunMigrationsOptions,
} from "./migrations.js";
export * from "./outbox.js";
export * from "./outbox-holder.js";
export * from "./inbox.js";
export { execute, sql, type SqlStatement } from "./sql/statement.js";
export * as outboxSql from "./sql/outbox.js";
export * as inboxSql from "./sql/inbox.js";
