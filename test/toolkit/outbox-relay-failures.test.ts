// The outbox relay when things go wrong: the broker refusing or gone, a relay crashing at chosen points (the hooks
// the effectively-once simulation uses), and stopping with a batch in flight.

import assert from "node:assert/strict";
import type { TestContext } from "node:test";

import { Type } from "@sinclair/typebox";

import { readOutboxLag, type Database } from "../../src/store/index.js";
import { EVENT_HEADERS } from "../../src/toolkit/event.js";
import { ensureTopics } from "../../src/toolkit/kafka/admin.js";
import { addManyToOutbox } from "../../src/toolkit/outbox.js";
import { OutboxRelay } from "../../src/toolkit/outbox-relay.js";
import { RelayCrashedError } from "../../src/toolkit/outbox-relay-options.js";
import { defineTopic } from "../../src/toolkit/topic.js";
import { brokerForTest } from "../helpers/broker.js";
import { seededRandom, storeTest, waitFor, type StoreTarget } from "../store/harness.js";
import {
  databaseWithFault,
  metricValue,
  publishingScene,
  readTopic,
  toolkitClientFor,
  withStoppables,
  type ReadRecord,
} from "./publishing-helpers.js";

const PRODUCE_API_KEY = 0;

const cartUpdated = defineTopic({
  name: "carts.updated",
  partitions: 2,
  schema: Type.Object({ cartId: Type.String(), sequence: Type.Integer() }),
  key: (event) => event.cartId,
});

async function addCartEvents(db: Database, carts: number, perCart: number): Promise<string[]> {
  const values: Array<{ cartId: string; sequence: number }> = [];
  for (let sequence = 0; sequence < perCart; sequence += 1) {
    for (let cart = 0; cart < carts; cart += 1) values.push({ cartId: `cart-${cart}`, sequence });
  }
  return db.transaction((tx) => addManyToOutbox(tx, cartUpdated, values));
}

interface FailureView {
  id: number;
  last_error: string | null;
  failed_attempts: number;
}

async function failures(db: Database): Promise<FailureView[]> {
  const { rows } = await db.query<FailureView>("SELECT id, last_error, failed_attempts FROM sluice_outbox ORDER BY id");
  return rows;
}

async function waiting(db: Database): Promise<number> {
  return (await readOutboxLag(db)).waiting;
}

/** The relay holding the outbox's cursor, or null. */
async function cursorHolder(db: Database): Promise<string | null> {
  const { rows } = await db.query<{ relay_id: string | null }>("SELECT relay_id FROM sluice_outbox_cursor");
  return rows[0]?.relay_id ?? null;
}

/** Whether a statement is the relay's move of the cursor. */
function movesCursor(sql: string): boolean {
  return sql.includes("SET position_xid");
}

/** Each key's events in first-delivery order, without the duplicates. */
function firstDeliveries(records: readonly ReadRecord[]): Map<string, number[]> {
  const seen = new Set<string>();
  const byKey = new Map<string, number[]>();
  for (const record of records) {
    const id = record.headers[EVENT_HEADERS.id] ?? "";
    if (seen.has(id)) continue;
    seen.add(id);
    const key = record.key ?? "";
    byKey.set(key, [...(byKey.get(key) ?? []), JSON.parse(record.value ?? "").sequence as number]);
  }
  return byKey;
}

function assertKeysComplete(records: readonly ReadRecord[], carts: number, perCart: number): void {
  const byKey = firstDeliveries(records);
  assert.equal(byKey.size, carts);
  for (const [key, sequences] of byKey) assert.deepEqual(sequences, [...Array(perCart).keys()], `${key} in order`);
}

