import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";

import {
  BUILT_IN_COMPONENT,
  type Database,
  loadMigrations,
  runMigrations,
  StoreError,
  StoreErrorCode,
} from "../../src/store/index.js";
import { storeTest, type StoreTarget } from "./harness.js";

async function appMigrationsDir(target: StoreTarget, files: Record<string, string>): Promise<string> {
  const dir = await target.tempDir();
  for (const [name, script] of Object.entries(files)) await writeFile(join(dir, name), script);
  return dir;
}

interface RecordedRow {
  component: string;
  version: number;
  name: string;
}

async function recorded(db: Database): Promise<RecordedRow[]> {
  const { rows } = await db.query<RecordedRow>(
    "SELECT component, version, name FROM sluice_migrations ORDER BY component, version",
  );
  return rows;
}

storeTest("an app's migrations are numbered apart from Sluice's own", async (_t, target) => {
  const db = await target.open();
  const builtIn = await loadMigrations();
  const directory = await appMigrationsDir(target, {
    "0001-notes.sql": "CREATE TABLE notes (id serial PRIMARY KEY, body text NOT NULL);",
    "0002-note-authors.sql": "ALTER TABLE notes ADD COLUMN author text;",
  });

  const first = await runMigrations(db, { directory, component: "notes" });
  assert.deepEqual(first.applied, [
    { version: 1, name: "notes" },
    { version: 2, name: "note-authors" },
  ]);
  const again = await runMigrations(db, { directory, component: "notes" });
  assert.deepEqual(again, { applied: [], alreadyApplied: 2 });
  const builtInAgain = await runMigrations(db);
  assert.deepEqual(builtInAgain, { applied: [], alreadyApplied: builtIn.length });

  await db.query("INSERT INTO notes (body, author) VALUES ('hello', 'ada')");
  const rows = await recorded(db);
  assert.deepEqual(
    rows.filter((row) => row.component === "notes"),
    [
      { component: "notes", version: 1, name: "notes" },
      { component: "notes", version: 2, name: "note-authors" },
    ],
  );
  assert.deepEqual(
    rows.filter((row) => row.component === BUILT_IN_COMPONENT).map((row) => row.version),
    builtIn.map((migration) => migration.version),
  );
});

storeTest("a table from before components is upgraded without re-applying anything", async (_t, target) => {
  const db = await target.open({ migrate: false });
  const builtIn = await loadMigrations();
  await db.exec(`CREATE SCHEMA IF NOT EXISTS ${target.schema}`);
  // The layout an earlier release created: one numbering for everything.
  await db.exec(`CREATE TABLE sluice_migrations (
    version integer PRIMARY KEY CHECK (version > 0),
    name text NOT NULL,
    checksum text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
  )`);
  for (const migration of builtIn) {
    await db.exec(migration.script);
    await db.query("INSERT INTO sluice_migrations (version, name, checksum) VALUES ($1, $2, $3)", [
      migration.version,
      migration.name,
      migration.checksum,
    ]);
  }

  // Re-applying a built-in migration would fail (its tables exist), so success shows nothing was re-applied.
  assert.deepEqual(await runMigrations(db), { applied: [], alreadyApplied: builtIn.length });
  const directory = await appMigrationsDir(target, { "0001-notes.sql": "CREATE TABLE notes (id int);" });
  assert.deepEqual((await runMigrations(db, { directory, component: "notes" })).applied, [
    { version: 1, name: "notes" },
  ]);
  const rows = await recorded(db);
  assert.equal(rows.filter((row) => row.component === BUILT_IN_COMPONENT).length, builtIn.length);
  assert.deepEqual(
    rows.find((row) => row.component === "notes"),
    { component: "notes", version: 1, name: "notes" },
  );
  const { rows: key } = await db.query<{ columns: string }>(
    `SELECT string_agg(a.attname, ',' ORDER BY k.position) AS columns
     FROM pg_constraint c
     CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, position)
     JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
     WHERE c.conrelid = 'sluice_migrations'::regclass AND c.contype = 'p'`,
  );
  assert.equal(key[0]?.columns, "component,version");
});

storeTest("a component name that is not an identifier is refused, naming the option", async (_t, target) => {
  const db = await target.open({ migrate: false });
  for (const component of ["", "Notes", "1notes", "notes; DROP TABLE x", "n".repeat(64)]) {
    await assert.rejects(
      runMigrations(db, { component }),
      (error: unknown) =>
        error instanceof StoreError && error.code === StoreErrorCode.INVALID_ARGUMENT && error.field === "component",
    );
  }
});
