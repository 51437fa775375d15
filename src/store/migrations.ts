// Numbered SQL migrations (migrations/NNNN-name.sql), applied in order under an advisory lock and recorded with
// their checksums in sluice_migrations. Each file runs inside a transaction together with its record, so a file
// must not contain BEGIN or COMMIT, nor statements that cannot run in a transaction (CREATE INDEX CONCURRENTLY).
// Every component (Sluice itself, and each app with its own directory) numbers its migrations independently.

import { createHash } from "node:crypto";
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import type { Database, DatabaseSession, StoreLogger } from "./database-types.js";
import { invalidArgument, StoreError, StoreErrorCode } from "./errors.js";
import { advisoryLockKey, advisoryUnlock, tryAdvisoryLock } from "./sql/locks.js";
import {
  addComponentToMigrationsTable,
  BUILT_IN_COMPONENT,
  createMigrationsTable,
  createSchemaIfMissing,
  disableStatementTimeoutForTransaction,
  insertAppliedMigration,
  migrationsTableLacksComponent,
  schemaExists,
  selectAppliedMigrations,
  type AppliedMigrationRow,
} from "./sql/migrations.js";
import { execute } from "./sql/statement.js";

/**
 * The migrations that ship with Sluice. They are read at run time, so the build must copy src/store/migrations/
 * to dist/src/store/migrations/ next to the compiled module.
 */
export const BUILT_IN_MIGRATIONS_DIR = new URL("./migrations/", import.meta.url);

export const MIGRATION_FILE_PATTERN = /^(\d{4})-([a-z0-9]+(?:-[a-z0-9]+)*)\.sql$/;
export const MIGRATION_FILE_BYTES_MAX = 1024 * 1024;
export const MIGRATION_LOCK_POLL_MS = 50;
export const DEFAULT_MIGRATION_LOCK_TIMEOUT_MS = 60_000;
export { BUILT_IN_COMPONENT };
/** A component name: lower-case letters, digits, '-' and '_', starting with a letter. */
export const MIGRATION_COMPONENT_PATTERN = /^[a-z][a-z0-9_-]{0,62}$/;

export interface MigrationFile {
  readonly version: number;
  readonly name: string;
  readonly fileName: string;
  /** SHA-256 of the file, hex, taken with line endings normalised so a Windows checkout matches. */
  readonly checksum: string;
  readonly script: string;
}

export interface MigrationReport {
  /** Migrations this call applied, in order. */
  readonly applied: readonly { version: number; name: string }[];
  /** Migrations found already applied. */
  readonly alreadyApplied: number;
}

export interface RunMigrationsOptions {
  /** Where the NNNN-name.sql files are; the built-in migrations by default. */
  directory?: string | URL;
  /**
   * Whose migrations these are: an app passes its own name with its own directory, so that its numbering starts at
   * 0001 independently of Sluice's. Default BUILT_IN_COMPONENT.
   */
  component?: string;
  /** How long to wait for another process that holds the migration lock; 0 tries once. */
  lockTimeoutMs?: number;
  logger?: StoreLogger;
}

function invalidFile(message: string): StoreError {
  return new StoreError(StoreErrorCode.MIGRATION_FILE_INVALID, message);
}

export async function loadMigrations(directory: string | URL = BUILT_IN_MIGRATIONS_DIR): Promise<MigrationFile[]> {
  const path = directory instanceof URL ? fileURLToPath(directory) : directory;
  const entries = await readdir(path);
  const migrations: MigrationFile[] = [];
  const fileByVersion = new Map<number, string>();
  for (const fileName of entries.filter((entry) => entry.endsWith(".sql")).sort()) {
    const match = MIGRATION_FILE_PATTERN.exec(fileName);
    if (match === null) {
      throw invalidFile(
        `migration file ${fileName} in ${path} is misnamed; name it NNNN-lower-case-name.sql, e.g. 0002-add-orders.sql`,
      );
    }
    const version = Number(match[1]);
    if (version === 0) throw invalidFile(`migration file ${fileName} in ${path}: versions start at 0001`);
    const clash = fileByVersion.get(version);
    if (clash !== undefined) {
      throw invalidFile(`migration files ${clash} and ${fileName} in ${path} have the same version; renumber one`);
    }
    fileByVersion.set(version, fileName);
    const filePath = join(path, fileName);
    const { size } = await stat(filePath);
    if (size > MIGRATION_FILE_BYTES_MAX) {
      throw invalidFile(`migration file ${fileName} is ${size} bytes, over the ${MIGRATION_FILE_BYTES_MAX} byte limit`);
    }
    const script = (await readFile(filePath, "utf8")).replaceAll("\r\n", "\n");
    if (script.trim() === "") throw invalidFile(`migration file ${fileName} in ${path} is empty`);
    const checksum = createHash("sha256").update(script).digest("hex");
    migrations.push({ version, name: match[2] ?? "", fileName, checksum, script });
  }
  return migrations.sort((left, right) => left.version - right.version);
}

