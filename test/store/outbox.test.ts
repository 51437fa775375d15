import assert from "node:assert/strict";

import {
  addOutboxEvent,
  addOutboxEvents,
  advanceOutboxCursor,
  deletePublishedOutboxEvents,
  listParkedOutboxRows,
  outboxSql,
  parkOutboxRow,
  partitionKeyForKey,
  readOutboxLag,
  recordOutboxFailures,
  requeueParkedOutbox,
  requeueParkedOutboxRows,
  sqlStateOf,
  StoreError,
  StoreErrorCode,
  takeOutboxCursor,
} from "../../src/store/index.js";
import { storeTest, testOnEveryPgliteThread } from "./harness.js";
import { readSettled, readThrough } from "./outbox-reads.js";

testOnEveryPgliteThread();

function invalid(field: string) {
  return (error: unknown) =>
    error instanceof StoreError && error.code === StoreErrorCode.INVALID_ARGUMENT && error.field === field;
}

storeTest("adding events stores them as given, with defaults, and skips a repeated event id", async (_t, target) => {
  const db = await target.open();
  const eventId = "6f1c2a4e-8b1d-4c3e-9f2a-0123456789ab";
  const added = await db.transaction((tx) =>
    addOutboxEvents(tx, [
      { topic: "orders", key: "order-1", value: '{"total":5}', headers: { traceparent: "00-abc-def-01" }, eventId },
      { topic: "orders", key: Buffer.from([0xff, 0x00]), value: new Uint8Array([1, 2, 3]) },
      { topic: "orders.audit", value: null },
      { topic: "orders", key: "order-1", value: "x", partitionKey: null },
    ]),
  );
  assert.equal(added.length, 4);
  assert.deepEqual(
    added.map((event) => event.id),
    [1, 2, 3, 4],
  );
  assert.equal(added[0]?.eventId, eventId);
  assert.match(added[1]?.eventId ?? "", /^[0-9a-f-]{36}$/);

  const { rows } = await db.query<outboxSql.OutboxRow>("SELECT * FROM sluice_outbox ORDER BY id");
  assert.deepEqual(
    rows.map((row) => [
      row.topic,
      row.partition_key,
      row.key?.toString("hex") ?? null,
      row.value?.toString("hex") ?? null,
    ]),
    [
      ["orders", "order-1", Buffer.from("order-1").toString("hex"), Buffer.from('{"total":5}').toString("hex")],
      ["orders", "\\xff00", "ff00", "010203"],
      ["orders.audit", null, null, null],
      ["orders", null, Buffer.from("order-1").toString("hex"), Buffer.from("x").toString("hex")],
    ],
  );
  assert.deepEqual(rows[0]?.headers, { traceparent: "00-abc-def-01" });
  assert.deepEqual(rows[1]?.headers, {});
  assert.ok(rows.every((row) => row.failed_attempts === 0 && row.last_error === null && /^[0-9]+$/.test(row.xid)));

  // Retrying the same event adds nothing.
  assert.equal(await addOutboxEvent(db, { topic: "orders", key: "order-1", value: "again", eventId }), null);
  assert.equal((await db.query("SELECT * FROM sluice_outbox")).rowCount, 4);

  // The same key bytes give the same partition key however they were passed.
  assert.equal(partitionKeyForKey(Buffer.from("order-1")), "order-1");
});

storeTest("events added in a transaction that rolls back are gone with it", async (_t, target) => {
  const db = await target.open();
  await assert.rejects(
    db.transaction(async (tx) => {
      await addOutboxEvents(tx, [{ topic: "orders", key: "k", value: "v" }]);
      throw new Error("business write failed");
    }),
  );
  assert.deepEqual(await readOutboxLag(db), { waiting: 0, inFlight: 0, oldestCreatedAt: null, oldestAgeMs: null });
});

