// Statements for the migration runner's bookkeeping.

import { quoteIdentifier } from "../identifiers.js";
import { sql, type SqlStatement } from "./statement.js";

export interface AppliedMigrationRow {
  version: number;
  name: string;
  checksum: string;
  applied_at: Date;
}

export function schemaExists(schema: string): SqlStatement<{ exists: boolean }> {
  return sql("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1) AS exists", [schema]);
}

/**
 * The schema name must have passed validateSchemaName. Run it only when schemaExists says no: PostgreSQL checks
 * the CREATE privilege on the database even when IF NOT EXISTS finds the schema, which a restricted role lacks.
 */
export function createSchemaIfMissing(schema: string): SqlStatement<never> {
  return sql(`CREATE SCHEMA IF NOT EXISTS ${quoteIdentifier(schema)}`);
}

export function createMigrationsTable(): SqlStatement<never> {
  return sql(`CREATE TABLE IF NOT EXISTS sluice_migrations (
  version integer PRIMARY KEY CHECK (version > 0),
  name text NOT NULL,
  checksum text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
)`);
}

export function selectAppliedMigrations(): SqlStatement<AppliedMigrationRow> {
  return sql("SELECT version, name, checksum, applied_at FROM sluice_migrations ORDER BY version");
}

export function insertAppliedMigration(version: number, name: string, checksum: string): SqlStatement<never> {
  return sql("INSERT INTO sluice_migrations (version, name, checksum) VALUES ($1, $2, $3)", [version, name, checksum]);
}

/**
 * Lifts the pool's statement timeout for the rest of the transaction: a schema change on a large table may take
 * longer than any ordinary statement should.
 */
export function disableStatementTimeoutForTransaction(): SqlStatement<never> {
  return sql("SELECT set_config('statement_timeout', '0', true)");
}
