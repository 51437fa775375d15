// Which statements a server prepares: writes without result columns, from their second run, within the bound; and
// that prepared statements behave like unprepared ones on a real server.

import assert from "node:assert/strict";
import { test } from "node:test";

import type { DatabaseSession } from "../../src/store/index.js";
import {
  PREPARED_STATEMENT_CHARS_MAX,
  PreparedStatements,
  SEEN_ONCE_MAX,
} from "../../src/store/prepared-statements.js";
import { storeTest } from "./harness.js";

const INSERT = "INSERT INTO ledger (amount) VALUES ($1)";

test("a statement without result columns is named from its second run on, each text under its own name", () => {
  const prepared = new PreparedStatements(10);
  assert.equal(prepared.nameFor(INSERT), undefined);
  prepared.noteRun(INSERT, 0);
  assert.equal(prepared.nameFor(INSERT), undefined, "one run says nothing about the next");
  prepared.noteRun(INSERT, 0);
  const name = prepared.nameFor(INSERT);
  assert.match(name ?? "", /^sluice_\d+$/);
  const other = "DELETE FROM ledger WHERE amount = $1";
  prepared.noteRun(other, 0);
  prepared.noteRun(other, 0);
  assert.notEqual(prepared.nameFor(other), name);
});

test("statements with result columns, long texts and those past the bound stay unnamed", () => {
  const prepared = new PreparedStatements(1);
  const select = "SELECT amount FROM ledger";
  prepared.noteRun(select, 1);
  prepared.noteRun(select, 1);
  assert.equal(prepared.nameFor(select), undefined, "a cached plan could change its result type");
  const long = `INSERT INTO ledger (amount) VALUES (1) -- ${"x".repeat(PREPARED_STATEMENT_CHARS_MAX)}`;
  prepared.noteRun(long, 0);
  prepared.noteRun(long, 0);
  assert.equal(prepared.nameFor(long), undefined);
  prepared.noteRun(INSERT, 0);
  prepared.noteRun(INSERT, 0);
  assert.ok(prepared.nameFor(INSERT) !== undefined);
  const second = "UPDATE ledger SET amount = $1";
  prepared.noteRun(second, 0);
  prepared.noteRun(second, 0);
  assert.equal(prepared.nameFor(second), undefined, "the bound of one name is reached");
  assert.equal(new PreparedStatements(0).nameFor(INSERT), undefined);
});

test("texts seen once are forgotten in bulk when too many wait, and a lost statement is no longer named", () => {
  const prepared = new PreparedStatements(10);
  prepared.noteRun(INSERT, 0);
  for (let index = 0; index < SEEN_ONCE_MAX; index += 1) prepared.noteRun(`INSERT INTO t${index} VALUES (1)`, 0);
  prepared.noteRun(INSERT, 0);
  assert.equal(prepared.nameFor(INSERT), undefined, "its first run was forgotten");
  prepared.noteRun(INSERT, 0);
  assert.ok(prepared.nameFor(INSERT) !== undefined);
  prepared.noteFailure(INSERT, Object.assign(new Error("unique violation"), { code: "23505" }));
  assert.ok(prepared.nameFor(INSERT) !== undefined, "an ordinary failure keeps the name");
  prepared.noteFailure(INSERT, Object.assign(new Error("does not exist"), { code: "26000" }));
  assert.equal(prepared.nameFor(INSERT), undefined);
});

/** The statements about the ledger table prepared on the session's connection (the migrations' are there too). */
async function preparedTexts(session: DatabaseSession): Promise<string[]> {
  const { rows } = await session.query<{ statement: string }>(
    "SELECT statement FROM pg_prepared_statements WHERE statement LIKE '%ledger%' ORDER BY prepare_time",
  );
  return rows.map((row) => row.statement);
}

storeTest(
  "a server prepares repeated writes on each connection and runs them as before, errors included",
  async (_t, target) => {
    const db = await target.open();
    await db.exec("CREATE TABLE ledger (id bigserial PRIMARY KEY, amount integer NOT NULL CHECK (amount >= 0))");
    const select = "SELECT count(*)::int AS total FROM ledger";
    await db.withSession(async (session) => {
      for (let amount = 1; amount <= 3; amount += 1) {
        await session.transaction(async (tx) => {
          await tx.query(INSERT, [amount]);
          await tx.query(select);
        });
      }
      assert.deepEqual(await preparedTexts(session), [INSERT], "the write is prepared, the read is not");
      // A prepared statement fails as the unprepared one would, and the transaction rolls back.
      await assert.rejects(
        session.transaction((tx) => tx.query(INSERT, [-1])),
        (error: unknown) => (error as { code?: string }).code === "23514",
      );
      await session.query(INSERT, [4]);
    });
    const { rows } = await db.query<{ amounts: number[] }>(
      "SELECT array_agg(amount ORDER BY id) AS amounts FROM ledger",
    );
    assert.deepEqual(rows[0]?.amounts, [1, 2, 3, 4]);

    const unprepared = await target.open({ preparedStatementsMax: 0 });
    await unprepared.withSession(async (session) => {
      for (let amount = 5; amount <= 7; amount += 1) await session.query(INSERT, [amount]);
      assert.deepEqual(await preparedTexts(session), []);
    });
  },
  { kinds: ["postgres"] },
);