storeTest("bad events are refused with the field named, and the table enforces the same rules", async (_t, target) => {
  const db = await target.open();
  await assert.rejects(addOutboxEvents(db, [{ topic: "bad topic", value: "v" }]), invalid("events[0].topic"));
  await assert.rejects(addOutboxEvents(db, [{ topic: "t", value: "v", eventId: "42" }]), invalid("events[0].eventId"));
  await assert.rejects(
    addOutboxEvents(db, [{ topic: "t", value: "v", headers: { n: 1 as unknown as string } }]),
    invalid("events[0].headers.n"),
  );
  await assert.rejects(
    addOutboxEvents(db, [{ topic: "t", value: "x".repeat(2_000) }], { recordBytesMax: 1_000 }),
    invalid("events[0]"),
  );
  await assert.rejects(
    addOutboxEvents(db, [{ topic: "t", value: "v", partitionKey: "p".repeat(5_000) }]),
    invalid("events[0].partitionKey"),
  );
  await assert.rejects(
    db.query("INSERT INTO sluice_outbox (event_id, topic) VALUES (gen_random_uuid(), 'no spaces allowed')"),
    (error: unknown) => sqlStateOf(error) === "23514",
  );
  await assert.rejects(
    db.query(`INSERT INTO sluice_outbox (event_id, topic, headers) VALUES (gen_random_uuid(), 't', '{"n": 1}')`),
    (error: unknown) => sqlStateOf(error) === "23514",
  );
  assert.throws(() => outboxSql.insertOutboxEvents([]), invalid("events"));
  assert.equal((await db.query("SELECT * FROM sluice_outbox")).rowCount, 0);
});

storeTest("a large batch of events is added in several statements, in order", async (_t, target) => {
  const db = await target.open();
  const count = outboxSql.OUTBOX_INSERT_ROWS_MAX * 2 + 7;
  const added = await db.transaction((tx) =>
    addOutboxEvents(
      tx,
      Array.from({ length: count }, (_, index) => ({ topic: "bulk", key: `k${index % 10}`, value: String(index) })),
    ),
  );
  assert.equal(added.length, count);
  const { rows } = await db.query<{ value: Buffer }>("SELECT value FROM sluice_outbox ORDER BY id");
  assert.deepEqual(
    rows.map((row) => Number(row.value.toString())),
    Array.from({ length: count }, (_, index) => index),
  );
});

storeTest("a failed send is counted on its rows, with why", async (_t, target) => {
  const db = await target.open();
  await addOutboxEvents(db, [
    { topic: "t", key: "k", value: "1" },
    { topic: "t", key: "j", value: "2" },
  ]);
  assert.equal(await recordOutboxFailures(db, [1], "broker unavailable"), 1);
  assert.equal(await recordOutboxFailures(db, [1], "x".repeat(5_000)), 1);
  const { position } = await takeOutboxCursor(db, "r");
  const read = await readSettled(db, { relayId: "r", after: position });
  assert.deepEqual(
    read.records.map((row) => [row.id, row.failedAttempts, row.lastError?.length ?? null]),
    [
      [1, 2, 2_000],
      [2, 0, null],
    ],
  );
});

storeTest(
  "a parked row is passed by the cursor in the same statement, kept by the cleanup, and requeued once",
  async (_t, target) => {
    const db = await target.open();
    const added = await addOutboxEvents(db, [
      { topic: "t", key: "k", value: "1" },
      { topic: "t", key: "k", value: "2" },
    ]);
    const { position } = await takeOutboxCursor(db, "relay-a");
    const read = await readSettled(db, { relayId: "relay-a", after: position });
    const first = read.records[0]!;
    const at = { xid: first.xid, id: first.id };
    assert.equal(await parkOutboxRow(db, "relay-b", at, "MESSAGE_TOO_LARGE"), false, "only the cursor's relay parks");
    assert.deepEqual(await listParkedOutboxRows(db), []);
    assert.equal(await parkOutboxRow(db, "relay-a", at, "MESSAGE_TOO_LARGE"), true);
    const parked = await listParkedOutboxRows(db);
    assert.deepEqual(
      parked.map((row) => [row.id, row.eventId, row.failedAttempts, row.lastError]),
      [[first.id, added[0]!.eventId, 1, "MESSAGE_TOO_LARGE"]],
    );
    assert.equal((await readOutboxLag(db)).waiting, 1, "the cursor passed the parked row");

    await db.query("UPDATE sluice_outbox SET created_at = created_at - interval '2 hours'");
    assert.equal(await deletePublishedOutboxEvents(db, { olderThanMs: 60_000 }), 0, "the cleanup keeps parked rows");

    assert.deepEqual(await requeueParkedOutboxRows(db, [read.records[1]!.id]), [], "a row not parked is left alone");
    const requeued = await requeueParkedOutboxRows(db, [first.id]);
    assert.equal(requeued.length, 1);
    assert.ok(requeued[0]! > read.records[1]!.id);
    assert.deepEqual(await requeueParkedOutboxRows(db, [first.id]), []);
    assert.deepEqual(await listParkedOutboxRows(db), []);
    // The requeued row is another transaction's, which a read returns only once older transactions have ended.
    const again = await readThrough(db, { relayId: "relay-a", after: at });
    assert.deepEqual(
      again.records.map((row) => [row.id, row.eventId]),
      [
        [read.records[1]!.id, added[1]!.eventId],
        [requeued[0]!, added[0]!.eventId],
      ],
      "the requeued row comes after the cursor, with its event id",
    );
  },
);

