// What only PGlite in a worker thread can do wrong: the thread dies, the database closes while calls are in flight,
// too many calls wait, calls queued at once run out of order. The behaviour it shares with PGlite on the main thread
// runs in the other store tests, which run every PGlite case on both threads.

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  openDatabase,
  PGLITE_THREAD_ENV,
  resolveDatabaseOptions,
  sqlStateOf,
  StoreError,
  StoreErrorCode,
  type Database,
  type OpenDatabaseOptions,
  type PgliteThread,
  type QueryResult,
} from "../../src/store/index.js";
import { sharedPgliteSnapshot } from "./harness.js";

function hasCode(code: string) {
  return (error: unknown) => error instanceof StoreError && error.code === code;
}

async function openWorker(options: OpenDatabaseOptions = {}): Promise<Database> {
  return openDatabase({ pgliteSnapshot: await sharedPgliteSnapshot(), pgliteThread: "worker", ...options });
}

test("a crash of the worker thread fails every pending call and every later one, and close still returns", async () => {
  // A small heap that a two-million-row result overflows: the thread dies of it, as it would of any fault.
  const database = await openWorker({ pgliteWorkerHeapMb: 64, migrate: false });
  try {
    const tooBig = database.query("SELECT g AS n, 'row ' || g AS text FROM generate_series(1, 2000000) AS g");
    const queued = database.query("SELECT 1 AS one");
    const transaction = database.transaction(async (tx) => tx.query("SELECT 2 AS two"));
    await assert.rejects(tooBig, (error: unknown) => {
      assert.ok(hasCode(StoreErrorCode.WORKER_FAILED)(error));
      assert.equal((error as StoreError & { cause: { code?: string } }).cause.code, "ERR_WORKER_OUT_OF_MEMORY");
      return true;
    });
    await assert.rejects(queued, hasCode(StoreErrorCode.WORKER_FAILED));
    await assert.rejects(transaction, hasCode(StoreErrorCode.WORKER_FAILED));
    await assert.rejects(database.query("SELECT 1"), hasCode(StoreErrorCode.WORKER_FAILED));
    await assert.rejects(
      database.listen("after_crash", () => {}),
      hasCode(StoreErrorCode.WORKER_FAILED),
    );
  } finally {
    await database.close();
  }
  await assert.rejects(database.query("SELECT 1"), hasCode(StoreErrorCode.CLOSED));
});

test("close while calls are in flight lets them finish, then refuses new ones", async () => {
  const database = await openWorker({ migrate: false });
  await database.exec("CREATE TABLE items (id int PRIMARY KEY)");
  let releaseWork: () => void = () => {};
  const workMayFinish = new Promise<void>((resolve) => (releaseWork = resolve));
  const transaction = database.transaction(async (tx) => {
    await tx.query("INSERT INTO items VALUES (1)");
    await workMayFinish;
    await tx.query("INSERT INTO items VALUES (2)");
    return "committed";
  });
  const queries = Array.from({ length: 20 }, (_, index) => database.query("SELECT $1::int AS n", [index]));
  const closed = database.close();
  await assert.rejects(database.query("SELECT 1"), hasCode(StoreErrorCode.CLOSED));
  releaseWork();
  assert.equal(await transaction, "committed");
  assert.deepEqual(
    (await Promise.all(queries)).map((result) => result.rows[0]?.n),
    Array.from({ length: 20 }, (_, index) => index),
  );
  await closed;
  await assert.rejects(
    database.transaction(async () => {}),
    hasCode(StoreErrorCode.CLOSED),
  );
});

test("a failed statement leaves the database usable, in a transaction and outside", async () => {
  const database = await openWorker({ migrate: false });
  try {
    await assert.rejects(database.query("SELEC 1"), (error: unknown) => sqlStateOf(error) === "42601");
    assert.deepEqual((await database.query("SELECT 1 AS one")).rows, [{ one: 1 }]);
    await database.exec("CREATE TABLE items (id int PRIMARY KEY)");
    await assert.rejects(
      database.transaction(async (tx) => {
        await tx.query("INSERT INTO items VALUES (1)");
        await tx.query("INSERT INTO items VALUES (1)").catch(() => undefined);
      }),
      hasCode(StoreErrorCode.TRANSACTION_ROLLED_BACK),
    );
    await database.transaction(async (tx) => {
      await tx.query("INSERT INTO items VALUES (2)");
    });
    assert.deepEqual((await database.query("SELECT id FROM items")).rows, [{ id: 2 }]);
  } finally {
    await database.close();
  }
});

