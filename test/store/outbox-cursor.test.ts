import assert from "node:assert/strict";

import {
  addOutboxEvents,
  advanceOutboxCursor,
  findOutboxHolder,
  outboxSql,
  readOutboxBatch,
  readOutboxLag,
  releaseOutboxCursor,
  renewOutboxCursor,
  StoreError,
  StoreErrorCode,
  takeOutboxCursor,
  type Database,
  type OutboxRecord,
} from "../../src/store/index.js";
import { openIdleTransaction, seededRandom, storeTest, waitFor } from "./harness.js";
import { readSettled, readIds, cursorPosition } from "./outbox-reads.js";

function invalid(field: string) {
  return (error: unknown) =>
    error instanceof StoreError && error.code === StoreErrorCode.INVALID_ARGUMENT && error.field === field;
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

storeTest(
  "the session whose open transaction holds outbox rows back is found, with its state, age and query",
  async (_t, target) => {
    const db = await target.open();
    const { position } = await takeOutboxCursor(db, "relay-a");
    const name = `holder-${process.pid}-${Date.now() % 100_000}`;
    const blocker = await openIdleTransaction(name);
    try {
      await addOutboxEvents(db, [{ topic: "t", key: "k", value: "waits" }]);
      assert.equal((await readOutboxBatch(db, { relayId: "relay-a", after: position })).heldBack, true);
      // Other tests on the shared server may briefly run older transactions; the blocker is the oldest once they end.
      let holder = await findOutboxHolder(db);
      await waitFor("the blocker to be the oldest transaction", async () => {
        holder = await findOutboxHolder(db);
        return holder?.pid === blocker.pid;
      });
      assert.ok(holder !== null);
      assert.equal(holder.applicationName, name);
      assert.equal(holder.state, "idle in transaction");
      assert.match(holder.xid, /^\d+$/);
      assert.ok(holder.transactionAgeMs !== null && holder.transactionAgeMs >= 0);
      assert.ok(holder.stateAgeMs !== null && holder.stateAgeMs >= 0);
      assert.match(holder.query ?? "", /pg_backend_pid/);
    } finally {
      await blocker.end();
    }
    const after = await findOutboxHolder(db);
    assert.notEqual(after?.pid, blocker.pid, "an ended transaction holds nothing back");
    const read = await readSettled(db, { relayId: "relay-a", after: position });
    assert.deepEqual(
      read.records.map((row) => row.value?.toString()),
      ["waits"],
    );
  },
  { kinds: ["postgres"] },
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
