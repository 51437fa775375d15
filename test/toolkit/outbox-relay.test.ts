// The outbox relay against the embedded broker and both databases: delivery, per-key order, several relays at
// once, and waking on LISTEN/NOTIFY versus polling.

import assert from "node:assert/strict";

import { Type } from "@sinclair/typebox";

import { readOutboxLag, type Database } from "../../src/store/index.js";
import { EVENT_HEADERS } from "../../src/toolkit/event.js";
import { addManyToOutbox, addToOutbox } from "../../src/toolkit/outbox.js";
import { OutboxRelay } from "../../src/toolkit/outbox-relay.js";
import {
  DEFAULT_RELAY_EXCLUSIVE_IDLE_POLL_INTERVAL_MS,
  DEFAULT_RELAY_IDLE_POLL_INTERVAL_MS,
} from "../../src/toolkit/outbox-relay-options.js";
import { defineTopic } from "../../src/toolkit/topic.js";
import { seededRandom, storeTest, waitFor } from "../store/harness.js";
import {
  metricValue,
  publishingScene,
  readTopic,
  toolkitClientFor,
  withStoppables,
  type ReadRecord,
} from "./publishing-helpers.js";

const stockMoved = defineTopic({
  name: "stock.moved",
  partitions: 3,
  schema: Type.Object({ sku: Type.Union([Type.String(), Type.Null()]), sequence: Type.Integer() }),
  key: (event) => event.sku,
});

/** Adds `count` events over `keys` keys (and some without a key) in transactions of random size; seeded. */
async function addStockEvents(db: Database, count: number, keys: number, seed: number): Promise<Map<string, number>> {
  const random = seededRandom(seed);
  const nextSequence = new Map<string, number>();
  let added = 0;
  while (added < count) {
    const size = Math.min(count - added, 1 + Math.floor(random() * 20));
    const values = Array.from({ length: size }, () => {
      const sku = random() < 0.1 ? null : `sku-${Math.floor(random() * keys)}`;
      const name = sku ?? "(none)";
      const sequence = nextSequence.get(name) ?? 0;
      nextSequence.set(name, sequence + 1);
      return { sku, sequence };
    });
    await db.transaction((tx) => addManyToOutbox(tx, stockMoved, values));
    added += size;
  }
  return nextSequence;
}

/** Checks every event arrived exactly once, each key on one partition, in the order it was added. */
function assertDeliveredOnceInKeyOrder(records: readonly ReadRecord[], expected: Map<string, number>): void {
  const ids = records.map((record) => record.headers[EVENT_HEADERS.id]);
  assert.equal(new Set(ids).size, ids.length, "no event id was delivered twice");
  const byKey = new Map<string, ReadRecord[]>();
  for (const record of records) {
    const name = record.key ?? "(none)";
    byKey.set(name, [...(byKey.get(name) ?? []), record]);
  }
  for (const [name, total] of expected) {
    const list = byKey.get(name) ?? [];
    const sequences = list.map((record) => JSON.parse(record.value ?? "").sequence as number);
    if (name === "(none)") {
      assert.deepEqual(
        [...sequences].sort((a, b) => a - b),
        [...Array(total).keys()],
        "every keyless event arrived",
      );
      continue;
    }
    assert.deepEqual(sequences, [...Array(total).keys()], `${name} arrived complete and in order`);
    assert.equal(new Set(list.map((record) => record.partition)).size, 1, `${name} stayed on one partition`);
  }
}

/** Batches the relays of db's schema have published so far (the metric is process-wide). */
function publishedBatches(db: Database): Promise<number> {
  return metricValue("sluice_outbox_relay_batches_total", { schema: db.schema, result: "published" });
}

async function unpublishedCount(db: Database): Promise<number> {
  return (await readOutboxLag(db)).waiting;
}

/** Each row's physical place and the transaction that wrote its version: both change when a row is updated. */
async function rowVersions(db: Database): Promise<string[]> {
  const { rows } = await db.query<{ version: string }>(
    "SELECT id || ':' || ctid::text || ':' || xmin::text AS version FROM sluice_outbox ORDER BY id",
  );
  return rows.map((row) => row.version);
}

