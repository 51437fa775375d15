// Requeueing parked outbox rows through the console's API (POST /api/outbox/:schema/requeue), on PGlite and the
// PostgreSQL server: chosen rows or all, a report of what happened, the audit log, 4xx answers that name the field,
// and the admin role that every change needs when auth is required.

import assert from "node:assert/strict";
import { test } from "node:test";

import { requeueParked, REQUEUE_ROWS_MAX } from "../../src/console/outbox-parked.js";
import { addOutboxEvents, listParkedOutboxRows, runMigrations, type Database } from "../../src/store/index.js";
import { parkedRowsForTest } from "../helpers/parked-rows.js";
import { storeTest } from "../store/harness.js";
import { api, consoleForTest, requiredAuthForTest } from "./harness.js";

storeTest("parked outbox rows are requeued through the console: chosen ones, then all", async (t, target) => {
  const db = await target.open();
  const parked = await parkedRowsForTest(db, "invoices", ["invoice-1", "invoice-2", "invoice-3"]);
  const scene = await consoleForTest(t, { database: db });
  const path = `/api/outbox/${target.schema}/requeue`;

  // An id given twice counts once; 999,999 is no parked row.
  const chosen = await api(scene, "POST", path, { ids: [parked[0]!.id, parked[0]!.id, 999_999] });
  assert.equal(chosen.status, 200);
  assert.deepEqual(
    { ...chosen.body, newIds: chosen.body.newIds.length },
    { schema: target.schema, requeued: 1, newIds: 1, notParked: 1, stillParked: 2 },
  );
  assert.deepEqual(
    (await listParkedOutboxRows(db)).map((row) => row.id),
    [parked[1]!.id, parked[2]!.id],
  );
  // The row went back as a new one after the cursor, with its event id, no longer parked.
  const { rows } = await db.query<{ event_id: string; parked: boolean; after_cursor: boolean }>(
    `SELECT o.event_id::text, o.parked_at IS NOT NULL AS parked,
       (o.xid, o.id) > (c.position_xid, c.position_id) AS after_cursor
     FROM sluice_outbox o, sluice_outbox_cursor c WHERE o.id = $1`,
    [chosen.body.newIds[0]],
  );
  assert.deepEqual(rows, [{ event_id: parked[0]!.eventId, parked: false, after_cursor: true }]);

  const all = await api(scene, "POST", path, { all: true });
  assert.equal(all.status, 200);
  assert.deepEqual([all.body.requeued, all.body.notParked, all.body.stillParked], [2, 0, 0]);
  assert.deepEqual(await listParkedOutboxRows(db), []);
  const again = await api(scene, "POST", path, { all: true });
  assert.deepEqual([again.status, again.body.requeued], [200, 0]);

  const audit = await api(scene, "GET", "/api/audit");
  assert.deepEqual(
    audit.body.entries.map((entry: { action: string; target: string; details: object }) => [
      entry.action,
      entry.target,
      entry.details,
    ]),
    [
      ["outbox.requeue", target.schema, { all: true }],
      ["outbox.requeue", target.schema, { all: true }],
      ["outbox.requeue", target.schema, { ids: 3 }],
    ],
  );
});

storeTest(
  "a requeue counts parked, unparked, unknown and repeated ids apart, in three statements",
  async (_t, target) => {
    const db = await target.open();
    const parked = await parkedRowsForTest(db, "invoices", ["invoice-1", "invoice-2", "invoice-3"]);
    const [waiting] = await db.transaction((tx) => addOutboxEvents(tx, [{ topic: "invoices", value: "waiting" }]));
    const counted = countingStatements(db);
    const report = await requeueParked(counted.database, target.schema, {
      ids: [parked[0]!.id, parked[1]!.id, parked[0]!.id, waiting!.id, 999_998, 999_999],
    });
    assert.equal(counted.statements(), 3, "one to look the outbox up, one to requeue, one to count what stays parked");
    assert.deepEqual(
      { ...report, newIds: report?.newIds.length },
      { schema: target.schema, requeued: 2, newIds: 2, notParked: 3, stillParked: 1 },
    );
    assert.ok(report!.newIds[0]! < report!.newIds[1]!, "the new rows keep the old ones' order");
    const { rows } = await db.query<{ event_id: string }>(
      "SELECT event_id::text FROM sluice_outbox WHERE id = ANY ($1::bigint[]) ORDER BY id",
      [report!.newIds],
    );
    assert.deepEqual(
      rows.map((row) => row.event_id),
      [parked[0]!.eventId, parked[1]!.eventId],
    );
    assert.deepEqual(
      (await listParkedOutboxRows(db)).map((row) => row.id),
      [parked[2]!.id],
    );
    const { rows: left } = await db.query<{ id: string; parked: boolean }>(
      "SELECT id::text, parked_at IS NOT NULL AS parked FROM sluice_outbox WHERE id = $1",
      [waiting!.id],
    );
    assert.deepEqual(left, [{ id: String(waiting!.id), parked: false }], "a row not parked is left alone");
  },
);

