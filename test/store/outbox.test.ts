import assert from "node:assert/strict";

import {
  addOutboxEvent,
  addOutboxEvents,
  claimOutboxBatch,
  deleteOutboxEvents,
  deletePublishedOutboxEvents,
  markOutboxPublished,
  outboxSql,
  partitionKeyForKey,
  readOutboxLag,
  releaseOutboxClaims,
  renewOutboxClaims,
  sqlStateOf,
  StoreError,
  StoreErrorCode,
  type Database,
  type OutboxRecord,
} from "../../src/store/index.js";
import { advisoryLockKey, advisoryTransactionLockScript } from "../../src/store/sql/locks.js";
import { adminQuery, seededRandom, storeTest, waitFor } from "./harness.js";

function invalid(field: string) {
  return (error: unknown) =>
    error instanceof StoreError && error.code === StoreErrorCode.INVALID_ARGUMENT && error.field === field;
}

async function waitingIds(db: Database): Promise<number[]> {
  const { rows } = await db.query<{ id: number }>(
    "SELECT id FROM sluice_outbox WHERE published_at IS NULL ORDER BY id",
  );
  return rows.map((row) => row.id);
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
  assert.ok(rows.every((row) => row.published_at === null && row.claimed_by === null && row.claim_count === 0));

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

/** Claims for a relay and returns the ids it got, in order. */
async function claimedIds(db: Database, options: Parameters<typeof claimOutboxBatch>[1]): Promise<number[]> {
  return (await claimOutboxBatch(db, options)).map((row) => row.id);
}

storeTest("a claim leases rows in id order, and another relay gets none of them", async (_t, target) => {
  const db = await target.open();
  await addOutboxEvents(
    db,
    Array.from({ length: 5 }, (_, index) => ({ topic: "t", key: `k${index}`, value: `v${index}` })),
  );
  const first = await claimOutboxBatch(db, { relayId: "relay-a", batchSize: 3 });
  assert.deepEqual(
    first.map((row) => row.id),
    [1, 2, 3],
  );
  assert.deepEqual(
    first.map((row) => row.value?.toString()),
    ["v0", "v1", "v2"],
  );
  assert.ok(first.every((row) => row.claimCount === 1 && row.claimExpiresAt !== null));
  assert.deepEqual(await claimedIds(db, { relayId: "relay-b", batchSize: 10 }), [4, 5]);
  assert.deepEqual(await claimOutboxBatch(db, { relayId: "relay-c" }), []);
  const { rows } = await db.query<{ claimed_by: string }>("SELECT claimed_by FROM sluice_outbox ORDER BY id");
  assert.deepEqual(
    rows.map((row) => row.claimed_by),
    ["relay-a", "relay-a", "relay-a", "relay-b", "relay-b"],
  );
});

storeTest("a key being published by one relay waits for it; other keys go to the other relay", async (_t, target) => {
  const db = await target.open();
  await addOutboxEvents(db, [
    { topic: "t", key: "k1", value: "1" },
    { topic: "t", key: "k1", value: "2" },
    { topic: "t", key: "k1", value: "3" },
    { topic: "t", key: "k2", value: "4" },
    { topic: "other", key: "k1", value: "5" },
    { topic: "t", value: "6", partitionKey: null },
  ]);
  assert.deepEqual(await claimedIds(db, { relayId: "relay-a", batchSize: 2 }), [1, 2]);
  // Row 3 shares topic and key with rows relay-a holds; the same key on another topic, and unordered rows, do not wait.
  assert.deepEqual(await claimedIds(db, { relayId: "relay-b", batchSize: 10 }), [4, 5, 6]);
  assert.equal(await markOutboxPublished(db, [1, 2]), 2);
  assert.deepEqual(await claimedIds(db, { relayId: "relay-b", batchSize: 10 }), [3]);
});

storeTest(
  "a key in flight holds back even its earlier rows, such as one whose transaction committed late",
  async (_t, target) => {
    const db = await target.open();
    await addOutboxEvents(db, [
      { topic: "t", key: "k1", value: "1" },
      { topic: "t", key: "k1", value: "2" },
      { topic: "t", key: "k2", value: "3" },
    ]);
    // Ids come from a sequence, so a transaction that took id 1 may commit after row 2 was claimed.
    await db.query(
      "UPDATE sluice_outbox SET claimed_by = 'relay-a', claim_expires_at = now() + interval '1 minute' WHERE id = 2",
    );
    assert.deepEqual(await claimedIds(db, { relayId: "relay-b", batchSize: 10 }), [3]);
    assert.equal(await markOutboxPublished(db, [2]), 1);
    assert.deepEqual(await claimedIds(db, { relayId: "relay-b", batchSize: 10 }), [1]);
  },
);

storeTest("a relay claims ahead behind the batch it names as publishing; nobody else does", async (_t, target) => {
  const db = await target.open();
  await addOutboxEvents(db, [
    { topic: "t", key: "k1", value: "1" },
    { topic: "t", key: "k1", value: "2" },
    { topic: "t", key: "k1", value: "3" },
    { topic: "t", key: "k2", value: "4" },
  ]);
  assert.deepEqual(await claimedIds(db, { relayId: "relay-a", batchSize: 2 }), [1, 2]);
  // Another relay, and relay-a itself without naming the batch (say, after a restart), must wait for key k1.
  assert.deepEqual(await claimedIds(db, { relayId: "relay-b", batchSize: 1 }), [4]);
  assert.deepEqual(await claimOutboxBatch(db, { relayId: "relay-a", batchSize: 10 }), []);
  assert.deepEqual(await claimedIds(db, { relayId: "relay-a", batchSize: 10, publishingIds: [1, 2] }), [3]);
  await assert.rejects(
    claimOutboxBatch(db, { relayId: "relay-a", publishingIds: Array.from({ length: 10_001 }, (_, id) => id) }),
    /publishingIds/,
  );
});

storeTest("a claim stops at its byte budget, in id order, but always takes its first row", async (_t, target) => {
  const db = await target.open();
  // Keys and values of 4 + 100, 4 + 100, 4 + 300 and 4 + 10 bytes.
  await addOutboxEvents(db, [
    { topic: "t", key: "key1", value: "a".repeat(100) },
    { topic: "t", key: "key2", value: "b".repeat(100) },
    { topic: "t", key: "key3", value: "c".repeat(300) },
    { topic: "t", key: "key4", value: "d".repeat(10) },
  ]);
  assert.deepEqual(await claimedIds(db, { relayId: "relay-a", bytesMax: 300 }), [1, 2], "row 3 would pass 300 bytes");
  assert.deepEqual(await claimedIds(db, { relayId: "relay-b", bytesMax: 1 }), [3], "a row larger than the budget");
  assert.deepEqual(await claimedIds(db, { relayId: "relay-c", bytesMax: 14 }), [4], "exactly at the budget");
  await assert.rejects(claimOutboxBatch(db, { relayId: "relay-d", bytesMax: 0 }), /bytesMax/);
});

storeTest(
  "a claim waits while another claim on the same schema runs, and then sees its leases",
  async (_t, target) => {
    const db = await target.open();
    const peer = await target.peer(db);
    await addOutboxEvents(db, [
      { topic: "t", key: "k", value: "first" },
      { topic: "t", key: "k", value: "second" },
    ]);
    let claimed: OutboxRecord[] | null = null;
    let waiting: Promise<OutboxRecord[]> | null = null;
    // The peer plays a claim in progress: it holds the claim lock and leases the first row of key k.
    await peer.transaction(async (tx) => {
      await tx.exec(outboxSql.claimTransactionSetup(target.schema));
      await tx.query(
        "UPDATE sluice_outbox SET claimed_by = 'relay-a', claim_expires_at = now() + interval '1 minute' WHERE id = 1",
      );
      waiting = claimOutboxBatch(db, { relayId: "relay-b" }).then((rows) => (claimed = rows));
      await waitFor("the second claim to wait for the claim lock", async () => {
        // A bigint advisory key shows in pg_locks as its high and low 32 bits, with objsubid 1.
        const key = BigInt.asUintN(64, BigInt(advisoryLockKey("outbox-claims", target.schema)));
        const rows = await adminQuery<{ waiting: number }>(
          `SELECT count(*)::int AS waiting FROM pg_locks
           WHERE locktype = 'advisory' AND NOT granted AND classid = $1::oid AND objid = $2::oid AND objsubid = 1
             AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
          [String(key >> 32n), String(key & 0xffffffffn)],
        );
        return (rows[0]?.waiting ?? 0) > 0;
      });
      assert.equal(claimed, null, "the second claim waited");
    });
    // Had its snapshot been taken before the lock was granted, it would not see row 1 leased and would take row 2.
    assert.deepEqual(await waiting, []);
    assert.throws(() => advisoryTransactionLockScript("1; DROP TABLE sluice_outbox"), invalid("key"));
    // The lowest key must not be read as the negation of a number past the bigint range.
    await db.transaction((tx) => tx.exec(advisoryTransactionLockScript("-9223372036854775808")));
  },
  { kinds: ["postgres"] },
);

storeTest("rows given back unsent keep their last error and do not count the claim", async (_t, target) => {
  const db = await target.open();
  await addOutboxEvents(db, [{ topic: "t", key: "k", value: "1" }]);
  await claimOutboxBatch(db, { relayId: "relay-a" });
  assert.equal(await releaseOutboxClaims(db, "relay-a", [1], "broker unavailable"), 1);
  await claimOutboxBatch(db, { relayId: "relay-a" });
  assert.equal(await releaseOutboxClaims(db, "relay-a", [1], null, { attempted: false }), 1);
  const [row] = await claimOutboxBatch(db, { relayId: "relay-a" });
  assert.equal(row?.claimCount, 2, "two attempts counted: the failed one and this one");
  assert.equal(row?.lastError, "broker unavailable");
});

storeTest("expired leases are taken over; releasing records why; renewing keeps a lease", async (_t, target) => {
  const db = await target.open();
  await addOutboxEvents(db, [
    { topic: "t", key: "k", value: "1" },
    { topic: "t", key: "k", value: "2" },
    { topic: "t", key: "j", value: "3" },
  ]);
  const dead = await claimOutboxBatch(db, { relayId: "relay-dead", batchSize: 1, leaseMs: 100 });
  assert.deepEqual(
    dead.map((row) => row.id),
    [1],
  );
  assert.deepEqual(await claimedIds(db, { relayId: "relay-slow", batchSize: 10, leaseMs: 100 }), [3]);
  await new Promise((resolve) => setTimeout(resolve, 60));
  assert.equal(await renewOutboxClaims(db, "relay-slow", [3], 10_000), 1);
  assert.equal(await renewOutboxClaims(db, "relay-other", [3], 10_000), 0);
  await new Promise((resolve) => setTimeout(resolve, 80));

  // relay-dead's lease on row 1 has run out: the next relay takes row 1 and, in order behind it, row 2.
  const takeover = await claimOutboxBatch(db, { relayId: "relay-new", batchSize: 10 });
  assert.deepEqual(
    takeover.map((row) => [row.id, row.claimCount]),
    [
      [1, 2],
      [2, 1],
    ],
  );

  assert.equal(await releaseOutboxClaims(db, "relay-dead", [1], "too late"), 0);
  assert.equal(await releaseOutboxClaims(db, "relay-new", [1, 2], "broker unavailable"), 2);
  const again = await claimOutboxBatch(db, { relayId: "relay-new", batchSize: 10 });
  assert.deepEqual(
    again.map((row) => [row.id, row.claimCount, row.lastError]),
    [
      [1, 3, "broker unavailable"],
      [2, 2, "broker unavailable"],
    ],
  );
});

storeTest("lag counts waiting and in-flight rows and ages the oldest", async (_t, target) => {
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

  const claimed = await claimOutboxBatch(db, { relayId: "r", batchSize: 2 });
  const during = await readOutboxLag(db);
  assert.equal(during.waiting, 3);
  assert.equal(during.inFlight, 2);

  await markOutboxPublished(
    db,
    claimed.map((row) => row.id),
  );
  const after = await readOutboxLag(db);
  assert.equal(after.waiting, 1);
  assert.equal(after.inFlight, 0);
});

storeTest("sent rows can be deleted at once, or kept and cleaned up after a retention", async (_t, target) => {
  const db = await target.open();
  await addOutboxEvents(
    db,
    Array.from({ length: 6 }, (_, index) => ({ topic: "t", key: `k${index}`, value: String(index) })),
  );
  const claimed = await claimOutboxBatch(db, { relayId: "r", batchSize: 6 });
  assert.equal(await deleteOutboxEvents(db, [claimed[0]?.id ?? 0]), 1);
  assert.equal(
    await markOutboxPublished(
      db,
      claimed.slice(1).map((row) => row.id),
    ),
    5,
  );
  assert.equal(
    await markOutboxPublished(
      db,
      claimed.slice(1).map((row) => row.id),
    ),
    0,
    "marking twice changes nothing",
  );
  assert.deepEqual(await waitingIds(db), []);

  assert.equal(await deletePublishedOutboxEvents(db, { olderThanMs: 60_000 }), 0, "nothing is old enough yet");
  await db.query("UPDATE sluice_outbox SET published_at = published_at - interval '2 hours' WHERE id IN (2, 3, 4)");
  assert.equal(await deletePublishedOutboxEvents(db, { olderThanMs: 3_600_000, limit: 2 }), 2);
  assert.equal(await deletePublishedOutboxEvents(db, { olderThanMs: 3_600_000, limit: 2 }), 1);
  assert.equal(await deletePublishedOutboxEvents(db, { olderThanMs: 3_600_000, limit: 2 }), 0);
  const { rows } = await db.query<{ id: number }>("SELECT id FROM sluice_outbox ORDER BY id");
  assert.deepEqual(
    rows.map((row) => row.id),
    [5, 6],
  );
});

storeTest(
  "two relays running at once never claim a row twice and publish every key in order",
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

    const claimsById = new Map<number, string[]>();
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

    const relay = async (relayId: string, handle: Database) => {
      while (true) {
        const batch = await claimOutboxBatch(handle, { relayId, batchSize: 1 + Math.floor(random() * 9) });
        if (batch.length === 0) {
          if (!producing && (await readOutboxLag(handle)).waiting === 0) return;
          await pause();
          continue;
        }
        for (const row of batch) {
          claimsById.set(row.id, [...(claimsById.get(row.id) ?? []), relayId]);
          published.push(row);
          await pause();
        }
        await markOutboxPublished(
          handle,
          batch.map((row) => row.id),
        );
      }
    };
    await Promise.all([producer, relay("relay-a", db), relay("relay-b", peer)]);

    assert.equal(claimsById.size, total, "every row was claimed");
    const doubles = [...claimsById].filter(([, relays]) => relays.length > 1);
    assert.deepEqual(doubles, [], "no row was claimed twice");
    const relaysUsed = new Set([...claimsById.values()].flat());
    assert.equal(relaysUsed.size, 2, "both relays did work");
    for (const key of keys) {
      const ids = published.filter((row) => row.partitionKey === key).map((row) => row.id);
      assert.deepEqual(
        ids,
        [...ids].sort((left, right) => left - right),
        `key ${key} was published in id order`,
      );
    }
    assert.deepEqual(await waitingIds(db), []);
  },
  { timeoutMs: 120_000 },
);