test("calls past the limit of waiting calls fail at once, and the others run", async () => {
  const database = await openWorker({ pgliteWorkerRequestsMax: 3, migrate: false });
  try {
    const calls = Array.from({ length: 5 }, (_, index) => database.query("SELECT $1::int AS n", [index]));
    const settled = await Promise.allSettled(calls);
    assert.deepEqual(
      settled.map((outcome) => outcome.status),
      ["fulfilled", "fulfilled", "fulfilled", "rejected", "rejected"],
    );
    await assert.rejects(calls[3] as Promise<unknown>, hasCode(StoreErrorCode.QUEUE_FULL));
    assert.deepEqual((await database.query("SELECT 1 AS one")).rows, [{ one: 1 }]);
  } finally {
    await database.close();
  }
});

test("a transaction's later statements get through while other calls fill the queue behind it", async () => {
  const database = await openWorker({ pgliteWorkerRequestsMax: 3, migrate: false });
  try {
    let firstDone!: () => void;
    let othersSent!: () => void;
    const first = new Promise<void>((resolve) => (firstDone = resolve));
    const queued = new Promise<void>((resolve) => (othersSent = resolve));
    const transaction = database.transaction(async (tx) => {
      await tx.query("SELECT 1");
      firstDone();
      await queued;
      return (await tx.query("SELECT 2 AS two")).rows;
    });
    await first;
    // The others wait for the worker, which the transaction holds: they fill the queue up to its limit.
    const others = Array.from({ length: 3 }, (_, index) => database.query("SELECT $1::int AS n", [index]));
    othersSent();
    const rows = await transaction;
    assert.deepEqual(rows, [{ two: 2 }]);
    assert.deepEqual(
      (await Promise.allSettled(others)).map((outcome) => outcome.status),
      ["fulfilled", "fulfilled", "fulfilled"],
    );
  } finally {
    await database.close();
  }
});

test("SLUICE_PGLITE_THREAD chooses the thread when the options do not, and a bad value is refused", () => {
  const saved = process.env[PGLITE_THREAD_ENV];
  try {
    process.env[PGLITE_THREAD_ENV] = "main";
    assert.equal(resolveDatabaseOptions({}).pgliteThread, "main");
    assert.equal(resolveDatabaseOptions({ pgliteThread: "worker" }).pgliteThread, "worker");
    process.env[PGLITE_THREAD_ENV] = "both";
    assert.throws(() => resolveDatabaseOptions({}), hasCode(StoreErrorCode.INVALID_ARGUMENT));
    assert.throws(() => resolveDatabaseOptions({}), /SLUICE_PGLITE_THREAD must be "main" or "worker", not "both"/);
    assert.throws(
      () => resolveDatabaseOptions({ pgliteThread: "both" as PgliteThread }),
      /pgliteThread: must be "main" or "worker"$/,
    );
  } finally {
    if (saved === undefined) delete process.env[PGLITE_THREAD_ENV];
    else process.env[PGLITE_THREAD_ENV] = saved;
  }
});