storeTest("while the broker refuses produce requests rows wait, then flow once it accepts again", async (t, target) => {
  const { broker, client, db } = await publishingScene(t, target, [cartUpdated]);
  const removeFault = broker.injectFault({ apiKey: PRODUCE_API_KEY, action: { kind: "drop" } });
  await withStoppables(async (track) => {
    const relay = track(
      new OutboxRelay({ db, client, batchSize: 10, backoffBaseMs: 20, backoffMaxMs: 200, random: seededRandom(3) }),
    );
    await relay.start();
    await addCartEvents(db, 4, 10);
    await waitFor("two failed rounds", () => relay.status().consecutiveFailures >= 2, 20_000);
    assert.equal(relay.status().published, 0);
    assert.equal(relay.ready, true, "a relay waiting for the broker is still running");
    assert.equal(await waiting(db), 40, "the cursor does not move while the broker refuses");
    assert.match(relay.status().lastError ?? "", /carts\.updated/);
    assert.ok(
      (await failures(db)).some((row) => /carts\.updated/.test(row.last_error ?? "") && row.failed_attempts >= 1),
      "the failure is recorded on the rows",
    );

    removeFault();
    await waitFor("all 40 events after the outage", () => relay.status().published === 40, 30_000);
    assert.equal(relay.status().consecutiveFailures, 0);
    const records = await readTopic(broker, "carts.updated", 40);
    assertKeysComplete(records, 4, 10);
    assert.equal(records.length, 40, "refused requests were never written, so nothing is duplicated");
  });
});

storeTest("the relay survives a broker restart: rows wait while it is down, then flow", async (t, target) => {
  const dataDir = await target.tempDir();
  const first = await brokerForTest(t, { dataDir });
  const port = first.port;
  const client = toolkitClientFor(first);
  await ensureTopics(client, [cartUpdated]);
  const db = await target.open();
  let restarted: { close(): Promise<void> } | null = null;
  await withStoppables(async (track) => {
    const relay = track(new OutboxRelay({ db, client, batchSize: 10, backoffBaseMs: 20, backoffMaxMs: 300 }));
    await relay.start();
    await addCartEvents(db, 3, 4);
    await waitFor("the first events", () => relay.status().published === 12, 20_000);

    await first.close();
    await addCartEvents(db, 3, 4);
    await waitFor("a failed round while the broker is down", () => relay.status().consecutiveFailures >= 1, 20_000);
    assert.equal(relay.status().published, 12);

    const second = await brokerForTest(t, { port, dataDir });
    restarted = second;
    await waitFor("the rest after the restart", () => relay.status().published === 24, 30_000);
    const records = await readTopic(second, "carts.updated", 24);
    const byKey = firstDeliveries(records);
    for (const [key, sequences] of byKey) {
      assert.deepEqual(sequences, [0, 1, 2, 3, 0, 1, 2, 3], `${key}: both rounds, in order`);
    }
    assert.equal(new Set(records.map((record) => record.headers[EVENT_HEADERS.id])).size, 24);
  });
  // The harness removes the data directory when the body returns, before t.after would close the broker.
  await (restarted as { close(): Promise<void> } | null)?.close();
});

storeTest(
  "a relay crashing between read and send publishes nothing; another takes the cursor over after the lease",
  async (t, target) => {
    const { broker, client, db } = await publishingScene(t, target, [cartUpdated]);
    await withStoppables(async (track) => {
      await addCartEvents(db, 3, 5);
      const crashing = track(
        new OutboxRelay({
          db,
          client,
          relayId: "doomed",
          leaseMs: 400,
          hooks: {
            afterClaim: () => {
              throw new Error("killed after claim");
            },
          },
        }),
      );
      await crashing.start();
      await waitFor("the crash", () => crashing.status().state === "crashed", 20_000);
      assert.ok(crashing.crashError instanceof RelayCrashedError);
      assert.equal(crashing.crashError.point, "afterClaim");
      assert.equal(crashing.ready, false);
      assert.equal(await cursorHolder(db), "doomed", "the cursor stays leased");
      assert.equal(await waiting(db), 15);

      const successor = track(new OutboxRelay({ db, client, relayId: "successor", idlePollIntervalMs: 100 }));
      await successor.start();
      await waitFor("the successor to publish everything", () => successor.status().published === 15, 20_000);
      const records = await readTopic(broker, "carts.updated", 15);
      assert.equal(records.length, 15, "nothing was sent before the crash, so nothing is duplicated");
      assertKeysComplete(records, 3, 5);
      assert.equal(await cursorHolder(db), "successor");
      assert.ok(
        (await failures(db)).every((row) => row.failed_attempts === 0),
        "a crash is not a failed send",
      );
    });
  },
);

