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
  readOutboxBatch,
  readOutboxLag,
  recordOutboxFailures,
  releaseOutboxCursor,
  renewOutboxCursor,
  requeueParkedOutboxRows,
  sqlStateOf,
  StoreError,
  StoreErrorCode,
  takeOutboxCursor,
  type Database,
  type OutboxPosition,
  type OutboxRead,
  type OutboxRecord,
} from "../../src/store/index.js";
import { seededRandom, storeTest, testOnEveryPgliteThread } from "./harness.js";

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

/**
 * Reads for a relay as the relay does: again while rows are held back by an older transaction still running (on a
 * shared server, other tests' transactions in the same database hold rows back for a moment).
 */
async function readSettled(db: Database, options: Parameters<typeof readOutboxBatch>[1]): Promise<OutboxRead> {
  for (let attempt = 0; ; attempt += 1) {
    const read = await readOutboxBatch(db, options);
    if (!read.heldBack || attempt === 1_000) return read;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Reads for a relay and returns the ids it got, in order. */
async function readIds(db: Database, options: Parameters<typeof readOutboxBatch>[1]): Promise<number[]> {
  const read = await readSettled(db, options);
  assert.ok(read.held, `${options.relayId} holds the cursor`);
  return read.records.map((row) => row.id);
}

/** The cursor's position, as the relay that takes it sees it. */
async function cursorPosition(db: Database): Promise<OutboxPosition> {
  const { rows } = await db.query<{ xid: string; id: string }>(
    "SELECT position_xid::text AS xid, position_id::text AS id FROM sluice_outbox_cursor",
  );
  return { xid: rows[0]?.xid ?? "", id: Number(rows[0]?.id) };
}

storeTest(
  "one relay holds the cursor; a stand-by sees the holder, and takes it when the lease runs out",
  async (_t, target) => {
    const db = await target.open();
    const first = await takeOutboxCursor(db, "relay-a", { leaseMs: 150 });
    assert.equal(first.taken, true);
    const standBy = await takeOutboxCursor(db, "relay-b", { leaseMs: 150 });
    assert.equal(standBy.taken, false);
    assert.equal(standBy.holder, "relay-a");
    assert.ok(standBy.leaseMsLeft > 0 && standBy.leaseMsLeft <= 150, `lease left ${standBy.leaseMsLeft} ms`);
    assert.deepEqual(standBy.position, first.position);
    // The holder's own identity takes it again at once (an earlier life of the same relay), as does a caller that
    // holds the database alone and knows relay-a is not among the relays it runs.
    assert.equal((await takeOutboxCursor(db, "relay-a")).taken, true);
    assert.equal((await takeOutboxCursor(db, "relay-c", { keepOnly: ["relay-a"] })).taken, false);
    assert.equal((await takeOutboxCursor(db, "relay-c", { keepOnly: [], leaseMs: 100 })).taken, true);
    assert.equal(await renewOutboxCursor(db, "relay-a"), false, "relay-a lost it");
    await new Promise((resolve) => setTimeout(resolve, 150));
    assert.equal((await takeOutboxCursor(db, "relay-b")).taken, true, "relay-c's lease ran out");
    await releaseOutboxCursor(db, "relay-b");
    assert.equal((await takeOutboxCursor(db, "relay-d")).taken, true, "a cursor given up is taken at once");
  },
);

storeTest(
  "a read returns rows after a position in order, and nothing to a relay without the cursor",
  async (_t, target) => {
    const db = await target.open();
    await addOutboxEvents(
      db,
      Array.from({ length: 5 }, (_, index) => ({ topic: "t", key: `k${index}`, value: `v${index}` })),
    );
    await addOutboxEvents(db, [{ topic: "t", key: "k0", value: "v5" }]);
    const { position } = await takeOutboxCursor(db, "relay-a");
    const first = await readSettled(db, { relayId: "relay-a", after: position, batchSize: 3 });
    assert.deepEqual(
      first.records.map((row) => [row.id, row.value?.toString(), row.failedAttempts]),
      [
        [1, "v0", 0],
        [2, "v1", 0],
        [3, "v2", 0],
      ],
    );
    const last = first.records[2]!;
    assert.deepEqual(await readIds(db, { relayId: "relay-a", after: last, batchSize: 10 }), [4, 5, 6]);
    const refused = await readOutboxBatch(db, { relayId: "relay-b", after: position });
    assert.deepEqual([refused.held, refused.records], [false, []]);
    assert.deepEqual(await readIds(db, { relayId: "relay-a", after: { xid: "18446744073709551615", id: 0 } }), []);
    assert.throws(
      () =>
        outboxSql.readOutboxRows({
          relayId: "r",
          after: { xid: "1; --", id: 0 },
          batchSize: 1,
          bytesMax: 1,
          leaseMs: 1,
        }),
      invalid("position.xid"),
    );
  },
);

storeTest("a read stops at its byte budget, in order, but always takes its first row", async (_t, target) => {
  const db = await target.open();
  // Keys and values of 4 + 100, 4 + 100, 4 + 300 and 4 + 10 bytes.
  await addOutboxEvents(db, [
    { topic: "t", key: "key1", value: "a".repeat(100) },
    { topic: "t", key: "key2", value: "b".repeat(100) },
    { topic: "t", key: "key3", value: "c".repeat(300) },
    { topic: "t", key: "key4", value: "d".repeat(10) },
  ]);
  const { position } = await takeOutboxCursor(db, "relay-a");
  const row = async (id: number) =>
    (await readSettled(db, { relayId: "relay-a", after: position, batchSize: 10 })).records[id - 1]!;
  assert.deepEqual(
    await readIds(db, { relayId: "relay-a", after: position, bytesMax: 300 }),
    [1, 2],
    "row 3 would pass 300 bytes",
  );
  assert.deepEqual(
    await readIds(db, { relayId: "relay-a", after: await row(2), bytesMax: 1 }),
    [3],
    "a row larger than the budget",
  );
  assert.deepEqual(
    await readIds(db, { relayId: "relay-a", after: await row(3), bytesMax: 14 }),
    [4],
    "exactly at the budget",
  );
  await assert.rejects(readOutboxBatch(db, { relayId: "relay-a", after: position, bytesMax: 0 }), /bytesMax/);
});

storeTest(
  "moving the cursor publishes rows: they are not read again, and the lag counts what is left",
  async (_t, target) => {
    const db = await target.open();
    await addOutboxEvents(db, [{ topic: "t", key: "a", value: "1" }]);
    await new Promise((resolve) => setTimeout(resolve, 30));
    await addOutboxEvents(db, [
      { topic: "t", key: "b", value: "2" },
      { topic: "t", key: "c", value: "3" },
    ]);
    const before = await readOutboxLag(db);
    assert.equal(before.waiting, 3);
    assert.equal(before.inFlight, 0);
    assert.ok(before.oldestCreatedAt instanceof Date);
    assert.ok((before.oldestAgeMs ?? 0) >= 25, `oldest age ${before.oldestAgeMs} ms`);

    const { position } = await takeOutboxCursor(db, "r");
    const read = await readSettled(db, { relayId: "r", after: position, batchSize: 2 });
    const during = await readOutboxLag(db);
    assert.equal(during.waiting, 3);
    assert.equal(during.inFlight, 2);

    const end = read.records[1]!;
    assert.equal(await advanceOutboxCursor(db, "r", end), true);
    assert.equal(await advanceOutboxCursor(db, "r", read.records[0]!), true, "a move back is a move to where it is");
    assert.deepEqual(await cursorPosition(db), { xid: end.xid, id: end.id });
    const after = await readOutboxLag(db);
    assert.equal(after.waiting, 1);
    assert.equal(after.inFlight, 0);
    assert.deepEqual(await readIds(db, { relayId: "r", after: await cursorPosition(db) }), [3]);
    assert.equal(await advanceOutboxCursor(db, "someone-else", { xid: "18446744073709551615", id: 1 }), false);
    assert.equal((await readOutboxLag(db)).waiting, 1, "a relay without the cursor moves nothing");
  },
);

storeTest(
  "a transaction that added rows first but commits last is still read, and before the rows added after it",
  async (_t, target) => {
    const db = await target.open();
    const peer = await target.peer(db);
    const { position } = await takeOutboxCursor(db, "relay-a");
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let added!: () => void;
    const addedEarly = new Promise<void>((resolve) => (added = resolve));
    // The peer's transaction takes its transaction id (and row id 1) first, then stays open while others commit.
    const slow = peer.transaction(async (tx) => {
      await addOutboxEvents(tx, [{ topic: "t", key: "k", value: "early" }]);
      added();
      await released;
    });
    await addedEarly;
    await addOutboxEvents(db, [{ topic: "t", key: "k", value: "late" }]);
    const early = await readOutboxBatch(db, { relayId: "relay-a", after: position });
    assert.deepEqual(
      [early.records, early.heldBack],
      [[], true],
      "nothing is read while an older transaction may still commit behind the row that committed",
    );
    release();
    await slow;
    const read = await readSettled(db, { relayId: "relay-a", after: position });
    assert.deepEqual(
      read.records.map((row) => row.value?.toString()),
      ["early", "late"],
    );
  },
  { kinds: ["postgres"] },
);

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
    const again = await readSettled(db, { relayId: "relay-a", after: at });
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

storeTest(
  "two relays taking turns with the cursor publish every row once and every key in order",
  async (_t, target) => {
    const random = seededRandom(20_240_611);
    const db = await target.open();
    const peer = await target.peer(db);
    const keys = ["a", "b", "c", "d", "e", "f"];
    const eventFor = (index: number) => {
      const pick = Math.floor(random() * (keys.length + 1));
      const key = keys[pick];
      return key === undefined
        ? { topic: "t", value: String(index), partitionKey: null }
        : { topic: "t", key, value: String(index) };
    };
    const total = 240;
    await addOutboxEvents(
      db,
      Array.from({ length: total / 2 }, (_, index) => eventFor(index)),
    );

    const sentById = new Map<number, string[]>();
    const published: OutboxRecord[] = [];
    const delays = Array.from({ length: 1_000 }, () => Math.floor(random() * 4));
    let delayIndex = 0;
    const pause = () => new Promise((resolve) => setTimeout(resolve, delays[delayIndex++ % delays.length]));

    let producing = true;
    const producer = (async () => {
      for (let index = total / 2; index < total; index += 10) {
        await db.transaction((tx) =>
          addOutboxEvents(
            tx,
            Array.from({ length: 10 }, (_, offset) => eventFor(index + offset)),
          ),
        );
        await pause();
      }
      producing = false;
    })();

    // Each relay publishes a few batches while it holds the cursor, then gives it up for the other to take.
    const relay = async (relayId: string, handle: Database) => {
      while (true) {
        const take = await takeOutboxCursor(handle, relayId);
        if (!take.taken) {
          await pause();
          continue;
        }
        let after = take.position;
        for (let round = 0; round < 3; round += 1) {
          const { records } = await readSettled(handle, {
            relayId,
            after,
            batchSize: 1 + Math.floor(random() * 9),
          });
          if (records.length === 0) break;
          for (const row of records) {
            sentById.set(row.id, [...(sentById.get(row.id) ?? []), relayId]);
            published.push(row);
            await pause();
          }
          after = records[records.length - 1]!;
          assert.equal(await advanceOutboxCursor(handle, relayId, after), true);
        }
        await releaseOutboxCursor(handle, relayId);
        if (!producing && (await readOutboxLag(handle)).waiting === 0) return;
        await pause();
      }
    };
    await Promise.all([producer, relay("relay-a", db), relay("relay-b", peer)]);

    assert.equal(sentById.size, total, "every row was published");
    const doubles = [...sentById].filter(([, relays]) => relays.length > 1);
    assert.deepEqual(doubles, [], "no row was published twice");
    const relaysUsed = new Set([...sentById.values()].flat());
    assert.equal(relaysUsed.size, 2, "both relays did work");
    for (const key of keys) {
      const ids = published.filter((row) => row.partitionKey === key).map((row) => row.id);
      assert.deepEqual(
        ids,
        [...ids].sort((left, right) => left - right),
        `key ${key} was published in id order`,
      );
    }
    assert.equal((await readOutboxLag(db)).waiting, 0);
  },
  { timeoutMs: 120_000 },
);

storeTest(
  "a relay's read finds its rows and whether more wait through the outbox's index, also in a generic plan",
  async (_t, target) => {
    const db = await target.open();
    await db.transaction((tx) =>
      addOutboxEvents(
        tx,
        Array.from({ length: 20_000 }, (_, index) => ({ topic: "plans", key: `k${index % 100}`, value: "x" })),
      ),
    );
    await db.query("ANALYZE sluice_outbox");
    const taken = await takeOutboxCursor(db, "relay-plan");
    assert.equal(taken.taken, true);
    const statement = outboxSql.readOutboxRows({
      relayId: "relay-plan",
      after: taken.position,
      batchSize: 10,
      bytesMax: 1_000_000,
      leaseMs: 10_000,
    });
    const literals = statement.values.map((value) =>
      typeof value === "number" ? String(value) : `'${String(value)}'`,
    );
    // A prepared statement's plan turns generic after five runs; a plan that scans the whole outbox there makes every
    // read cost the outbox's size (15 ms a read with 80,000 rows kept, in bench:toolkit's latency run).
    const plan = await db.transaction(async (tx) => {
      await tx.query("SET LOCAL plan_cache_mode = force_generic_plan");
      await tx.query(`PREPARE relay_read_plan AS ${statement.text}`);
      const { rows } = await tx.query<{ "QUERY PLAN": string }>(
        `EXPLAIN EXECUTE relay_read_plan(${literals.join(", ")})`,
      );
      await tx.query("DEALLOCATE relay_read_plan");
      return rows.map((row) => row["QUERY PLAN"]).join("\n");
    });
    assert.doesNotMatch(plan, /Seq Scan on sluice_outbox\b/, plan);
  },
  { kinds: ["postgres"] },
);