/** Checks what is recorded against the files and returns the migrations still to apply. */
export function planMigrations(
  migrations: readonly MigrationFile[],
  applied: readonly AppliedMigrationRow[],
  schema: string,
  logger?: StoreLogger,
): MigrationFile[] {
  const byVersion = new Map(migrations.map((migration) => [migration.version, migration]));
  for (const row of applied) {
    const migration = byVersion.get(row.version);
    if (migration === undefined) {
      logger?.warn(
        { version: row.version, name: row.name, schema },
        "schema has a migration this build does not know (applied by a newer release); continuing",
      );
      continue;
    }
    if (migration.checksum !== row.checksum) {
      throw new StoreError(
        StoreErrorCode.MIGRATION_CHECKSUM_MISMATCH,
        `migration ${migration.fileName} has changed since it was applied to schema "${schema}" on ` +
          `${row.applied_at.toISOString()} (checksum then ${row.checksum.slice(0, 12)}…, now ` +
          `${migration.checksum.slice(0, 12)}…); never edit an applied migration: restore the file and put the ` +
          "change in a new numbered migration",
      );
    }
  }
  const appliedVersions = new Set(applied.map((row) => row.version));
  const latestApplied = applied.reduce((latest, row) => Math.max(latest, row.version), 0);
  const pending = migrations.filter((migration) => !appliedVersions.has(migration.version));
  const early = pending.find((migration) => migration.version < latestApplied);
  if (early !== undefined) {
    throw new StoreError(
      StoreErrorCode.MIGRATION_OUT_OF_ORDER,
      `migration ${early.fileName} is not applied to schema "${schema}", but the later version ${latestApplied} is; ` +
        "give new migrations a number after the last applied one",
    );
  }
  return pending;
}

async function acquireLock(session: DatabaseSession, key: string, timeoutMs: number, schema: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    const { rows } = await execute(session, tryAdvisoryLock(key));
    if (rows[0]?.locked === true) return;
    const remainingMs = deadline - Date.now();
    if (remainingMs <= 0) {
      throw new StoreError(
        StoreErrorCode.MIGRATION_LOCK_TIMEOUT,
        `waited ${timeoutMs} ms for the migration lock of schema "${schema}", which another process holds while it ` +
          "applies migrations; retry, or raise migrationLockTimeoutMs",
      );
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(MIGRATION_LOCK_POLL_MS, remainingMs)));
  }
}

/**
 * Runs in progress per database. The advisory lock cannot keep apart two runs on one PGlite database, because
 * they share its single session and a session may take the same advisory lock twice, so runs on one Database
 * object also take turns here.
 */
const runsInProgress = new WeakMap<Database, Promise<unknown>>();

/**
 * Applies pending migrations to db.schema, creating the schema when it is missing. Safe to run from several
 * processes at once: they take turns on an advisory lock, and each migration commits together with its record.
 */
export function runMigrations(db: Database, options: RunMigrationsOptions = {}): Promise<MigrationReport> {
  const previous = runsInProgress.get(db) ?? Promise.resolve();
  const run = previous.catch(() => undefined).then(() => runMigrationsNow(db, options));
  runsInProgress.set(db, run);
  return run;
}

async function runMigrationsNow(db: Database, options: RunMigrationsOptions): Promise<MigrationReport> {
  const logger = options.logger;
  const component = options.component ?? BUILT_IN_COMPONENT;
  if (typeof component !== "string" || !MIGRATION_COMPONENT_PATTERN.test(component)) {
    throw invalidArgument(
      "component",
      `${JSON.stringify(component)} is not a component name; use lower-case letters, digits, '-' and '_', ` +
        "starting with a letter, at most 63 characters",
    );
  }
  const migrations = await loadMigrations(options.directory);
  const lockKey = advisoryLockKey("migrations", db.schema);
  return db.withSession(async (session) => {
    await acquireLock(session, lockKey, options.lockTimeoutMs ?? DEFAULT_MIGRATION_LOCK_TIMEOUT_MS, db.schema);
    let report: MigrationReport;
    try {
      report = await applyPending(session, db, component, migrations, logger);
    } catch (error) {
      // withSession discards the connection after a failure, which releases the lock even if this unlock fails.
      await execute(session, advisoryUnlock(lockKey)).catch((unlockError: unknown) => {
        logger?.warn({ err: unlockError }, "releasing the migration lock failed after a failed migration");
      });
      throw error;
    }
    // If this fails, withSession discards the connection and the lock goes with it.
    await execute(session, advisoryUnlock(lockKey));
    return report;
  });
}

async function applyPending(
  session: DatabaseSession,
  db: Database,
  component: string,
  migrations: readonly MigrationFile[],
  logger: StoreLogger | undefined,
): Promise<MigrationReport> {
  const { rows: existing } = await execute(session, schemaExists(db.schema));
  if (existing[0]?.exists !== true) await execute(session, createSchemaIfMissing(db.schema));
  await execute(session, createMigrationsTable());
  const { rows: layout } = await execute(session, migrationsTableLacksComponent());
  if (layout[0]?.lacks === true) {
    await session.transaction(async (tx) => {
      await execute(tx, addComponentToMigrationsTable());
    });
    logger?.info({ schema: db.schema }, "sluice_migrations upgraded to keep each component's numbering apart");
  }
  const applied = (await execute(session, selectAppliedMigrations(component))).rows;
  const pending = planMigrations(migrations, applied, db.schema, logger);
  for (const migration of pending) {
    try {
      await session.transaction(async (tx) => {
        if (db.kind === "postgres") await execute(tx, disableStatementTimeoutForTransaction());
        await tx.exec(migration.script);
        await execute(tx, insertAppliedMigration(component, migration.version, migration.name, migration.checksum));
      });
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new StoreError(
        StoreErrorCode.MIGRATION_FAILED,
        `migration ${migration.fileName} failed on schema "${db.schema}" and was rolled back: ${reason}`,
        { cause: error },
      );
    }
    logger?.info(
      { component, version: migration.version, name: migration.name, schema: db.schema },
      "migration applied",
    );
  }
  return {
    applied: pending.map(({ version, name }) => ({ version, name })),
    alreadyApplied: migrations.length - pending.length,
  };
}