storeTest(
  "a relay crashing between send and the cursor's move leads to duplicates with the same event id, never a loss",
  async (t, target) => {
    const { broker, client, db } = await publishingScene(t, target, [cartUpdated]);
    await withStoppables(async (track) => {
      const ids = await addCartEvents(db, 2, 3);
      let sentBeforeCrash = 0;
      const crashing = track(
        new OutboxRelay({
          db,
          client,
          leaseMs: 300,
          hooks: {
            afterSend: (records) => {
              sentBeforeCrash = records.length;
              throw new Error("killed after send");
            },
          },
        }),
      );
      await crashing.start();
      await waitFor("the crash", () => crashing.status().state === "crashed", 20_000);
      assert.equal(crashing.crashError?.point, "afterSend");
      assert.equal(sentBeforeCrash, 6);
      assert.equal(await waiting(db), 6, "the crash came before the cursor's move");

      const successor = track(new OutboxRelay({ db, client, idlePollIntervalMs: 100 }));
      await successor.start();
      await waitFor("the successor to publish again", () => successor.status().published === 6, 20_000);
      const records = await readTopic(broker, "carts.updated", 12);
      assert.equal(records.length, 12, "each event twice");
      const counts = new Map<string, number>();
      for (const record of records) {
        const id = record.headers[EVENT_HEADERS.id] ?? "";
        counts.set(id, (counts.get(id) ?? 0) + 1);
      }
      assert.deepEqual([...counts.keys()].sort(), [...ids].sort());
      assert.ok([...counts.values()].every((count) => count === 2));
      assertKeysComplete(records, 2, 3);
    });
  },
);

storeTest(
  "a batch's cursor move runs while the next batch is sent; when it fails, the next batch's move covers both",
  async (t, target) => {
    const { broker, client, db } = await publishingScene(t, target, [cartUpdated]);
    const produced = () => metricValue("sluice_events_produced_total", { topic: cartUpdated.name, source: "outbox" });
    const producedBefore = await produced();
    let marks = 0;
    let sentDuringFirstMark = 0;
    const faulty = databaseWithFault(db, async (sql) => {
      if (!movesCursor(sql)) return;
      marks += 1;
      if (marks !== 1) return;
      // The first batch's mark fails, but only once the second batch reached the broker (or after a while, if the
      // relay waited for this mark before sending it, which the assertion below catches).
      await waitFor("the second batch to be sent", async () => (await produced()) - producedBefore >= 8, 5_000).catch(
        () => undefined,
      );
      sentDuringFirstMark = (await produced()) - producedBefore;
      throw new Error("the database refused the cursor's move");
    });
    await withStoppables(async (track) => {
      const ids = await addCartEvents(db, 2, 8);
      const relay = track(
        new OutboxRelay({ db: faulty, client, batchSize: 4, leaseMs: 1_000, idlePollIntervalMs: 100 }),
      );
      await relay.start();
      await waitFor("every row to be published", async () => (await waiting(db)) === 0, 20_000);
      assert.equal(sentDuringFirstMark, 8, "the second batch was sent while the first one's move ran");
      assert.equal(relay.status().published, 16);

      const records = await readTopic(broker, cartUpdated.name, 16);
      const deliveries = new Map<string, number>();
      for (const record of records) {
        const id = record.headers[EVENT_HEADERS.id] ?? "";
        deliveries.set(id, (deliveries.get(id) ?? 0) + 1);
      }
      assert.deepEqual([...deliveries.keys()].sort(), [...ids].sort(), "every event reached the topic");
      assert.deepEqual(
        ids.filter((id) => deliveries.get(id) !== 1),
        [],
        "nothing went out twice: the second batch's move took the cursor past the first batch too",
      );
      assertKeysComplete(records, 2, 8);
    });
  },
);

