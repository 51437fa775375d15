// The outbox relay parking a row the broker refuses for good (here: larger than the broker's max message size), so
// that later rows flow; never parking on an outage; and sending a parked row again once its cause is fixed.

import assert from "node:assert/strict";

import { Type } from "@sinclair/typebox";
import kafkajs from "kafkajs";

import { listParkedOutboxRows, readOutboxLag, requeueParkedOutboxRows, type Database } from "../../src/store/index.js";
import { EVENT_HEADERS } from "../../src/toolkit/event.js";
import { ensureTopics } from "../../src/toolkit/kafka/admin.js";
import { addManyToOutbox } from "../../src/toolkit/outbox.js";
import { OutboxRelay } from "../../src/toolkit/outbox-relay.js";
import { defineTopic } from "../../src/toolkit/topic.js";
import { brokerForTest, kafkaFor } from "../helpers/broker.js";
import { seededRandom, storeTest, waitFor } from "../store/harness.js";
import { metricValue, readTopic, toolkitClientFor, withStoppables } from "./publishing-helpers.js";

/** The broker's max message size in these tests: a small event fits, the padded one does not. */
const MESSAGE_BYTES_MAX = 4096;
const LARGE_PADDING_CHARS = 8192;

const cartUpdated = defineTopic({
  name: "carts.updated",
  partitions: 1,
  schema: Type.Object({ cartId: Type.String(), sequence: Type.Integer(), padding: Type.Optional(Type.String()) }),
  key: (event) => event.cartId,
});

const orderPlaced = defineTopic({
  name: "orders.placed",
  partitions: 1,
  schema: Type.Object({ orderId: Type.String() }),
  key: (event) => event.orderId,
});

/** Adds cart-0's events 0, 1 (too large for the broker) and 2, then three orders, in one transaction. */
async function addEventsAroundALargeOne(db: Database): Promise<void> {
  await db.transaction(async (tx) => {
    await addManyToOutbox(tx, cartUpdated, [
      { cartId: "cart-0", sequence: 0 },
      { cartId: "cart-0", sequence: 1, padding: "x".repeat(LARGE_PADDING_CHARS) },
      { cartId: "cart-0", sequence: 2 },
    ]);
    await addManyToOutbox(tx, orderPlaced, [{ orderId: "o-1" }, { orderId: "o-2" }, { orderId: "o-3" }]);
  });
}

function sequences(records: ReadonlyArray<{ value: string | null }>): number[] {
  return records.map((record) => JSON.parse(record.value ?? "").sequence as number);
}

storeTest(
  "a row the broker refuses for good is parked after N attempts; later rows of every topic flow",
  async (t, target) => {
    const broker = await brokerForTest(t, { messageBytesMax: MESSAGE_BYTES_MAX });
    const client = toolkitClientFor(broker);
    await ensureTopics(client, [cartUpdated, orderPlaced]);
    const db = await target.open();
    const parkedBefore = await metricValue("sluice_outbox_parked_rows_total", { schema: db.schema });
    await withStoppables(async (track) => {
      const relay = track(
        new OutboxRelay({
          db,
          client,
          parkAfterFailedAttempts: 3,
          backoffBaseMs: 10,
          backoffMaxMs: 50,
          random: seededRandom(5),
        }),
      );
      await relay.start();
      await addEventsAroundALargeOne(db);
      await waitFor("every row but the large one", () => relay.status().published === 5, 30_000);
      assert.equal((await readOutboxLag(db)).waiting, 0, "the cursor passed the parked row");

      const parked = await listParkedOutboxRows(db);
      assert.equal(parked.length, 1);
      assert.equal(parked[0]!.topic, "carts.updated");
      assert.ok(parked[0]!.failedAttempts >= 3, `parked after 3 attempts, got ${parked[0]!.failedAttempts}`);
      assert.match(parked[0]!.lastError ?? "", /MESSAGE_TOO_LARGE/);
      assert.equal((await metricValue("sluice_outbox_parked_rows_total", { schema: db.schema })) - parkedBefore, 1);

      const carts = await readTopic(broker, "carts.updated", 2);
      assert.deepEqual(
        [...new Set(sequences(carts))],
        [0, 2],
        "the same key's later row went on without the parked one",
      );
      const orders = await readTopic(broker, "orders.placed", 3);
      assert.equal(new Set(orders.map((record) => record.headers[EVENT_HEADERS.id])).size, 3);

      // Once the topic takes larger messages, the requeued row is published, once, after the others.
      const admin = kafkaFor(broker).admin();
      await admin.connect();
      try {
        await admin.alterConfigs({
          validateOnly: false,
          resources: [
            {
              type: kafkajs.ConfigResourceTypes.TOPIC,
              name: "carts.updated",
              configEntries: [{ name: "max.message.bytes", value: String(MESSAGE_BYTES_MAX * 4) }],
            },
          ],
        });
      } finally {
        await admin.disconnect();
      }
      const requeued = await requeueParkedOutboxRows(db, [parked[0]!.id]);
      assert.equal(requeued.length, 1);
      assert.deepEqual(await requeueParkedOutboxRows(db, [parked[0]!.id]), [], "a row requeued is no longer parked");
      relay.wake();
      await waitFor("the requeued row", () => relay.status().published === 6, 30_000);
      assert.deepEqual(await listParkedOutboxRows(db), []);
      const after = await readTopic(broker, "carts.updated", 3);
      assert.deepEqual(sequences(after), [0, 2, 1], "the requeued row is sent once, after the rows that passed it");
    });
  },
);

storeTest("a broker outage parks nothing: rows wait and are retried", async (t, target) => {
  const broker = await brokerForTest(t);
  const client = toolkitClientFor(broker);
  await ensureTopics(client, [cartUpdated, orderPlaced]);
  const db = await target.open();
  await withStoppables(async (track) => {
    const relay = track(
      new OutboxRelay({
        db,
        client,
        parkAfterFailedAttempts: 1,
        backoffBaseMs: 10,
        backoffMaxMs: 50,
        random: seededRandom(7),
      }),
    );
    await relay.start();
    await broker.close();
    await db.transaction((tx) => addManyToOutbox(tx, orderPlaced, [{ orderId: "o-1" }, { orderId: "o-2" }]));
    await waitFor("three failed rounds", () => relay.status().consecutiveFailures >= 3, 30_000);
    assert.deepEqual(await listParkedOutboxRows(db), [], "an unreachable broker is not a reason to park");
    assert.equal((await readOutboxLag(db)).waiting, 2, "the rows still wait before the cursor");
  });
});
