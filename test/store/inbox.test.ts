import assert from "node:assert/strict";

import {
  deleteInboxEventsBefore,
  recordInboxEvent,
  recordInboxEvents,
  recordNewInboxEvents,
  StoreError,
  StoreErrorCode,
  type Queryable,
} from "../../src/store/index.js";
import { storeTest, testOnEveryPgliteThread } from "./harness.js";

testOnEveryPgliteThread();

function event(eventId: string, consumerGroup = "billing") {
  return { consumerGroup, eventId, topic: "orders", partition: 2, offset: 41 };
}

storeTest("an event is processed the first time and skipped when redelivered", async (_t, target) => {
  const db = await target.open();
  assert.equal(await db.transaction((tx) => recordInboxEvent(tx, event("e1"))), true);
  assert.equal(await db.transaction((tx) => recordInboxEvent(tx, event("e1"))), false);
  assert.equal(await db.transaction((tx) => recordInboxEvent(tx, event("e1", "shipping"))), true);
  assert.equal(await db.transaction((tx) => recordInboxEvent(tx, event("e2"))), true);
  const { rows } = await db.query(
    "SELECT consumer_group, event_id, topic, partition, record_offset FROM sluice_inbox " +
      "ORDER BY consumer_group, event_id",
  );
  assert.deepEqual(rows, [
    { consumer_group: "billing", event_id: "e1", topic: "orders", partition: 2, record_offset: 41 },
    { consumer_group: "billing", event_id: "e2", topic: "orders", partition: 2, record_offset: 41 },
    { consumer_group: "shipping", event_id: "e1", topic: "orders", partition: 2, record_offset: 41 },
  ]);
});

storeTest("the handler's writes and the inbox record commit or roll back together", async (_t, target) => {
  const db = await target.open();
  await db.exec("CREATE TABLE ledger (event_id text, amount int)");
  const handle = async (tx: Queryable, amount: number, fail: boolean) => {
    if (!(await recordInboxEvent(tx, event("pay-1")))) return "skipped";
    await tx.query("INSERT INTO ledger VALUES ($1, $2)", ["pay-1", amount]);
    if (fail) throw new Error("handler crashed after its write");
    return "processed";
  };
  await assert.rejects(db.transaction((tx) => handle(tx, 10, true)));
  assert.equal((await db.query("SELECT * FROM ledger")).rowCount, 0);
  assert.equal(await db.transaction((tx) => handle(tx, 10, false)), "processed");
  assert.equal(await db.transaction((tx) => handle(tx, 10, false)), "skipped");
  assert.deepEqual((await db.query("SELECT event_id, amount FROM ledger")).rows, [{ event_id: "pay-1", amount: 10 }]);
});

storeTest("two consumers handling the same event at once: exactly one processes it", async (_t, target) => {
  const db = await target.open();
  const peer = await target.peer(db);
  const outcomes = await Promise.all(
    [db, peer].map((handle) =>
      handle.transaction(async (tx) => {
        const first = await recordInboxEvent(tx, event("race-1"));
        await new Promise((resolve) => setTimeout(resolve, 50));
        return first;
      }),
    ),
  );
  assert.deepEqual([...outcomes].sort(), [false, true]);
});

storeTest(
  "the statement for new events records them all, and fails the transaction on one held already",
  async (_t, target) => {
    const db = await target.open();
    const key = (eventId: string) => ({ eventId, topic: "orders", partition: 0, offset: 7 });
    const recorded = await db.transaction((tx) =>
      recordNewInboxEvents(tx, "billing", [key("n1"), key("n2"), key("n1")]),
    );
    assert.deepEqual(recorded, new Set(["n1", "n2"]));
    // n2 is held: the statement fails, nothing of it stays, and the transaction cannot go on.
    await assert.rejects(
      db.transaction(async (tx) => {
        assert.equal(await recordNewInboxEvents(tx, "billing", [key("n3"), key("n2")]), null);
        await tx.query("SELECT 1");
      }),
      (error: unknown) => error instanceof Error && /aborted/.test(error.message),
    );
    // In a new transaction the statement that expects redeliveries records n3 and skips n2.
    const again = await db.transaction((tx) => recordInboxEvents(tx, "billing", [key("n3"), key("n2")]));
    assert.deepEqual(again, new Set(["n3"]));
    const { rows } = await db.query<{ event_id: string }>(
      "SELECT event_id FROM sluice_inbox WHERE consumer_group = 'billing' ORDER BY event_id",
    );
    assert.deepEqual(
      rows.map((row) => row.event_id),
      ["n1", "n2", "n3"],
    );
    await assert.rejects(
      db.transaction((tx) => recordNewInboxEvents(tx, "", [key("n4")])),
      (error: unknown) => error instanceof StoreError && error.field === "consumerGroup",
    );
  },
);

