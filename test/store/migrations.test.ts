import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { copyFile, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import {
  BUILT_IN_MIGRATIONS_DIR,
  loadMigrations,
  runMigrations,
  StoreError,
  StoreErrorCode,
  type Database,
  type MigrationReport,
} from "../../src/store/index.js";
import { adminQuery, storeTest, testOnEveryPgliteThread } from "./harness.js";

testOnEveryPgliteThread();

const FIXTURE = fileURLToPath(new URL("./fixtures/migrate-process.ts", import.meta.url));

function hasCode(code: string) {
  return (error: unknown) => error instanceof StoreError && error.code === code;
}

interface RecordedMigration {
  version: number;
  name: string;
  checksum: string;
  applied_at: Date;
}

async function recorded(db: Database): Promise<RecordedMigration[]> {
  return (
    await db.query<RecordedMigration>("SELECT version, name, checksum, applied_at FROM sluice_migrations ORDER BY 1")
  ).rows;
}

async function tableNames(db: Database): Promise<string[]> {
  const { rows } = await db.query<{ table_name: string }>(
    "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1",
    [db.schema],
  );
  return rows.map((row) => row.table_name);
}

storeTest("opening a fresh database creates the schema and applies the built-in migrations", async (_t, target) => {
  const db = await target.open();
  const files = await loadMigrations();
  assert.ok(files.length >= 1);
  assert.equal(files[0]?.fileName, "0001-outbox-and-inbox.sql");
  const rows = await recorded(db);
  assert.deepEqual(
    rows.map(({ version, name, checksum }) => ({ version, name, checksum })),
    files.map(({ version, name, checksum }) => ({ version, name, checksum })),
  );
  const tables = await tableNames(db);
  for (const table of ["sluice_inbox", "sluice_migrations", "sluice_outbox", "sluice_outbox_cursor"]) {
    assert.ok(tables.includes(table), table);
  }
  const { rows: indexes } = await db.query<{ indexname: string }>(
    "SELECT indexname FROM pg_indexes WHERE schemaname = $1 AND tablename = 'sluice_outbox' ORDER BY 1",
    [db.schema],
  );
  assert.deepEqual(
    indexes.map((row) => row.indexname),
    ["sluice_outbox_event_id_key", "sluice_outbox_parked_idx", "sluice_outbox_pkey", "sluice_outbox_position_idx"],
  );
});

storeTest(
  "running the migrations again changes nothing",
  async (_t, target) => {
    const first = await target.open();
    const before = await recorded(first);
    const tablesBefore = await tableNames(first);
    const again = await runMigrations(first);
    assert.deepEqual(again, { applied: [], alreadyApplied: before.length });
    await first.close();

    const reopened = await target.open();
    assert.deepEqual(await recorded(reopened), before);
    assert.deepEqual(await tableNames(reopened), tablesBefore);
  },
  { persistent: true },
);

storeTest("new migrations are applied in order, and only they", async (_t, target) => {
  const dir = await target.tempDir();
  await writeFile(join(dir, "0001-create-notes.sql"), "CREATE TABLE notes (id int PRIMARY KEY, body text);\n");
  await writeFile(
    join(dir, "0002-seed-notes.sql"),
    "INSERT INTO notes VALUES (1, 'one');\nINSERT INTO notes VALUES (2, 'two');\n",
  );
  await writeFile(join(dir, "README.txt"), "not a migration");
  const db = await target.open({ migrate: false });

  const first = await runMigrations(db, { directory: dir });
  assert.deepEqual(first, {
    applied: [
      { version: 1, name: "create-notes" },
      { version: 2, name: "seed-notes" },
    ],
    alreadyApplied: 0,
  });

  await writeFile(join(dir, "0003-more-notes.sql"), "INSERT INTO notes VALUES (3, 'three');\n");
  const second = await runMigrations(db, { directory: dir });
  assert.deepEqual(second, { applied: [{ version: 3, name: "more-notes" }], alreadyApplied: 2 });
  assert.deepEqual((await db.query("SELECT id FROM notes ORDER BY id")).rows, [{ id: 1 }, { id: 2 }, { id: 3 }]);
  assert.deepEqual(
    (await recorded(db)).map((row) => row.version),
    [1, 2, 3],
  );
});

storeTest(
  "a migration changed after it was applied is a clear error, and nothing more is applied",
  async (_t, target) => {
    const dir = await target.tempDir();
    await writeFile(join(dir, "0001-create-notes.sql"), "CREATE TABLE notes (id int PRIMARY KEY);\n");
    const db = await target.open({ migrate: false });
    await runMigrations(db, { directory: dir });

    await writeFile(join(dir, "0001-create-notes.sql"), "CREATE TABLE notes (id bigint PRIMARY KEY);\n");
    await writeFile(join(dir, "0002-add-body.sql"), "ALTER TABLE notes ADD COLUMN body text;\n");
    await assert.rejects(
      runMigrations(db, { directory: dir }),
      (error: unknown) =>
        hasCode(StoreErrorCode.MIGRATION_CHECKSUM_MISMATCH)(error) &&
        (error as Error).message.includes("0001-create-notes.sql") &&
        (error as Error).message.includes("new numbered migration"),
    );
    assert.deepEqual(
      (await recorded(db)).map((row) => row.version),
      [1],
    );
    const { rows } = await db.query(
      "SELECT column_name FROM information_schema.columns WHERE table_name = 'notes' " + "AND table_schema = $1",
      [db.schema],
    );
    assert.deepEqual(rows, [{ column_name: "id" }]);

    // The same file with Windows line endings is not a change.
    await writeFile(join(dir, "0001-create-notes.sql"), "CREATE TABLE notes (id int PRIMARY KEY);\r\n");
    const report = await runMigrations(db, { directory: dir });
    assert.deepEqual(report.applied, [{ version: 2, name: "add-body" }]);
  },
);

storeTest("a failing migration is rolled back whole and not recorded", async (_t, target) => {
  const dir = await target.tempDir();
  await writeFile(join(dir, "0001-good.sql"), "CREATE TABLE good (id int);\n");
  await writeFile(join(dir, "0002-bad.sql"), "CREATE TABLE half (id int);\nSELECT * FROM missing_table;\n");
  const db = await target.open({ migrate: false });
  await assert.rejects(
    runMigrations(db, { directory: dir }),
    (error: unknown) =>
      hasCode(StoreErrorCode.MIGRATION_FAILED)(error) && (error as Error).message.includes("0002-bad.sql"),
  );
  assert.deepEqual(
    (await recorded(db)).map((row) => row.version),
    [1],
  );
  assert.deepEqual(await tableNames(db), ["good", "sluice_migrations"]);
  // The lock was released: fixing the file lets the next run through.
  await writeFile(join(dir, "0002-bad.sql"), "CREATE TABLE half (id int);\n");
  assert.deepEqual((await runMigrations(db, { directory: dir, lockTimeoutMs: 0 })).applied, [
    { version: 2, name: "bad" },
  ]);
});

storeTest("misnamed, duplicate and out-of-order migration files are refused", async (_t, target) => {
  const db = await target.open({ migrate: false });
  const misnamed = await target.tempDir();
  await writeFile(join(misnamed, "1-first.sql"), "SELECT 1;\n");
  await assert.rejects(runMigrations(db, { directory: misnamed }), hasCode(StoreErrorCode.MIGRATION_FILE_INVALID));

  const duplicate = await target.tempDir();
  await writeFile(join(duplicate, "0001-first.sql"), "SELECT 1;\n");
  await writeFile(join(duplicate, "0001-second.sql"), "SELECT 2;\n");
  await assert.rejects(runMigrations(db, { directory: duplicate }), hasCode(StoreErrorCode.MIGRATION_FILE_INVALID));

  const gap = await target.tempDir();
  await writeFile(join(gap, "0001-first.sql"), "CREATE TABLE first (id int);\n");
  await writeFile(join(gap, "0003-third.sql"), "CREATE TABLE third (id int);\n");
  await runMigrations(db, { directory: gap });
  await writeFile(join(gap, "0002-second.sql"), "CREATE TABLE second (id int);\n");
  await assert.rejects(runMigrations(db, { directory: gap }), hasCode(StoreErrorCode.MIGRATION_OUT_OF_ORDER));
});

storeTest("two runs started together apply each migration once", async (_t, target) => {
  const db = await target.open({ migrate: false });
  const peer = await target.peer(db);
  const reports = await Promise.all([runMigrations(db), runMigrations(peer)]);
  const files = await loadMigrations();
  assert.deepEqual(
    reports.flatMap((report) => report.applied.map((migration) => migration.version)).sort(),
    files.map((file) => file.version),
  );
  assert.equal((await recorded(db)).length, files.length);
});

storeTest(
  "migrations from two processes at once: applied once, both succeed",
  async (_t, target) => {
    // The built-in migrations plus one that holds the lock a little longer, so the two processes surely overlap.
    const dir = await target.tempDir();
    const builtIn = fileURLToPath(BUILT_IN_MIGRATIONS_DIR);
    for (const file of await loadMigrations()) await copyFile(join(builtIn, file.fileName), join(dir, file.fileName));
    // After the highest version: the built-in numbering may have gaps where a release skipped one.
    const slowVersion = String(Math.max(...(await loadMigrations()).map((file) => file.version)) + 1).padStart(4, "0");
    await writeFile(join(dir, `${slowVersion}-slow.sql`), "SELECT pg_sleep(0.3);\nCREATE TABLE slow_done (id int);\n");
    const expected = await loadMigrations(dir);

    const runs = [0, 1].map(() => {
      const child = spawn(process.execPath, ["--import", "tsx", FIXTURE, target.url ?? "", target.schema, dir], {
        stdio: ["pipe", "pipe", "pipe"],
      });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
      return { child, exited, output: () => stdout, errors: () => stderr };
    });
    const deadline = Date.now() + 30_000;
    while (!runs.every((run) => run.output().includes("ready"))) {
      const crashed = runs.find((run) => run.child.exitCode !== null);
      if (crashed !== undefined) assert.fail(`a migrating process exited early: ${crashed.errors()}`);
      if (Date.now() > deadline) assert.fail("the migrating processes did not get ready in time");
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    for (const run of runs) run.child.stdin.write("go\n");
    const codes = await Promise.all(runs.map((run) => run.exited));
    assert.deepEqual(codes, [0, 0], runs.map((run) => run.errors()).join("\n"));

    const reports = runs.map((run) => JSON.parse(run.output().trim().split("\n").at(-1) ?? "") as MigrationReport);
    const appliedVersions = reports.flatMap((report) => report.applied.map((migration) => migration.version));
    assert.deepEqual(
      appliedVersions.sort((left, right) => left - right),
      expected.map((file) => file.version),
      "every migration was applied by exactly one of the processes",
    );
    assert.deepEqual(
      reports.map((report) => report.alreadyApplied + report.applied.length),
      [expected.length, expected.length],
    );
    const rows = await adminQuery<{ version: number; checksum: string }>(
      `SELECT version, checksum FROM ${target.schema}.sluice_migrations ORDER BY version`,
    );
    assert.deepEqual(
      rows,
      expected.map(({ version, checksum }) => ({ version, checksum })),
    );
  },
  { kinds: ["postgres"] },
);

storeTest(
  "waiting for another process's migration lock gives up after the timeout with a clear error",
  async (_t, target) => {
    const db = await target.open();
    const holder = await target.open({ migrate: false });
    const { advisoryLockKey } = await import("../../src/store/sql/locks.js");
    await holder.withSession(async (session) => {
      await session.query("SELECT pg_advisory_lock($1::bigint)", [advisoryLockKey("migrations", target.schema)]);
      const started = Date.now();
      await assert.rejects(runMigrations(db, { lockTimeoutMs: 150 }), hasCode(StoreErrorCode.MIGRATION_LOCK_TIMEOUT));
      assert.ok(Date.now() - started >= 150);
      await session.query("SELECT pg_advisory_unlock($1::bigint)", [advisoryLockKey("migrations", target.schema)]);
    });
    assert.deepEqual((await runMigrations(db, { lockTimeoutMs: 1_000 })).applied, []);
  },
  { kinds: ["postgres"] },
);

storeTest(
  "the built-in migration files are where the module looks for them",
  async () => {
    const text = await readFile(new URL("0001-outbox-and-inbox.sql", BUILT_IN_MIGRATIONS_DIR), "utf8");
    assert.match(text, /CREATE TABLE sluice_outbox/);
  },
  { kinds: ["pglite"] },
);
