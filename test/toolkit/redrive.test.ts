// Listing and redriving dead letters against the embedded broker and both databases: the group that gave up on an
// event processes the redriven copy (same event id, key and partition), groups that had processed it skip it.

import assert from "node:assert/strict";

import type { InboxConsumer } from "../../src/toolkit/consumer.js";
import { ToolkitError } from "../../src/toolkit/errors.js";
import { listDeadLetters, redriveDeadLetters } from "../../src/toolkit/redrive.js";
import { NonRetriableError } from "../../src/toolkit/retry.js";
import { brokerForTest } from "../helpers/broker.js";
import { storeTest, waitFor } from "../store/harness.js";
import {
  consumerFor,
  counterValue,
  createBusinessTable,
  createTopic,
  handledCounts,
  insertHandled,
  orderTopic,
  publisherFor,
  stopAll,
  toolkitClientFor,
  uniqueGroup,
} from "./consumer-support.js";

storeTest(
  "redrive re-publishes dead letters; the failing group processes them, others skip them",
  async (t, target) => {
    const broker = await brokerForTest(t);
    const client = toolkitClientFor(broker);
    const db = await target.open();
    await createBusinessTable(db);
    await db.query("CREATE TABLE audit_log (event_id text NOT NULL)");
    const topic = orderTopic(2);
    await createTopic(client, topic);
    const shipping = uniqueGroup("shipping");
    const audit = uniqueGroup("audit");
    const broken = new Set(["bad-1", "bad-2"]);
    const consumers: InboxConsumer[] = [];
    try {
      await assert.rejects(listDeadLetters(client, topic), (error: unknown) => {
        assert.ok(error instanceof ToolkitError);
        assert.equal(error.code, "SLUICE_DEAD_LETTER_TOPIC_UNKNOWN");
        assert.match(error.message, new RegExp(`${topic.name}\\.dlt`));
        return true;
      });
      const shippingConsumer = consumerFor(consumers, {
        client,
        db,
        groupId: shipping,
        topics: [topic],
        handler: async (event, tx) => {
          if (broken.has(event.value.orderId)) throw new NonRetriableError(`no stock for ${event.value.orderId}`);
          await insertHandled(tx, event);
        },
      });
      const auditConsumer = consumerFor(consumers, {
        client,
        db: await target.peer(db),
        groupId: audit,
        topics: [topic],
        handler: async (event, tx) => {
          await tx.query("INSERT INTO audit_log (event_id) VALUES ($1)", [event.id]);
        },
      });
      await shippingConsumer.start();
      await auditConsumer.start();
      const publisher = publisherFor(t, client);
      const published = new Map<string, { id: string; partition: number }>();
      for (const orderId of ["ok-1", "bad-1", "bad-2", "ok-2"]) {
        published.set(orderId, await publisher.publish(topic, { orderId, amount: 1 }));
      }
      const auditRows = async () =>
        (await db.query<{ rows: number }>("SELECT count(*)::int AS rows FROM audit_log")).rows[0]!.rows;
      await waitFor("the audit group to log every event", async () => (await auditRows()) === 4, 10_000);
      await waitFor(
        "two dead letters",
        async () => (await counterValue("sluice_events_dead_lettered_total", { group: shipping })) === 2,
        10_000,
      );

      const letters = await listDeadLetters(client, topic);
      assert.deepEqual(
        letters.map((letter) => letter.eventId),
        [published.get("bad-1")!.id, published.get("bad-2")!.id],
        "oldest first",
      );
      assert.equal(letters[0]!.errorCode, "SLUICE_HANDLER_NON_RETRIABLE");
      assert.equal(letters[0]!.attempts, 1);
      assert.equal(letters[0]!.originalPartition, published.get("bad-1")!.partition);
      const future = new Date(Date.now() + 60_000);
      const past = new Date(Date.now() - 60_000);
      assert.deepEqual(await listDeadLetters(client, topic, { since: future }), []);
      assert.deepEqual(await listDeadLetters(client, topic, { until: past }), []);
      assert.equal((await listDeadLetters(client, topic, { since: past, until: future })).length, 2);
      assert.deepEqual(
        (await listDeadLetters(client, topic, { eventIds: [published.get("bad-2")!.id] })).map(
          (letter) => letter.eventId,
        ),
        [published.get("bad-2")!.id],
      );
      assert.equal((await listDeadLetters(client, topic, { limit: 1 }))[0]?.eventId, published.get("bad-1")!.id);
      await assert.rejects(listDeadLetters(client, topic, { limit: 0 }), /limit/);

      const dryRun = await redriveDeadLetters(client, topic, { dryRun: true });
      assert.equal(dryRun.dryRun, true);
      assert.equal(dryRun.deadLetters.length, 2);
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(await auditRows(), 4, "a dry run publishes nothing");

      // The cause is fixed; bring back one dead letter, then all of them (so bad-1 comes back twice).
      broken.clear();
      const one = await redriveDeadLetters(client, topic, { eventIds: [published.get("bad-1")!.id] });
      assert.equal(one.deadLetters.length, 1);
      const all = await redriveDeadLetters(client, topic.name);
      assert.equal(all.deadLetters.length, 2);
      assert.equal(all.originalTopic, topic.name);

      await waitFor(
        "the shipping group to process the redriven events",
        async () => (await handledCounts(db)).size === 4,
        10_000,
      );
      await waitFor(
        "the audit group to skip the three redriven copies",
        async () => (await counterValue("sluice_events_skipped_total", { group: audit })) === 3,
        10_000,
      );
      await waitFor(
        "the shipping group to skip bad-1's second copy",
        async () => (await counterValue("sluice_events_skipped_total", { group: shipping })) === 1,
        10_000,
      );
      const counts = await handledCounts(db);
      for (const event of published.values()) assert.equal(counts.get(event.id), 1, "same event id, processed once");
      const { rows } = await db.query<{ event_id: string; partition: number }>(
        "SELECT event_id, partition FROM handled",
      );
      for (const orderId of ["bad-1", "bad-2"]) {
        const row = rows.find((candidate) => candidate.event_id === published.get(orderId)!.id);
        assert.equal(row?.partition, published.get(orderId)!.partition, "back on its original partition");
      }
      assert.equal(await auditRows(), 4, "the audit group did not log the redriven events again");
    } finally {
      await stopAll(consumers);
    }
  },
);