storeTest("records older than the window are cleaned up in bounded batches", async (_t, target) => {
  const db = await target.open();
  for (const id of ["old-1", "old-2", "old-3", "new-1"]) await recordInboxEvent(db, event(id));
  await db.query("UPDATE sluice_inbox SET processed_at = processed_at - interval '8 days' WHERE event_id LIKE 'old-%'");
  const weekMs = 7 * 24 * 60 * 60 * 1000;
  assert.equal(await deleteInboxEventsBefore(db, { olderThanMs: weekMs, limit: 2 }), 2);
  assert.equal(await deleteInboxEventsBefore(db, { olderThanMs: weekMs, limit: 2 }), 1);
  assert.equal(await deleteInboxEventsBefore(db, { olderThanMs: weekMs }), 0);
  assert.deepEqual((await db.query("SELECT event_id FROM sluice_inbox")).rows, [{ event_id: "new-1" }]);
  // After cleanup, a very late redelivery is processed again: the window must outlast redelivery.
  assert.equal(await recordInboxEvent(db, event("old-1")), true);
});

storeTest(
  "with thousands of old records, each cleanup deletes its limit until only newer ones remain",
  async (_t, target) => {
    const db = await target.open();
    const key = (eventId: string) => ({ eventId, topic: "orders", partition: 0, offset: 1 });
    const ids = (prefix: string, count: number) => Array.from({ length: count }, (_, index) => `${prefix}-${index}`);
    for (let start = 0; start < 5_000; start += 1_000) {
      await db.transaction((tx) => recordInboxEvents(tx, "billing", ids(`old-${start}`, 1_000).map(key)));
    }
    await db.query("UPDATE sluice_inbox SET processed_at = processed_at - interval '8 days'");
    await db.transaction((tx) => recordInboxEvents(tx, "billing", ids("new", 100).map(key)));
    const weekMs = 7 * 24 * 60 * 60 * 1000;
    const deleted: number[] = [];
    for (let call = 0; call < 6; call++) {
      // Events keep arriving between the calls; the cleanup leaves them alone.
      await recordInboxEvent(db, { consumerGroup: "billing", ...key(`late-${call}`) });
      deleted.push(await deleteInboxEventsBefore(db, { olderThanMs: weekMs, limit: 1_000 }));
    }
    assert.deepEqual(deleted, [1_000, 1_000, 1_000, 1_000, 1_000, 0]);
    const { rows } = await db.query<{ event_id: string }>("SELECT event_id FROM sluice_inbox ORDER BY event_id");
    assert.deepEqual(
      rows.map((row) => row.event_id),
      [...ids("late", 6), ...ids("new", 100)].sort(),
    );
  },
);

storeTest("bad inbox input is refused with the field named", async (_t, target) => {
  const db = await target.open();
  const invalid = (field: string) => (error: unknown) =>
    error instanceof StoreError && error.code === StoreErrorCode.INVALID_ARGUMENT && error.field === field;
  await assert.rejects(recordInboxEvent(db, { ...event("e"), consumerGroup: "" }), invalid("consumerGroup"));
  await assert.rejects(recordInboxEvent(db, { ...event("e"), eventId: "x".repeat(256) }), invalid("eventId"));
  await assert.rejects(recordInboxEvent(db, { ...event("e"), partition: -1 }), invalid("partition"));
  await assert.rejects(recordInboxEvent(db, { ...event("e"), offset: 1.5 }), invalid("offset"));
  await assert.rejects(deleteInboxEventsBefore(db, { olderThanMs: -5 }), invalid("olderThanMs"));
  await assert.rejects(deleteInboxEventsBefore(db, { olderThanMs: 5, limit: 0 }), invalid("limit"));
});
