// Database.withSchema: services that each own a schema share one database (PGlite's single session, or one pool).

import assert from "node:assert/strict";

import { runMigrations, StoreError, StoreErrorCode, type Database } from "../../src/store/index.js";
import { adminQuery, type StoreTarget, storeTest, testOnEveryPgliteThread } from "./harness.js";

testOnEveryPgliteThread();

/** A view of a schema named after the test's own, dropped after the test on a server. */
function viewOf(t: { after(fn: () => Promise<void>): void }, target: StoreTarget, db: Database, suffix: string) {
  const schema = `${target.schema}_${suffix}`;
  if (target.kind === "postgres") t.after(() => adminQuery(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).then(() => {}));
  return db.withSchema(schema);
}

storeTest("a view resolves names and runs migrations in its own schema, beside the database's", async (t, target) => {
  const db = await target.open();
  const orders = viewOf(t, target, db, "orders");
  await runMigrations(orders);
  assert.equal(orders.schema, `${target.schema}_orders`);
  assert.deepEqual((await orders.query("SELECT current_schema() AS schema")).rows, [{ schema: orders.schema }]);
  assert.deepEqual((await db.query("SELECT current_schema() AS schema")).rows, [{ schema: target.schema }]);

  await orders.query(
    "INSERT INTO sluice_inbox (consumer_group, event_id, topic, partition, record_offset) VALUES ('g', 'o', 't', 0, 1)",
  );
  await db.query(
    "INSERT INTO sluice_inbox (consumer_group, event_id, topic, partition, record_offset) VALUES ('g', 'd', 't', 0, 1)",
  );
  assert.deepEqual((await orders.query("SELECT event_id FROM sluice_inbox")).rows, [{ event_id: "o" }]);
  assert.deepEqual((await db.query("SELECT event_id FROM sluice_inbox")).rows, [{ event_id: "d" }]);

  await orders.exec("CREATE TABLE lines (n int); INSERT INTO lines VALUES (1), (2)");
  const inTransaction = await orders.transaction(async (tx) => {
    await tx.query("INSERT INTO lines VALUES (3)");
    return (await tx.query<{ total: number }>("SELECT sum(n)::int AS total FROM lines")).rows[0]?.total;
  });
  assert.equal(inTransaction, 6);
  await assert.rejects(db.query("SELECT * FROM lines"), /lines/, "the table is not visible from the other schema");
  const session = await orders.withSession(async (s) => (await s.query("SELECT count(*)::int AS n FROM lines")).rows);
  assert.deepEqual(session, [{ n: 3 }]);
});

storeTest("views of different schemas used concurrently never see each other's tables", async (t, target) => {
  const db = await target.open({ migrate: false });
  const views = ["a", "b", "c"].map((suffix) => viewOf(t, target, db, suffix));
  for (const [index, view] of views.entries()) {
    await view.exec(`CREATE SCHEMA IF NOT EXISTS ${view.schema}; CREATE TABLE owner (name text)`);
    await view.query("INSERT INTO owner VALUES ($1)", [String(index)]);
  }
  const reads = await Promise.all(
    Array.from({ length: 60 }, async (_, round) => {
      const index = round % views.length;
      const view = views[index] as Database;
      const rows =
        round % 2 === 0
          ? (await view.query<{ name: string }>("SELECT name FROM owner")).rows
          : await view.transaction(async (tx) => (await tx.query<{ name: string }>("SELECT name FROM owner")).rows);
      return { index, rows };
    }),
  );
  for (const { index, rows } of reads) assert.deepEqual(rows, [{ name: String(index) }]);
  // The database's own schema is untouched by the views' search paths.
  const { rows } = await db.query<{ path: string }>("SELECT current_setting('search_path') AS path");
  assert.equal(rows[0]?.path.replaceAll('"', ""), target.schema);
});

storeTest("closing a view retires only the view; closing the database closes its views", async (t, target) => {
  const db = await target.open();
  const first = viewOf(t, target, db, "first");
  const second = viewOf(t, target, db, "second");
  await runMigrations(first);
  await first.close();
  await assert.rejects(
    first.query("SELECT 1"),
    (error) => error instanceof StoreError && error.code === "SLUICE_STORE_CLOSED",
  );
  assert.deepEqual((await second.query("SELECT 1 AS one")).rows, [{ one: 1 }]);
  assert.deepEqual((await db.query("SELECT 1 AS one")).rows, [{ one: 1 }]);
  await db.close();
  await assert.rejects(
    second.query("SELECT 1"),
    (error) => error instanceof StoreError && error.code === StoreErrorCode.CLOSED,
  );
  assert.throws(
    () => db.withSchema("later"),
    (error) => error instanceof StoreError && error.code === StoreErrorCode.CLOSED,
  );
});

storeTest("a view refuses a schema name that is not a plain identifier", async (_t, target) => {
  const db = await target.open({ migrate: false });
  assert.throws(() => db.withSchema("bad name; DROP TABLE x"), StoreError);
});