storeTest("the relay delivers every committed event once, each key in order on one partition", async (t, target) => {
  const { broker, client, db } = await publishingScene(t, target, [stockMoved]);
  const before = await metricValue("sluice_events_produced_total", { topic: "stock.moved", source: "outbox" });
  const batchesBefore = await publishedBatches(db);
  await withStoppables(async (track) => {
    const expected = await addStockEvents(db, 240, 12, 7);
    const versions = await rowVersions(db);
    const relay = track(new OutboxRelay({ db, client, batchSize: 25 }));
    await relay.start();
    assert.equal(relay.ready, true);
    await waitFor("the relay to publish 240 events", () => relay.status().published === 240, 30_000);
    const records = await readTopic(broker, "stock.moved", 240);
    assert.equal(records.length, 240);
    assertDeliveredOnceInKeyOrder(records, expected);
    assert.equal(await unpublishedCount(db), 0, "every row is published");
    assert.deepEqual(await rowVersions(db), versions, "publishing wrote no row: each has its first version still");
  });
  assert.equal(
    (await metricValue("sluice_events_produced_total", { topic: "stock.moved", source: "outbox" })) - before,
    240,
  );
  const batches = (await publishedBatches(db)) - batchesBefore;
  assert.ok(batches >= 240 / 25, `at least ${240 / 25} batches of at most 25 rows, got ${batches}`);
});

storeTest(
  "a relay's byte budget splits its rounds; every event still arrives once, in key order",
  async (t, target) => {
    const { broker, client, db } = await publishingScene(t, target, [stockMoved]);
    assert.throws(() => new OutboxRelay({ db, client, batchBytesMax: 0 }), /batchBytesMax/);
    const batchesBefore = await publishedBatches(db);
    await withStoppables(async (track) => {
      const expected = await addStockEvents(db, 30, 5, 11);
      // Every event is larger than one byte, so each round takes exactly its first row.
      const relay = track(new OutboxRelay({ db, client, batchBytesMax: 1 }));
      await relay.start();
      await waitFor("the relay to publish 30 events", () => relay.status().published === 30, 30_000);
      assertDeliveredOnceInKeyOrder(await readTopic(broker, "stock.moved", 30), expected);
    });
    assert.equal((await publishedBatches(db)) - batchesBefore, 30, "one row per round");
  },
);

storeTest(
  "two relays at once: one publishes, the other stands by and takes over when it stops; every key stays in order",
  async (t, target) => {
    const { broker, client, db } = await publishingScene(t, target, [stockMoved]);
    const peer = await target.peer(db);
    await withStoppables(async (track) => {
      const first = track(new OutboxRelay({ db, client, batchSize: 5, relayId: "relay-a", leaseMs: 1_000 }));
      const second = track(
        new OutboxRelay({
          db: peer,
          client: toolkitClientFor(broker),
          batchSize: 5,
          relayId: "relay-b",
          leaseMs: 1_000,
        }),
      );
      await first.start();
      await waitFor("relay-a to take the cursor", () => first.status().holdsCursor, 10_000);
      await second.start();
      // Events arrive while both relays run, as they would in production.
      const expected = await addStockEvents(db, 300, 40, 11);
      await waitFor("relay-a to publish some events", () => first.status().published >= 100, 30_000);
      assert.equal(second.status().published, 0, "the stand-by published nothing");
      assert.equal(second.status().holdsCursor, false);
      await first.stop();
      await waitFor(
        "both relays to publish 300 events",
        () => first.status().published + second.status().published === 300,
        30_000,
      );
      assert.ok(second.status().published > 0, "the stand-by took over");
      const records = await readTopic(broker, "stock.moved", 300);
      assert.equal(records.length, 300);
      assertDeliveredOnceInKeyOrder(records, expected);
      assert.equal(await unpublishedCount(db), 0);
    });
  },
);

