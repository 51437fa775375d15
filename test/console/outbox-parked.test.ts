// Requeueing parked outbox rows through the console's API (POST /api/outbox/:schema/requeue), on PGlite and the
// PostgreSQL server: chosen rows or all, a report of what happened, the audit log, 4xx answers that name the field,
// and the admin role that every change needs when auth is required.

import assert from "node:assert/strict";
import { test } from "node:test";

import { listParkedOutboxRows, runMigrations } from "../../src/store/index.js";
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
