// The diagnostics channels on an event's way (src/toolkit/diagnostics.ts): a subscriber sees the relay claim and the
// broker acknowledge an outbox row, and an inbox consumer receive and commit its record, by key. (The broker hands a
// record to fetches as it appends it, before its fsync, so a consumer may receive it before the relay's ack.) The
// consumer is a low-priority one, which handles its events like any other.

import assert from "node:assert/strict";
import { subscribe, unsubscribe } from "node:diagnostics_channel";

import {
  CONSUMER_COMMITTED_CHANNEL,
  CONSUMER_RECEIVED_CHANNEL,
  RELAY_ACKNOWLEDGED_CHANNEL,
  RELAY_CLAIMED_CHANNEL,
  type ConsumerStageMessage,
  type RelayStageMessage,
} from "../../src/toolkit/diagnostics.js";
import { addToOutbox } from "../../src/toolkit/outbox.js";
import { OutboxRelay } from "../../src/toolkit/outbox-relay.js";
import { storeTest, waitFor } from "../store/harness.js";
import { consumerOfScene, consumerScene, handledTotal, insertHandled, stopAll } from "./consumer-support.js";

storeTest(
  "a subscriber to the diagnostics channels times an event from the outbox to a consumer's commit",
  async (t, target) => {
    const scene = await consumerScene(t, target, "diagnostics");
    const seen: Array<{ stage: string; key: string; atMs: number }> = [];
    const relayListener = (stage: string) => (message: unknown) => {
      for (const record of (message as RelayStageMessage).records) {
        seen.push({ stage, key: record.key?.toString() ?? "", atMs: (message as RelayStageMessage).atMs });
      }
    };
    const consumerListener = (stage: string) => (message: unknown) => {
      const { groupId, records, atMs } = message as ConsumerStageMessage;
      if (groupId !== scene.groupId) return;
      for (const record of records) seen.push({ stage, key: record.key?.toString() ?? "", atMs });
    };
    const listeners = [
      [RELAY_CLAIMED_CHANNEL, relayListener("claimed")],
      [RELAY_ACKNOWLEDGED_CHANNEL, relayListener("acknowledged")],
      [CONSUMER_RECEIVED_CHANNEL, consumerListener("received")],
      [CONSUMER_COMMITTED_CHANNEL, consumerListener("committed")],
    ] as const;
    for (const [name, listener] of listeners) subscribe(name, listener);
    t.after(() => {
      for (const [name, listener] of listeners) unsubscribe(name, listener);
    });
    const relay = new OutboxRelay({ db: scene.db, client: scene.client, pollIntervalMs: 50 });
    const consumer = consumerOfScene(scene, {
      lowPriority: true,
      handler: (event, tx) => insertHandled(tx, event),
    });
    try {
      await relay.start();
      await consumer.start();
      const orderId = `order-${process.pid}`;
      await scene.db.transaction((tx) => addToOutbox(tx, scene.topic, { orderId, amount: 5 }));
      await waitFor("the event is handled", async () => (await handledTotal(scene.db)) === 1, 30_000);
      await waitFor("the commit is seen", () => seen.some((entry) => entry.stage === "committed"), 5_000);
      const mine = seen.filter((entry) => entry.key === orderId);
      assert.deepEqual(
        mine.map((entry) => entry.stage).sort(),
        ["acknowledged", "claimed", "committed", "received"],
        "each stage is seen once",
      );
      const at = (stage: string) => mine.find((entry) => entry.stage === stage)?.atMs ?? Number.NaN;
      assert.ok(at("claimed") <= at("acknowledged"), "claimed before the broker acknowledged");
      assert.ok(at("claimed") <= at("received"), "claimed before a consumer received it");
      assert.ok(at("received") <= at("committed"), "received before the consumer's transaction committed");
    } finally {
      await stopAll(scene.consumers);
      await relay.stop();
    }
  },
  { kinds: ["pglite"] },
);
