import assert from "node:assert/strict";
import { test } from "node:test";

import { isPostgresUrl, openDatabase, sqlStateOf, StoreError, StoreErrorCode } from "../../src/store/index.js";
import { storeTest, testOnEveryPgliteThread } from "./harness.js";

testOnEveryPgliteThread();

function hasCode(code: string) {
  return (error: unknown) => error instanceof StoreError && error.code === code;
}

storeTest("query returns rows and counts, with the same value types on both kinds", async (_t, target) => {
  const db = await target.open({ migrate: false });
  await db.exec(
    "CREATE SCHEMA IF NOT EXISTS " +
      target.schema +
      "; CREATE TABLE items (id bigserial PRIMARY KEY, " +
      "label text NOT NULL, body bytea, data jsonb, at timestamptz NOT NULL DEFAULT now())",
  );
  const inserted = await db.query<{ id: number }>(
    "INSERT INTO items (label, body, data) VALUES ($1, $2, $3::jsonb), ($4, NULL, NULL) RETURNING id",
    ["first", Buffer.from([0, 1, 255]), JSON.stringify({ nested: [1, "two"] }), "second"],
  );
  assert.deepEqual(inserted.rows, [{ id: 1 }, { id: 2 }]);
  assert.equal(inserted.rowCount, 2);

  const selected = await db.query<{ id: number; label: string; body: Buffer | null; data: unknown; at: Date }>(
    "SELECT id, label, body, data, at FROM items ORDER BY id",
  );
  assert.equal(selected.rowCount, 2);
  const [first, second] = selected.rows;
  assert.equal(first?.id, 1);
  assert.equal(first?.label, "first");
  assert.ok(Buffer.isBuffer(first?.body), "bytea comes back as a Buffer");
  assert.deepEqual([...(first?.body ?? [])], [0, 1, 255]);
  assert.deepEqual(first?.data, { nested: [1, "two"] });
  assert.ok(first?.at instanceof Date);
  assert.equal(second?.body, null);

  const updated = await db.query("UPDATE items SET label = upper(label) WHERE id > $1", [0]);
  assert.equal(updated.rowCount, 2);
  assert.deepEqual((await db.query("SELECT label FROM items ORDER BY id")).rows, [
    { label: "FIRST" },
    { label: "SECOND" },
  ]);

  const numbers = await db.query<{ small: number; big: bigint; list: number[] }>(
    "SELECT 12345678901::int8 AS small, 9007199254740993::int8 AS big, ARRAY[1, 2]::int8[] AS list",
  );
  assert.deepEqual(numbers.rows[0], { small: 12345678901, big: 9007199254740993n, list: [1, 2] });
});

storeTest("query takes exactly one statement; exec runs scripts", async (_t, target) => {
  const db = await target.open({ migrate: false });
  await assert.rejects(db.query("SELECT 1; SELECT 2"), (error: unknown) => sqlStateOf(error) === "42601");
  await db.exec(`CREATE SCHEMA IF NOT EXISTS ${target.schema}; CREATE TABLE a (n int); INSERT INTO a VALUES (1), (2);`);
  assert.deepEqual((await db.query("SELECT sum(n)::int AS total FROM a")).rows, [{ total: 3 }]);
});

storeTest("schema option: unqualified names resolve in the database's own schema", async (_t, target) => {
  const db = await target.open();
  assert.equal(db.schema, target.schema);
  const { rows } = await db.query<{ schema: string }>("SELECT current_schema() AS schema");
  assert.deepEqual(rows, [{ schema: target.schema }]);
  const tables = await db.query<{ table_name: string }>(
    "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name",
    [target.schema],
  );
  const names = tables.rows.map((row) => row.table_name);
  for (const table of ["sluice_inbox", "sluice_migrations", "sluice_outbox"]) assert.ok(names.includes(table), table);
  // Nothing leaked into the default schema.
  const leaked = await db.query(
    "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_name LIKE 'sluice_%'",
  );
  if (target.kind === "pglite") assert.equal(leaked.rowCount, 0);
});

