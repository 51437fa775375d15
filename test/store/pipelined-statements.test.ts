// Statements issued together on a server connection are pipelined: they leave in one socket write rather than one
// each (and a round trip each), are answered in order, and a failure among them fails it and those after it in the
// transaction, which then rolls back as a whole.

import assert from "node:assert/strict";
import { Socket } from "node:net";

import { storeTest } from "./harness.js";

const STATEMENTS = 20;
const INSERT = "INSERT INTO ledger (amount) VALUES ($1)";

/** Counts the writes handed to sockets (each a system call) while work runs. */
async function countSocketWrites<T>(work: () => Promise<T>): Promise<{ result: T; writes: number }> {
  const prototype = Socket.prototype as unknown as Record<"_write" | "_writev", (...args: unknown[]) => unknown>;
  const originals = { _write: prototype._write, _writev: prototype._writev };
  let writes = 0;
  for (const method of ["_write", "_writev"] as const) {
    const original = originals[method];
    prototype[method] = function (this: Socket, ...args: unknown[]) {
      writes += 1;
      return original.apply(this, args);
    };
  }
  try {
    return { result: await work(), writes };
  } finally {
    prototype._write = originals._write;
    prototype._writev = originals._writev;
  }
}

storeTest(
  "statements issued together in a transaction leave in one write and are answered in order",
  async (_t, target) => {
    const db = await target.open();
    await db.exec("CREATE TABLE ledger (id bigserial PRIMARY KEY, amount integer NOT NULL)");
    // Prepared from its second run, as a consumer's handler statement is by then.
    for (let run = 0; run < 2; run++) await db.query(INSERT, [0]);
    const { result, writes } = await countSocketWrites(() =>
      db.transaction(async (tx) => {
        const inserts = Array.from({ length: STATEMENTS }, (_, index) => tx.query(INSERT, [index + 1]));
        const counted = tx.query<{ total: number }>("SELECT count(*)::int AS total FROM ledger");
        await Promise.all(inserts);
        return (await counted).rows[0]?.total;
      }),
    );
    assert.equal(result, 2 + STATEMENTS, "the count, sent last, saw every insert before it");
    // BEGIN, the burst, COMMIT: one write each; a write per statement would be over twenty.
    assert.ok(writes <= 4, `${writes} socket writes for ${STATEMENTS + 1} statements`);
    const { rows } = await db.query<{ amount: number }>("SELECT amount FROM ledger WHERE amount > 0 ORDER BY id");
    assert.deepEqual(
      rows.map((row) => row.amount),
      Array.from({ length: STATEMENTS }, (_, index) => index + 1),
    );
  },
  { kinds: ["postgres"] },
);

storeTest(
  "a failing statement among pipelined ones fails it and those after it, and the transaction rolls back",
  async (_t, target) => {
    const db = await target.open();
    await db.exec("CREATE TABLE ledger (id bigserial PRIMARY KEY, amount integer NOT NULL CHECK (amount >= 0))");
    let settled: PromiseSettledResult<unknown>[] = [];
    await assert.rejects(
      db.transaction(async (tx) => {
        settled = await Promise.allSettled([tx.query(INSERT, [1]), tx.query(INSERT, [-1]), tx.query(INSERT, [2])]);
        const failure = settled.find((outcome) => outcome.status === "rejected");
        if (failure !== undefined) throw failure.reason;
      }),
      /check constraint/,
    );
    assert.deepEqual(
      settled.map((outcome) => outcome.status),
      ["fulfilled", "rejected", "rejected"],
    );
    const last = settled[2];
    assert.match(last?.status === "rejected" ? String(last.reason) : "", /current transaction is aborted/);
    const { rows } = await db.query<{ total: number }>("SELECT count(*)::int AS total FROM ledger");
    assert.equal(rows[0]?.total, 0, "nothing of the transaction committed");
  },
  { kinds: ["postgres"] },
);