storeTest(
  `requeueing all takes the oldest ${REQUEUE_ROWS_MAX} parked rows, and the next request the rest`,
  async (t, target) => {
    const db = await target.open();
    const total = REQUEUE_ROWS_MAX + 1;
    await db.transaction((tx) =>
      addOutboxEvents(
        tx,
        Array.from({ length: total }, (_, index) => ({ topic: "invoices", value: `invoice-${index}` })),
      ),
    );
    // Parked as the relay leaves them, without parking each through the cursor.
    await db.query("UPDATE sluice_outbox SET parked_at = now(), failed_attempts = 5, last_error = 'MESSAGE_TOO_LARGE'");
    const newest = (await db.query<{ id: string }>("SELECT max(id)::text AS id FROM sluice_outbox")).rows[0]!.id;
    const scene = await consoleForTest(t, { database: db });
    const path = `/api/outbox/${target.schema}/requeue`;

    const first = await api(scene, "POST", path, { all: true });
    assert.equal(first.status, 200);
    assert.deepEqual(
      [first.body.requeued, first.body.newIds.length, first.body.notParked, first.body.stillParked],
      [REQUEUE_ROWS_MAX, REQUEUE_ROWS_MAX, 0, 1],
    );
    assert.deepEqual(
      (await listParkedOutboxRows(db)).map((row) => String(row.id)),
      [newest],
      "the newest parked row waits for the next request",
    );
    const second = await api(scene, "POST", path, { all: true });
    assert.deepEqual([second.body.requeued, second.body.stillParked], [1, 0]);
    const { rows } = await db.query<{ rows: string; parked: string }>(
      "SELECT count(*)::text AS rows, count(parked_at)::text AS parked FROM sluice_outbox",
    );
    assert.deepEqual(rows, [{ rows: String(total), parked: "0" }]);
  },
  { timeoutMs: 120_000 },
);

storeTest("a bad requeue request is answered with a 4xx error that names the problem", async (t, target) => {
  const db = await target.open();
  await parkedRowsForTest(db, "invoices", ["invoice-1"]);
  const scene = await consoleForTest(t, { database: db });
  const path = `/api/outbox/${target.schema}/requeue`;
  const cases: Array<[string, unknown, number, string]> = [
    [path, {}, 400, "ids"],
    [path, { ids: [1], all: true }, 400, "ids"],
    [path, { ids: [] }, 400, "ids"],
    [path, { ids: ["1"] }, 400, "ids"],
    [path, { ids: [0] }, 400, "ids"],
    [path, { all: "yes" }, 400, "all"],
    [path, [1, 2], 400, "body"],
    ["/api/outbox/not-a-schema!/requeue", { all: true }, 400, "schema"],
  ];
  for (const [url, body, status, field] of cases) {
    const answer = await api(scene, "POST", url, body);
    assert.equal(answer.status, status, `${JSON.stringify(body)} to ${url}`);
    assert.equal(answer.body.error, "SLUICE_VALIDATION_FAILED");
    assert.equal(answer.body.field, field, answer.body.message);
  }
  const unknown = await api(scene, "POST", "/api/outbox/no_such_schema/requeue", { all: true });
  assert.equal(unknown.status, 404);
  assert.match(unknown.body.message, /no_such_schema has no outbox/);
  assert.equal((await listParkedOutboxRows(db)).length, 1, "nothing was requeued");
});

test("with auth required, requeueing needs the admin role, like every change", async (t) => {
  const { auth, database, adminToken, viewerToken } = await requiredAuthForTest(t);
  const billing = database.withSchema("billing_service");
  await runMigrations(billing);
  await parkedRowsForTest(billing, "invoices", ["invoice-1"]);
  const scene = await consoleForTest(t, { auth, database });
  const path = "/api/outbox/billing_service/requeue";
  assert.equal((await api(scene, "POST", path, { all: true })).status, 401);
  const refused = await api(scene, "POST", path, { all: true }, { authorization: `Bearer ${viewerToken}` });
  assert.deepEqual([refused.status, refused.body.error], [403, "SLUICE_FORBIDDEN"]);
  assert.equal((await listParkedOutboxRows(billing)).length, 1);
  const done = await api(scene, "POST", path, { all: true }, { authorization: `Bearer ${adminToken}` });
  assert.deepEqual([done.status, done.body.requeued], [200, 1]);
});

/** A view of database that counts the statements sent through it and through its views of other schemas. */
function countingStatements(database: Database): { database: Database; statements: () => number } {
  let statements = 0;
  const wrap = (inner: Database): Database =>
    new Proxy(inner, {
      get(target, key) {
        if (key === "withSchema") return (schema: string) => wrap(target.withSchema(schema));
        const value: unknown = Reflect.get(target, key, target);
        if (typeof value !== "function") return value;
        if (key === "query" || key === "exec" || key === "transaction") statements += 1;
        return (value as (...args: unknown[]) => unknown).bind(target);
      },
    });
  return { database: wrap(database), statements: () => statements };
}