storeTest("transaction commits the work and returns its result", async (_t, target) => {
  const db = await target.open();
  const result = await db.transaction(async (tx) => {
    await tx.query(
      "INSERT INTO sluice_inbox (consumer_group, event_id, topic, partition, record_offset) " +
        "VALUES ('g', 'e1', 't', 0, 1)",
    );
    const { rows } = await tx.query<{ n: number }>("SELECT count(*) AS n FROM sluice_inbox");
    return rows[0]?.n;
  });
  assert.equal(result, 1);
  assert.deepEqual((await db.query("SELECT event_id FROM sluice_inbox")).rows, [{ event_id: "e1" }]);
});

storeTest("transaction rolls back and rethrows when the work throws", async (_t, target) => {
  const db = await target.open();
  const failure = new Error("handler failed");
  await assert.rejects(
    db.transaction(async (tx) => {
      await tx.query(
        "INSERT INTO sluice_inbox (consumer_group, event_id, topic, partition, record_offset) " +
          "VALUES ('g', 'e1', 't', 0, 1)",
      );
      throw failure;
    }),
    (error: unknown) => error === failure,
  );
  assert.equal((await db.query("SELECT * FROM sluice_inbox")).rowCount, 0);

  // A failing statement aborts the transaction the same way, and the database stays usable.
  await assert.rejects(
    db.transaction(async (tx) => {
      await tx.query(
        "INSERT INTO sluice_inbox (consumer_group, event_id, topic, partition, record_offset) " +
          "VALUES ('g', 'e2', 't', 0, 1)",
      );
      await tx.query(
        "INSERT INTO sluice_inbox (consumer_group, event_id, topic, partition, record_offset) " +
          "VALUES ('g', 'e2', 't', 0, 1)",
      );
    }),
    (error: unknown) => sqlStateOf(error) === "23505",
  );
  assert.equal((await db.query("SELECT * FROM sluice_inbox")).rowCount, 0);
  assert.equal((await db.query("SELECT 1 AS one")).rowCount, 1);
});

storeTest(
  "a transaction whose work carried on after a failed statement is reported rolled back",
  async (_t, target) => {
    const db = await target.open();
    const insert = (id: string) =>
      "INSERT INTO sluice_inbox (consumer_group, event_id, topic, partition, record_offset) " +
      `VALUES ('g', '${id}', 't', 0, 1)`;
    await assert.rejects(
      db.transaction(async (tx) => {
        await tx.query(insert("kept-only-if-committed"));
        await tx.query(insert("kept-only-if-committed")).catch(() => undefined);
        return "the work thinks it succeeded";
      }),
      (error: unknown) => error instanceof StoreError && error.code === StoreErrorCode.TRANSACTION_ROLLED_BACK,
    );
    // A statement that fails after the work returned, because the work did not await it, aborts the transaction too.
    let unawaited: Promise<unknown> = Promise.resolve();
    await assert.rejects(
      db.transaction(async (tx) => {
        await tx.query(insert("kept-only-if-committed"));
        unawaited = tx.query(insert("kept-only-if-committed")).catch(() => undefined);
      }),
      (error: unknown) => error instanceof StoreError && error.code === StoreErrorCode.TRANSACTION_ROLLED_BACK,
    );
    await unawaited;
    assert.equal((await db.query("SELECT * FROM sluice_inbox")).rowCount, 0, "nothing was committed");
    // The database, and on a server the pooled connection, stay usable.
    assert.equal(await db.transaction(async (tx) => (await tx.query(insert("after"))).rowCount), 1);
    // A failed statement whose savepoint was rolled back leaves the transaction to commit.
    await db.transaction(async (tx) => {
      await tx.query("SAVEPOINT attempt");
      await tx.query(insert("after")).catch(() => tx.query("ROLLBACK TO SAVEPOINT attempt"));
      await tx.query(insert("kept"));
    });
    assert.equal((await db.query("SELECT * FROM sluice_inbox WHERE event_id = 'kept'")).rowCount, 1);
  },
);

