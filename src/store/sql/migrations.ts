// Statements for the migration runner's bookkeeping.

import { quoteIdentifier } from "../identifiers.js";
import { sql, statementTimeoutForTransaction, type SqlStatement } from "./statement.js";

/** The component name of the migrations that ship with Sluice. */
export const BUILT_IN_COMPONENT = "sluice";

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

/**
 * Each component (Sluice itself, and every app with its own migrations directory) numbers its migrations on its
 * own, so the key is the pair.
 */
export function createMigrationsTable(): SqlStatement<never> {
  return sql(`CREATE TABLE IF NOT EXISTS sluice_migrations (
  component text NOT NULL DEFAULT '${BUILT_IN_COMPONENT}',
  version integer NOT NULL CHECK (version > 0),
  name text NOT NULL,
  checksum text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (component, version)
)`);
}

/** True when sluice_migrations predates components (a release whose table was keyed by version alone). */
export function migrationsTableLacksComponent(): SqlStatement<{ lacks: boolean }> {
  return sql(`SELECT NOT EXISTS (
  SELECT 1 FROM pg_attribute
  WHERE attrelid = 'sluice_migrations'::regclass AND attname = 'component' AND NOT attisdropped
) AS lacks`);
}

/** Upgrades a table from before components: its rows are all Sluice's own migrations. Run it in a transaction. */
export function addComponentToMigrationsTable(): SqlStatement<never> {
  return sql(`ALTER TABLE sluice_migrations
  ADD COLUMN component text NOT NULL DEFAULT '${BUILT_IN_COMPONENT}',
  DROP CONSTRAINT sluice_migrations_pkey,
  ADD PRIMARY KEY (component, version)`);
}

export function selectAppliedMigrations(component: string): SqlStatement<AppliedMigrationRow> {
  return sql(
    "SELECT version, name, checksum, applied_at FROM sluice_migrations WHERE component = $1 ORDER BY version",
    [component],
  );
}

export function insertAppliedMigration(
  component: string,
  version: number,
  name: string,
  checksum: string,
): SqlStatement<never> {
  return sql("INSERT INTO sluice_migrations (component, version, name, checksum) VALUES ($1, $2, $3, $4)", [
    component,
    version,
    name,
    checksum,
  ]);
}

/**
 * Lifts the pool's statement timeout for the rest of the transaction: a schema change on a large table may take
 * longer than any ordinary statement should.
 */
export function disableStatementTimeoutForTransaction(): SqlStatement<never> {
  return statementTimeoutForTransaction(0);
}
