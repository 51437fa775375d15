// The outbox relay's lag gauges and its cleanup of published rows.

import assert from "node:assert/strict";

import { Type } from "@sinclair/typebox";

import type { Database } from "../../src/store/index.js";
import { addManyToOutbox } from "../../src/toolkit/outbox.js";
import { OutboxRelay } from "../../src/toolkit/outbox-relay.js";
import { defineTopic } from "../../src/toolkit/topic.js";
import { storeTest, waitFor } from "../store/harness.js";
import { metricValue, publishingScene, withStoppables } from "./publishing-helpers.js";

const PRODUCE_API_KEY = 0;

const invoiceSent = defineTopic({
  name: "invoices.sent",
  schema: Type.Object({ invoiceId: Type.String() }),
  key: (event) => event.invoiceId,
});

async function addInvoices(db: Database, count: number, prefix: string): Promise<void> {
  const values = Array.from({ length: count }, (_, index) => ({ invoiceId: `${prefix}-${index}` }));
  await db.transaction((tx) => addManyToOutbox(tx, invoiceSent, values));
}

async function rowCount(db: Database): Promise<number> {
  const { rows } = await db.query<{ count: number }>("SELECT count(*)::int AS count FROM sluice_outbox");
  return rows[0]?.count ?? -1;
}

storeTest(
  "lag gauges show waiting rows and the oldest one's age, and drop to zero once published",
  async (t, target) => {
    const { broker, client, db } = await publishingScene(t, target, [invoiceSent]);
    const labels = { schema: db.schema };
    const removeFault = broker.injectFault({ apiKey: PRODUCE_API_KEY, action: { kind: "drop" } });
    await withStoppables(async (track) => {
      const relay = track(new OutboxRelay({ db, client, lagIntervalMs: 50, backoffBaseMs: 50, backoffMaxMs: 100 }));
      await addInvoices(db, 5, "early");
      await new Promise((resolve) => setTimeout(resolve, 300));
      const lag = await relay.refreshLag();
      assert.equal(lag.waiting, 5);
      assert.equal(lag.inFlight, 0);
      assert.ok(lag.oldestAgeMs !== null && lag.oldestAgeMs >= 250, `oldest age ${lag.oldestAgeMs} ms`);
      assert.equal(await metricValue("sluice_outbox_waiting_events", labels), 5);
      assert.ok((await metricValue("sluice_outbox_oldest_age_seconds", labels)) >= 0.25);

      // Started while the broker refuses: each read of the gauges (a scrape) reads the lag again, at most every 50 ms,
      // so they stay current, and the age keeps growing.
      await relay.start();
      await waitFor("a failed round", () => relay.status().consecutiveFailures >= 1, 20_000);
      await addInvoices(db, 3, "late");
      await waitFor(
        "the gauge to count 8 waiting rows",
        async () => (await metricValue("sluice_outbox_waiting_events", labels)) === 8,
        10_000,
      );
      assert.ok((await metricValue("sluice_outbox_oldest_age_seconds", labels)) >= 0.3);

      removeFault();
      await waitFor("everything published", () => relay.status().published === 8, 20_000);
      await waitFor(
        "the gauges to drop to zero",
        async () =>
          (await metricValue("sluice_outbox_waiting_events", labels)) === 0 &&
          (await metricValue("sluice_outbox_oldest_age_seconds", labels)) === 0,
        10_000,
      );
      const failed = await metricValue("sluice_outbox_relay_batches_total", { schema: db.schema, result: "failed" });
      assert.ok(failed >= 1, "failed rounds are counted");
      assert.deepEqual(await relay.refreshLag(), { waiting: 0, inFlight: 0, oldestCreatedAt: null, oldestAgeMs: null });
    });
  },
);

storeTest(
  "the lag is read when the gauges are scraped, and a scrape within lagIntervalMs reuses it",
  async (t, target) => {
    const { broker, client, db } = await publishingScene(t, target, [invoiceSent]);
    const labels = { schema: db.schema };
    const removeFault = broker.injectFault({ apiKey: PRODUCE_API_KEY, action: { kind: "drop" } });
    t.after(removeFault);
    await withStoppables(async (track) => {
      const relay = track(new OutboxRelay({ db, client, lagIntervalMs: 60_000, backoffBaseMs: 50, backoffMaxMs: 100 }));
      await addInvoices(db, 4, "first");
      await relay.start();
      // No timer read it: the first scrape does, and sees every waiting row.
      assert.equal(await metricValue("sluice_outbox_waiting_events", labels), 4);
      await addInvoices(db, 2, "second");
      assert.equal(await metricValue("sluice_outbox_waiting_events", labels), 4, "within 60 s the reading is reused");
      assert.equal((await relay.refreshLag()).waiting, 6, "refreshLag() reads now");
      assert.equal(await metricValue("sluice_outbox_waiting_events", labels), 6);
      await relay.stop();
    });
  },
);

storeTest("cleanup deletes published rows older than the retention, in bounded batches", async (t, target) => {
  const { client, db } = await publishingScene(t, target, [invoiceSent]);
  const cleanedBefore = await metricValue("sluice_outbox_cleaned_events_total", { schema: db.schema });
  await withStoppables(async (track) => {
    const keeping = track(new OutboxRelay({ db, client, retentionMs: 60 * 60 * 1000, cleanupIntervalMs: 0 }));
    await keeping.start();
    await addInvoices(db, 25, "a");
    await waitFor("25 published", () => keeping.status().published === 25, 20_000);
    assert.equal(await keeping.cleanup(), 0, "rows inside the retention window stay");
    assert.equal(await rowCount(db), 25);
    await keeping.stop();

    // An unpublished row is never cleaned up, however old.
    await addInvoices(db, 1, "unsent");
    const sweeping = new OutboxRelay({ db, client, retentionMs: 0, cleanupBatchSize: 10, cleanupIntervalMs: 0 });
    assert.equal(await sweeping.cleanup(), 25, "three batches of at most 10");
    assert.equal(await rowCount(db), 1);
    await sweeping.stop();
  });
  assert.equal((await metricValue("sluice_outbox_cleaned_events_total", { schema: db.schema })) - cleanedBefore, 25);
});

storeTest("periodic cleanup removes published rows on its own", async (t, target) => {
  const { client, db } = await publishingScene(t, target, [invoiceSent]);
  await withStoppables(async (track) => {
    const relay = track(new OutboxRelay({ db, client, retentionMs: 0, cleanupIntervalMs: 50 }));
    await relay.start();
    await addInvoices(db, 12, "p");
    await waitFor("12 published", () => relay.status().published === 12, 20_000);
    await waitFor("the published rows to be cleaned up", async () => (await rowCount(db)) === 0, 10_000);
  });
});
