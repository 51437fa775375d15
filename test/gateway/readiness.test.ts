import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";

import {
  componentReadinessCheck,
  databaseReadinessCheck,
  migrationsReadinessCheck,
  probeReadinessCheck,
  Readiness,
} from "../../src/gateway/readiness.js";
import { runMigrations } from "../../src/store/index.js";
import { storeTest } from "../store/harness.js";

storeTest("the database and migrations checks follow the real database", async (_t, target) => {
  const database = await target.open({ migrate: false });
  const readiness = new Readiness([databaseReadinessCheck(database), migrationsReadinessCheck(database)]);

  const fresh = await readiness.evaluate();
  assert.equal(fresh.ready, false);
  assert.deepEqual(fresh.checks[0], { name: "database", ready: true, reason: null });
  assert.equal(fresh.checks[1]?.name, "migrations");
  assert.match(fresh.checks[1]?.reason ?? "", /cannot read the applied migrations/);

  await runMigrations(database);
  const migrated = await readiness.evaluate();
  assert.equal(migrated.ready, true, JSON.stringify(migrated));

  const extraDir = await target.tempDir();
  await writeFile(join(extraDir, "0001-extra-table.sql"), "CREATE TABLE extra (id integer);\n");
  const sources = [{}, { component: "notes", directory: extraDir }];
  const withApp = new Readiness([migrationsReadinessCheck(database, sources)]);
  assert.deepEqual((await withApp.evaluate()).checks[0], {
    name: "migrations",
    ready: false,
    reason: "migrations not applied yet: notes/0001-extra-table",
  });
  await runMigrations(database, { component: "notes", directory: extraDir });
  assert.equal((await withApp.evaluate()).ready, true);

  await database.close();
  const closed = await readiness.evaluate();
  assert.equal(closed.ready, false);
  assert.equal(closed.checks[0]?.ready, false);
  assert.match(closed.checks[0]?.reason ?? "", /closed/);
});

test("a component check follows the component's ready flag", async () => {
  const worker = { name: "messages-worker", ready: false };
  const readiness = new Readiness([componentReadinessCheck(worker)]);
  assert.deepEqual(await readiness.evaluate(), {
    ready: false,
    checks: [{ name: "messages-worker", ready: false, reason: "messages-worker is not running" }],
  });
  worker.ready = true;
  assert.equal((await readiness.evaluate()).ready, true);
});

test("overlapping evaluations share one run of the checks", async () => {
  let runs = 0;
  const readiness = new Readiness([
    probeReadinessCheck("slow", async () => {
      runs += 1;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }),
  ]);
  const reports = await Promise.all(Array.from({ length: 50 }, () => readiness.evaluate()));
  assert.equal(runs, 1);
  assert.ok(reports.every((report) => report.ready));
  await readiness.evaluate();
  assert.equal(runs, 2);
});

test("long reasons are cut short", async () => {
  const readiness = new Readiness([{ name: "verbose", check: async () => "x".repeat(10_000) }]);
  const report = await readiness.evaluate();
  assert.equal(report.checks[0]?.reason?.length, 500);
});