storeTest("a notification wakes an idle relay long before its poll interval", async (t, target) => {
  const { client, db } = await publishingScene(t, target, [stockMoved]);
  await withStoppables(async (track) => {
    const relay = track(new OutboxRelay({ db, client, idlePollIntervalMs: 60_000, lagIntervalMs: 0 }));
    await relay.start();
    assert.equal(relay.status().listening, true);
    // Warm up the producer, so that the timing below measures waking, not connecting.
    await db.transaction((tx) => addToOutbox(tx, stockMoved, { sku: "warm", sequence: 0 }));
    await waitFor("the first event", () => relay.status().published === 1, 20_000);
    await new Promise((resolve) => setTimeout(resolve, 200));

    const latencies: number[] = [];
    for (let round = 1; round <= 3; round += 1) {
      const startedAt = Date.now();
      await db.transaction((tx) => addToOutbox(tx, stockMoved, { sku: "timed", sequence: round }));
      await waitFor(`event ${round}`, () => relay.status().published === round + 1, 20_000, 5);
      latencies.push(Date.now() - startedAt);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    // The poll interval is 60 s; only the notification can explain delivery within a few seconds.
    assert.ok(Math.max(...latencies) < 5_000, `latencies ${latencies.join(", ")} ms`);

    const stopStartedAt = Date.now();
    await relay.stop();
    assert.ok(Date.now() - stopStartedAt < 2_000, "an idle relay stops at once, not at its next poll");
  });
});

storeTest(
  "an idle relay's safety-net poll slows down on an exclusive database; a committed row is still relayed at once",
  async (t, target) => {
    const { client, db } = await publishingScene(t, target, [stockMoved]);
    await withStoppables(async (track) => {
      const options = { db, client, idlePollIntervalMs: 100, idlePollIntervalMaxMs: 3_200, lagIntervalMs: 0 };
      const exclusive = track(new OutboxRelay({ ...options, exclusiveDatabase: true }));
      await exclusive.start();
      assert.equal(exclusive.status().listening, true);
      assert.equal(exclusive.status().idlePollMs, 100);
      // Each poll that finds nothing doubles the wait: 100, 200, 400, 800, 1600, then the ceiling.
      await waitFor("the safety-net poll at its ceiling", () => exclusive.status().idlePollMs === 3_200, 30_000);

      const startedAt = Date.now();
      await db.transaction((tx) => addToOutbox(tx, stockMoved, { sku: "late", sequence: 1 }));
      await waitFor("the row relayed", () => exclusive.status().published === 1, 20_000, 5);
      const latencyMs = Date.now() - startedAt;
      // The relay waited 3.2 s between polls; only the commit's notification explains delivery well before that.
      assert.ok(latencyMs < 2_500, `relayed after ${latencyMs} ms`);
      assert.ok(exclusive.status().idlePollMs < 3_200, "the notification brought the poll back to its base interval");
      await exclusive.stop();

      // On a database other processes share, polls also find dead relays' leases: they stay regular.
      const shared = track(new OutboxRelay({ ...options, exclusiveDatabase: false, idlePollIntervalMaxMs: undefined }));
      await shared.start();
      // Doubling after each empty poll (100, 200 ms), the wait would be 400 ms by now.
      await new Promise((resolve) => setTimeout(resolve, 500));
      assert.equal(shared.status().idlePollMs, 100);
      await shared.stop();

      // By default the safety net polls once a minute from the start on an exclusive database, every 10 s elsewhere.
      for (const [exclusiveDatabase, expectedMs] of [
        [true, DEFAULT_RELAY_EXCLUSIVE_IDLE_POLL_INTERVAL_MS],
        [false, DEFAULT_RELAY_IDLE_POLL_INTERVAL_MS],
      ] as const) {
        const relay = track(new OutboxRelay({ db, client, lagIntervalMs: 0, exclusiveDatabase }));
        await relay.start();
        assert.equal(relay.status().idlePollMs, expectedMs, `exclusiveDatabase: ${exclusiveDatabase}`);
        await relay.stop();
      }
    });
  },
);

storeTest("without LISTEN the relay polls, and a relay may delete rows instead of marking them", async (t, target) => {
  const { broker, client, db } = await publishingScene(t, target, [stockMoved]);
  await withStoppables(async (track) => {
    const relay = track(new OutboxRelay({ db, client, listen: false, pollIntervalMs: 50, afterPublish: "delete" }));
    await relay.start();
    assert.equal(relay.status().listening, false);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const expected = await addStockEvents(db, 30, 3, 5);
    await waitFor("30 events by polling", () => relay.status().published === 30, 20_000);
    const { rows } = await db.query<{ count: number }>("SELECT count(*)::int AS count FROM sluice_outbox");
    assert.equal(rows[0]?.count, 0, "published rows were deleted");
    assertDeliveredOnceInKeyOrder(await readTopic(broker, "stock.moved", 30), expected);
  });
});

storeTest(
  "an idle relay alone on an exclusive database does not wake to renew its lease, and still publishes at once",
  async (t, target) => {
    const { client, db } = await publishingScene(t, target, [stockMoved]);
    let renewals = 0;
    // The database as the relay sees it, counting the statements that only renew the cursor's lease.
    const counting = new Proxy(db, {
      get(inner, property) {
        if (property === "query") {
          return (sql: string, params?: readonly unknown[]) => {
            if (sql.startsWith("UPDATE sluice_outbox_cursor SET lease_expires_at")) renewals++;
            return inner.query(sql, params);
          };
        }
        const value: unknown = Reflect.get(inner, property);
        return typeof value === "function" ? value.bind(inner) : value;
      },
    });
    await withStoppables(async (track) => {
      // A lease renewed every 100 ms while the relay holds the cursor: 6 renewals in 600 ms, were it renewed idle.
      const relay = track(
        new OutboxRelay({ db: counting, client, exclusiveDatabase: true, leaseMs: 300, lagIntervalMs: 0 }),
      );
      await relay.start();
      await new Promise((resolve) => setTimeout(resolve, 600));
      assert.equal(renewals, 0, "renewals while idle");
      await db.transaction((tx) => addToOutbox(tx, stockMoved, { sku: "after-idle", sequence: 1 }));
      await waitFor("the row relayed after the idle lease ran out", () => relay.status().published === 1, 20_000, 5);
      assert.equal(relay.status().consecutiveFailures, 0);
    });
  },
);