storeTest("concurrent transactions each commit their own work", async (_t, target) => {
  const db = await target.open();
  await Promise.all(
    Array.from({ length: 8 }, (_, index) =>
      db.transaction(async (tx) => {
        await tx.query(
          "INSERT INTO sluice_inbox (consumer_group, event_id, topic, partition, record_offset) VALUES ($1, $2, 't', 0, $3)",
          ["g", `e${index}`, index],
        );
        await new Promise((resolve) => setTimeout(resolve, 5));
        await tx.query("UPDATE sluice_inbox SET record_offset = record_offset + 100 WHERE event_id = $1", [
          `e${index}`,
        ]);
      }),
    ),
  );
  const { rows } = await db.query<{ record_offset: number }>("SELECT record_offset FROM sluice_inbox ORDER BY 1");
  assert.deepEqual(
    rows.map((row) => row.record_offset),
    [100, 101, 102, 103, 104, 105, 106, 107],
  );
});

storeTest(
  "using the database instead of the handle inside its transaction is refused, not a hang",
  async (_t, target) => {
    // With a server the check is opt-in (the harness turns it on); with PGlite it is always on.
    const db = await target.open({ detectNestedUse: true });
    await assert.rejects(
      db.transaction(async () => {
        await db.query("SELECT 1");
      }),
      hasCode(StoreErrorCode.NESTED_DATABASE_USE),
    );
    await assert.rejects(
      db.transaction(() => db.transaction(async () => 1)),
      hasCode(StoreErrorCode.NESTED_DATABASE_USE),
    );
    assert.equal((await db.query("SELECT 1 AS one")).rowCount, 1);
  },
);

storeTest(
  "with a server and no detectNestedUse, the database stays usable inside a transaction, outside it",
  async (_t, target) => {
    const db = await target.open({ detectNestedUse: false });
    await db.exec("CREATE TABLE outside_writes (id integer PRIMARY KEY)");
    await assert.rejects(
      db.transaction(async () => {
        await db.query("INSERT INTO outside_writes (id) VALUES (1)");
        throw new Error("roll back");
      }),
      /roll back/,
    );
    assert.equal((await db.query("SELECT id FROM outside_writes")).rowCount, 1, "the write ran on its own");
  },
  { kinds: ["postgres"] },
);

storeTest("a transaction handle cannot be used after the transaction ends", async (_t, target) => {
  const db = await target.open();
  let leaked: { query: (sql: string) => Promise<unknown> } | null = null;
  await db.transaction(async (tx) => {
    leaked = tx;
  });
  assert.ok(leaked !== null);
  await assert.rejects(
    (leaked as { query: (sql: string) => Promise<unknown> }).query("SELECT 1"),
    hasCode(StoreErrorCode.TRANSACTION_FINISHED),
  );
});

storeTest("withSession keeps session state such as advisory locks on one connection", async (_t, target) => {
  const db = await target.open();
  const held = await db.withSession(async (session) => {
    await session.query("SELECT pg_advisory_lock(4242)");
    const { rows } = await session.query<{ n: number }>(
      "SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND objid = 4242 AND pid = pg_backend_pid()",
    );
    await session.query("SELECT pg_advisory_unlock(4242)");
    return rows[0]?.n;
  });
  assert.equal(held, 1);
  const committed = await db.withSession((session) =>
    session.transaction(async (tx) => {
      await tx.query(
        "INSERT INTO sluice_inbox (consumer_group, event_id, topic, partition, record_offset) " +
          "VALUES ('g', 'e1', 't', 0, 1)",
      );
      return "done";
    }),
  );
  assert.equal(committed, "done");
  assert.equal((await db.query("SELECT * FROM sluice_inbox")).rowCount, 1);
});