storeTest(
  "two requeues of the oldest parked rows at once take different rows, and each counts what stays parked after it",
  async (_t, target) => {
    const db = await target.open();
    const peer = await target.peer(db);
    await addOutboxEvents(
      db,
      Array.from({ length: 30 }, (_, index) => ({ topic: "t", value: `v${index}` })),
    );
    await db.query("UPDATE sluice_outbox SET parked_at = now(), failed_attempts = 1");
    // The first requeue holds its rows' locks until its transaction ends, while the second runs.
    let release = (): void => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    let firstDone = (): void => undefined;
    const firstRequeued = new Promise<void>((resolve) => (firstDone = resolve));
    const first = db.transaction(async (tx) => {
      const report = await requeueParkedOutbox(tx, { oldest: 20 });
      firstDone();
      await held;
      return report;
    });
    await firstRequeued;
    // Waiting for the first's locks would wait for ever here: the lock timeout turns that into a failure.
    const second = await peer
      .transaction(async (tx) => {
        await tx.query("SET LOCAL lock_timeout = '2s'");
        return requeueParkedOutbox(tx, { oldest: 20 });
      })
      .finally(release);
    const firstReport = await first;
    assert.equal(firstReport.newIds.length, 20);
    assert.equal(second.newIds.length, 10, "the second took the ten rows the first did not hold");
    assert.equal(firstReport.stillParked, 10, "inside its transaction, the first no longer sees its own rows parked");
    assert.equal(second.stillParked, 20, "the first's rows stay parked for others until it commits");
    const { rows } = await db.query<{ rows: number; parked: number; events: number }>(
      "SELECT count(*)::int AS rows, count(parked_at)::int AS parked, count(DISTINCT event_id)::int AS events FROM sluice_outbox",
    );
    assert.deepEqual(rows[0], { rows: 30, parked: 0, events: 30 });
  },
  { kinds: ["postgres"] },
);

storeTest(
  "published rows can be deleted with the cursor's move, or kept and cleaned up after a retention",
  async (_t, target) => {
    const db = await target.open();
    await addOutboxEvents(
      db,
      Array.from({ length: 6 }, (_, index) => ({ topic: "t", key: `k${index}`, value: String(index) })),
    );
    const { position } = await takeOutboxCursor(db, "r");
    const read = await readSettled(db, { relayId: "r", after: position });
    assert.equal(await advanceOutboxCursor(db, "r", read.records[0]!, { deleteIds: [1] }), true);
    assert.equal(await advanceOutboxCursor(db, "r", read.records[4]!), true);
    assert.equal((await readOutboxLag(db)).waiting, 1);

    assert.equal(await deletePublishedOutboxEvents(db, { olderThanMs: 60_000 }), 0, "nothing is old enough yet");
    await db.query("UPDATE sluice_outbox SET created_at = created_at - interval '2 hours' WHERE id IN (2, 3, 4, 6)");
    assert.equal(await deletePublishedOutboxEvents(db, { olderThanMs: 3_600_000, limit: 2 }), 2);
    assert.equal(await deletePublishedOutboxEvents(db, { olderThanMs: 3_600_000, limit: 2 }), 1);
    assert.equal(await deletePublishedOutboxEvents(db, { olderThanMs: 3_600_000, limit: 2 }), 0);
    const { rows } = await db.query<{ id: number }>("SELECT id FROM sluice_outbox ORDER BY id");
    assert.deepEqual(
      rows.map((row) => row.id),
      [5, 6],
      "row 6 is old but not yet published",
    );
  },
);