/**
 * A relay (batches of 4) whose first cursor move takes three leases' time, and a rival relay started as that move
 * begins: the relay must keep the cursor's lease meanwhile, so that the rival does not send the rows again.
 */
async function slowFirstMark(t: TestContext, target: StoreTarget, carts: number): Promise<void> {
  const { broker, client, db } = await publishingScene(t, target, [cartUpdated]);
  await withStoppables(async (track) => {
    // One event per cart, so that no key of the first batch is in flight in a later one and holds it back.
    const ids = await addCartEvents(db, carts, 1);
    let marks = 0;
    let rival: OutboxRelay | null = null;
    const slow = databaseWithFault(db, async (sql) => {
      if (!movesCursor(sql)) return;
      marks += 1;
      if (marks !== 1) return;
      rival = track(new OutboxRelay({ db, client, relayId: "rival", leaseMs: 500, idlePollIntervalMs: 50 }));
      await rival.start();
      await new Promise((resolve) => setTimeout(resolve, 1_500));
    });
    const relay = track(
      new OutboxRelay({ db: slow, client, relayId: "slow", batchSize: 4, leaseMs: 500, idlePollIntervalMs: 50 }),
    );
    await relay.start();
    await waitFor("every row to be published", async () => (await waiting(db)) === 0, 20_000);
    assert.ok(rival !== null, "the rival relay ran");
    const records = await readTopic(broker, cartUpdated.name, ids.length);
    assert.equal(records.length, ids.length, "no event was sent twice");
  });
}

storeTest("a slow cursor move keeps the lease while the next batch is sent", (t, target) =>
  slowFirstMark(t, target, 16),
);

storeTest("a slow cursor move after the last full batch keeps the lease while the relay waits for it", (t, target) =>
  slowFirstMark(t, target, 4),
);

storeTest("stop finishes the batch in flight; past stopTimeoutMs it gives the cursor up instead", async (t, target) => {
  const { broker, client, db } = await publishingScene(t, target, [cartUpdated]);
  await withStoppables(async (track) => {
    await addCartEvents(db, 2, 2);
    let claimed = false;
    const graceful = track(
      new OutboxRelay({
        db,
        client,
        hooks: {
          afterClaim: async () => {
            claimed = true;
            await new Promise((resolve) => setTimeout(resolve, 300));
          },
        },
      }),
    );
    await graceful.start();
    await waitFor("a claimed batch", () => claimed, 20_000);
    await graceful.stop();
    assert.equal(graceful.status().state, "stopped");
    assert.equal(graceful.status().published, 4, "the batch in flight was finished");
    assert.equal(await waiting(db), 0);
    assert.equal(await cursorHolder(db), null, "a stopped relay gives the cursor up");

    await addCartEvents(db, 2, 2);
    let release: () => void = () => {};
    let stuckRead = false;
    const stuck = track(
      new OutboxRelay({
        db,
        client,
        relayId: "stuck",
        stopTimeoutMs: 100,
        hooks: {
          afterClaim: () => {
            stuckRead = true;
            return new Promise<void>((resolve) => (release = resolve));
          },
        },
      }),
    );
    await stuck.start();
    await waitFor("the stuck relay to read", () => stuckRead, 20_000);
    assert.equal(await cursorHolder(db), "stuck");
    const stopStartedAt = Date.now();
    await stuck.stop();
    assert.ok(Date.now() - stopStartedAt < 5_000, "stop did not wait for the stuck batch");
    assert.equal(await cursorHolder(db), null, "the cursor was given up for other relays");
    assert.equal(await waiting(db), 4, "the stuck batch's rows wait for another relay");
    release();
    assert.equal((await readTopic(broker, "carts.updated", 4)).length, 4, "only the finished batch reached the broker");
  });
});