storeTest("a closed database refuses work with a clear error", async (_t, target) => {
  const db = await target.open();
  await db.close();
  await db.close();
  await assert.rejects(db.query("SELECT 1"), hasCode(StoreErrorCode.CLOSED));
  await assert.rejects(
    db.transaction(async () => 1),
    hasCode(StoreErrorCode.CLOSED),
  );
  await assert.rejects(
    db.listen("anything", () => undefined),
    hasCode(StoreErrorCode.CLOSED),
  );
});

test("PGlite opens in memory from scratch, without a snapshot", { timeout: 60_000 }, async () => {
  const db = await openDatabase({ schema: "fresh" });
  try {
    assert.equal(db.kind, "pglite");
    assert.deepEqual((await db.query("SELECT current_schema() AS schema")).rows, [{ schema: "fresh" }]);
    assert.equal((await db.query("SELECT * FROM sluice_outbox")).rowCount, 0);
  } finally {
    await db.close();
  }
});

storeTest(
  "PGlite keeps its data in the data directory across restarts",
  async (_t, target) => {
    const first = await target.open();
    await first.query(
      "INSERT INTO sluice_inbox (consumer_group, event_id, topic, partition, record_offset) " +
        "VALUES ('g', 'kept', 't', 0, 1)",
    );
    await first.close();
    const second = await target.open();
    assert.deepEqual((await second.query("SELECT event_id FROM sluice_inbox")).rows, [{ event_id: "kept" }]);
  },
  { persistent: true, kinds: ["pglite"] },
);

test("bad options are rejected before anything is opened", async () => {
  const invalid = (field: string) => (error: unknown) =>
    error instanceof StoreError && error.code === StoreErrorCode.INVALID_ARGUMENT && error.field === field;
  await assert.rejects(openDatabase({ schema: "Robert'); DROP TABLE students;--" }), invalid("schema"));
  await assert.rejects(openDatabase({ schema: "pg_catalog" }), invalid("schema"));
  await assert.rejects(openDatabase({ schema: "x".repeat(64) }), invalid("schema"));
  await assert.rejects(openDatabase({ url: "mysql://localhost/db" }), invalid("url"));
  await assert.rejects(openDatabase({ poolSize: 0 }), invalid("poolSize"));
  await assert.rejects(openDatabase({ statementTimeoutMs: -1 }), invalid("statementTimeoutMs"));
  await assert.rejects(openDatabase({ dataDir: "/tmp/x", pgliteSnapshot: new Blob([]) }), invalid("pgliteSnapshot"));
});

test("an unreachable server gives a connect error that names the address but not the password", async () => {
  await assert.rejects(
    openDatabase({ url: "postgres://someone:secret@127.0.0.1:1/nothing", connectTimeoutMs: 2_000 }),
    (error: unknown) =>
      error instanceof StoreError &&
      error.code === StoreErrorCode.CONNECT_FAILED &&
      error.message.includes("127.0.0.1:1") &&
      !error.message.includes("secret"),
  );
});

// The one check of a PostgreSQL URL: the store's url option, and `sluice up`, console, outbox and registry before
// they open a database.
test("isPostgresUrl takes postgres:// and postgresql:// URLs without spaces, and nothing else", () => {
  for (const url of [
    "postgres://localhost/app",
    "postgresql://app:secret@db.internal:5432/app?sslmode=require",
    "postgres://127.0.0.1",
  ]) {
    assert.equal(isPostgresUrl(url), true, url);
  }
  for (const url of [
    "",
    "postgres://",
    "postgres:/localhost/app",
    "postgre://localhost/app",
    "mysql://localhost/app",
    "POSTGRES://localhost/app",
    " postgres://localhost/app",
    "postgres://local host/app",
    "postgres://localhost/app\n",
  ]) {
    assert.equal(isPostgresUrl(url), false, JSON.stringify(url));
  }
});