test("transactions and single calls queued at once run one at a time in order, each transaction whole", async () => {
  const database = await openWorker({ migrate: false });
  try {
    // A serial's numbers are taken in the order the inserts run and are not given back by a rollback, so the numbers
    // show where every insert ran, the rolled-back ones included.
    await database.exec("CREATE TABLE runs (n serial PRIMARY KEY, label text NOT NULL)");
    const insert = "INSERT INTO runs (label) VALUES ($1) RETURNING n";
    let releaseBlocker!: () => void;
    const blockerMayEnd = new Promise<void>((resolve) => (releaseBlocker = resolve));
    let blockerBegun!: () => void;
    const begun = new Promise<void>((resolve) => (blockerBegun = resolve));
    // Holds the worker in a transaction so that every call below waits in its queue at once.
    const blocker = database.transaction(async (tx) => {
      await tx.query(insert, ["blocker"]);
      blockerBegun();
      await blockerMayEnd;
    });
    await begun;

    const numbersOf = async (results: Promise<QueryResult<{ n: number }>>[]) =>
      (await Promise.all(results)).map((result) => result.rows[0]?.n);
    const outcomes: Promise<unknown>[] = [];
    // Enough rounds for the worker's queue to hold seventy turns at once and compact as it drains (fifo.ts).
    const rounds = 10;
    for (let round = 0; round < rounds; round += 1) {
      outcomes.push(database.query(insert, [`single ${round}`]).then((result) => result.rows[0]?.n));
      // Statements sent without awaiting, then committed once they all replied.
      outcomes.push(
        database.transaction(async (tx) =>
          numbersOf([1, 2, 3].map((statement) => tx.query<{ n: number }>(insert, [`piped ${round}.${statement}`]))),
        ),
      );
      // Statements and the rollback all queued behind the transaction's first statement.
      const rollingBack: Promise<QueryResult<{ n: number }>>[] = [];
      const rollback = database.transaction(async (tx) => {
        for (const statement of [1, 2]) rollingBack.push(tx.query(insert, [`rolled back ${round}.${statement}`]));
        throw new Error(`roll back ${round}`);
      });
      outcomes.push(assert.rejects(rollback, new RegExp(`roll back ${round}`)).then(() => numbersOf(rollingBack)));
      outcomes.push(database.query("SELECT count(*)::int AS n FROM runs").then((result) => result.rows[0]?.n));
      // A statement that fails after the work returned, and the commit that checks for it, queued behind the first.
      const failingInserts: Promise<QueryResult<{ n: number }>>[] = [];
      const failures: Promise<unknown>[] = [];
      const failed = database.transaction(async (tx) => {
        failingInserts.push(tx.query(insert, [`failed ${round}`]));
        failures.push(tx.query("SELECT 1 / 0").catch((error: unknown) => sqlStateOf(error)));
      });
      outcomes.push(
        assert
          .rejects(failed, hasCode(StoreErrorCode.TRANSACTION_ROLLED_BACK))
          .then(async () => [await Promise.all(failures), await numbersOf(failingInserts)]),
      );
      outcomes.push(database.query("SELEC 1").catch((error: unknown) => sqlStateOf(error)));
      // Statements awaited one by one: the rest wait for each.
      outcomes.push(
        database.transaction(async (tx) => [
          (await tx.query<{ n: number }>(insert, [`awaited ${round}.1`])).rows[0]?.n,
          (await tx.query<{ n: number }>(insert, [`awaited ${round}.2`])).rows[0]?.n,
        ]),
      );
    }
    releaseBlocker();
    await blocker;

    const expected: unknown[] = [];
    const committed: string[] = ["blocker"];
    let next = 2;
    const take = (count: number) => Array.from({ length: count }, () => next++);
    for (let round = 0; round < rounds; round += 1) {
      expected.push(take(1)[0], take(3), take(2), committed.length + 4, [["22012"], take(1)], "42601", take(2));
      committed.push(`single ${round}`, ...[1, 2, 3].map((statement) => `piped ${round}.${statement}`));
      committed.push(`awaited ${round}.1`, `awaited ${round}.2`);
    }
    assert.deepEqual(await Promise.all(outcomes), expected);
    assert.deepEqual(
      (await database.query<{ label: string }>("SELECT label FROM runs ORDER BY n")).rows.map((row) => row.label),
      committed,
    );
  } finally {
    await database.close();
  }
});

test("a transaction whose start failed refuses its later statements, and its commit fails", async () => {
  const database = await openWorker({ migrate: false });
  // Nothing public makes a transaction's start fail, so the requests go to the worker as the client would send them,
  // with a search path that fails standing for a failed BEGIN.
  const host = (database as unknown as { host: WorkerHostForTests }).host;
  try {
    await database.exec("CREATE TABLE items (id int)");
    const transactionId = 1_000_000;
    const statement = (id: number, searchPath: string | null) => ({
      kind: "query" as const,
      transactionId,
      searchPath,
      sql: `INSERT INTO items VALUES (${id})`,
      params: [],
    });
    await assert.rejects(host.call(statement(1, "SELECT 1/0")), /division by zero/);
    // The work caught the failure and went on: the next statement must not begin a new transaction under the id.
    await assert.rejects(host.call(statement(2, null)), /division by zero/);
    const end = await host.send({ kind: "end", transactionId, commit: true, checkAborted: true }, false);
    assert.equal(end.kind, "failed");
    assert.deepEqual((await database.query("SELECT id FROM items")).rows, []);
    // The failed transaction is forgotten at its end: the id may begin a transaction again.
    await host.call(statement(3, null));
    assert.equal(
      (await host.send({ kind: "end", transactionId, commit: true, checkAborted: false }, false)).kind,
      "ok",
    );
    assert.deepEqual((await database.query("SELECT id FROM items")).rows, [{ id: 3 }]);
  } finally {
    // Ends whatever the id still holds open, so that close does not wait for it when the test failed midway.
    await host.send({ kind: "end", transactionId: 1_000_000, commit: false, checkAborted: false }, false);
    await database.close();
  }
});

/** The part of the worker's client that the test above talks to directly. */
interface WorkerHostForTests {
  call(body: object): Promise<unknown>;
  send(body: object, counted: boolean): Promise<{ kind: string }>;
}
