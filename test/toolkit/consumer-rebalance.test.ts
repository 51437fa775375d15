// A consumer group whose membership changes while events flow: one member leaves, one crashes after committing to
// the database but before committing its offset, and one joins. Every event must end up in the database exactly
// once, whichever member handled it and however often it was delivered.

import assert from "node:assert/strict";

import type { InboxConsumer } from "../../src/toolkit/consumer.js";
import { brokerForTest } from "../helpers/broker.js";
import { storeTest, waitFor } from "../store/harness.js";
import {
  consumerFor,
  counterValue,
  createBusinessTable,
  createTopic,
  handledCounts,
  handledTotal,
  insertHandled,
  orderTopic,
  publisherFor,
  stopAll,
  toolkitClientFor,
  uniqueGroup,
} from "./consumer-support.js";

const PARTITIONS = 4;
const BURSTS = 8;
const EVENTS_PER_BURST = 40;
const TOTAL = BURSTS * EVENTS_PER_BURST;

storeTest(
  "a group rebalancing mid-stream (a member leaves, one crashes, one joins) loses and duplicates nothing",
  async (t, target) => {
    const broker = await brokerForTest(t);
    const client = toolkitClientFor(broker);
    const db = await target.open();
    await createBusinessTable(db);
    const topic = orderTopic(PARTITIONS);
    await createTopic(client, topic);
    const groupId = uniqueGroup("rebalance");
    const consumers: InboxConsumer[] = [];
    const handledBy = new Map<string, Set<string>>();
    let bCrashed = false;
    const member = async (name: string): Promise<InboxConsumer> => {
      const consumer = consumerFor(consumers, {
        client,
        db: await target.peer(db),
        groupId,
        topics: [topic],
        concurrency: 2,
        name,
        handler: async (event, tx) => {
          await insertHandled(tx, event);
          // A little work per event keeps several in flight while the group changes.
          await new Promise((resolve) => setTimeout(resolve, 2));
          const seen = handledBy.get(name) ?? new Set();
          seen.add(event.id);
          handledBy.set(name, seen);
        },
        hooks: {
          at: (context) => {
            if (name === "b" && !bCrashed && context.point === "after-commit" && (handledBy.get("b")?.size ?? 0) >= 5) {
              bCrashed = true;
              throw new Error("member b dies between its database commit and its offset commit");
            }
          },
        },
      });
      await consumer.start();
      return consumer;
    };
    const publisher = publisherFor(t, client);
    const ids: string[] = [];
    const publishBursts = async (first: number, count: number): Promise<void> => {
      for (let burst = first; burst < first + count; burst++) {
        const values = Array.from({ length: EVENTS_PER_BURST }, (_, index) => ({
          orderId: `order-${burst}-${index}`,
          amount: index,
        }));
        ids.push(...(await publisher.publishMany(topic, values)));
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    };
    try {
      const a = await member("a");
      const b = await member("b");
      await member("c");
      await Promise.all(consumers.map((consumer) => consumer.whenReady(15_000)));

      // The group changes while the first half of the events is still being handled.
      const firstHalf = publishBursts(0, BURSTS / 2);
      await waitFor("the first events", async () => (await handledTotal(db)) >= EVENTS_PER_BURST, 20_000);
      await a.stop();
      await waitFor("member b to crash", () => b.state === "crashed", 20_000);
      const d = await member("d");
      await d.whenReady(15_000);
      await firstHalf;
      await publishBursts(BURSTS / 2, BURSTS / 2);
      await waitFor("every event", async () => (await handledTotal(db)) >= TOTAL, 30_000);
      // Give redeliveries in flight a moment to show up as duplicates, if the inbox let any through.
      await new Promise((resolve) => setTimeout(resolve, 300));

      const counts = await handledCounts(db);
      assert.equal(counts.size, TOTAL, "every event is in the database");
      assert.deepEqual([...counts.keys()].sort(), [...ids].sort());
      const duplicated = [...counts].filter(([, rows]) => rows !== 1);
      assert.deepEqual(duplicated, [], "no event is in the database twice");
      assert.ok((handledBy.get("d")?.size ?? 0) > 0, "the member that joined late took over partitions");
      assert.ok((handledBy.get("a")?.size ?? 0) > 0, "the member that left had handled events before");
      // Member b's crash left its last event committed in the database but not in Kafka: it came back, and the
      // inbox skipped it.
      assert.ok((await counterValue("sluice_events_skipped_total", { group: groupId })) >= 1);
    } finally {
      await stopAll(consumers);
    }
  },
  { timeoutMs: 90_000 },
);
