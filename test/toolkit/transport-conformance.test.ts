// One conformance suite for the toolkit's transports, in the manner of Watermill's pub/sub tests: the same cases run
// over Kafka (the embedded broker) and AMQP (the RabbitMQ server on this machine), each against PGlite and the
// PostgreSQL server. Events go the whole way: a transaction adds them to the outbox, the relay publishes them, an
// inbox consumer hands them to a handler that writes a row. Where the transports differ, a capability flag says so
// and the case is skipped with the reason (see TransportCapabilities). RabbitMQ missing skips loudly (fails in CI).

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";

import { Type } from "@sinclair/typebox";

import type { RunningBroker } from "../../src/broker/index.js";
import type { Database, Queryable } from "../../src/store/index.js";
import { createConsumer, type ConsumerOptions, type InboxConsumer } from "../../src/toolkit/consumer.js";
import { DEAD_LETTER_HEADERS } from "../../src/toolkit/dead-letter.js";
import { EVENT_HEADERS } from "../../src/toolkit/event.js";
import { addToOutbox } from "../../src/toolkit/outbox.js";
import { OutboxRelay } from "../../src/toolkit/outbox-relay.js";
import { listDeadLetters, redriveDeadLetters } from "../../src/toolkit/redrive.js";
import { NonRetriableError } from "../../src/toolkit/retry.js";
import { defineTopic } from "../../src/toolkit/topic.js";
import type { TransportCapabilities, TransportClient } from "../../src/toolkit/transports/transport.js";
import { brokerForTest } from "../helpers/broker.js";
import { amqpClientForTest, requireRabbitmq } from "../helpers/rabbitmq.js";
import { startTcpProxy } from "../helpers/tcp-proxy.js";
import { storeTest, waitFor, type StoreTarget } from "../store/harness.js";
import { FAST_GROUP, counterValue, toolkitClientFor } from "./consumer-support.js";

const CASE_TIMEOUT_MS = 120_000;
const DRAIN_TIMEOUT_MS = 60_000;

/** What a case needs of a transport: a client, and a way to take the broker away and bring it back. */
interface TransportScene {
  client: TransportClient;
  capabilities: TransportCapabilities;
  /** Makes the broker unreachable (connections drop, new ones fail); resolves to the function that ends it. */
  outage(): Promise<() => Promise<void>>;
}

interface TransportFixture {
  name: "kafka" | "amqp";
  /** A scene for one test, or null when the transport is missing here (the test was skipped loudly). */
  scene(t: TestContext): Promise<TransportScene | null>;
}

const FIXTURES: TransportFixture[] = [
  {
    name: "kafka",
    async scene(t) {
      const dataDir = mkdtempSync(join(tmpdir(), "sluice-conformance-"));
      const broker = await brokerForTest(t, { dataDir });
      let restarted: RunningBroker | null = null;
      // Added after the broker's own hook, so that it runs after the broker closed (hooks run in order).
      t.after(async () => {
        await restarted?.close();
        rmSync(dataDir, { recursive: true, force: true });
      });
      const client = toolkitClientFor(broker);
      return {
        client,
        capabilities: client.capabilities,
        async outage() {
          const port = broker.port;
          await broker.close();
          return async () => void (restarted = await brokerForTest(t, { port, dataDir }));
        },
      };
    },
  },
  {
    name: "amqp",
    async scene(t) {
      if (!(await requireRabbitmq(t))) return null;
      // Through a proxy the test can cut: RabbitMQ itself is shared with other tests and is never stopped.
      const proxy = await startTcpProxy({ host: "127.0.0.1", port: 5672 });
      const client = amqpClientForTest(t, { url: `amqp://guest:guest@127.0.0.1:${proxy.port}` });
      t.after(() => proxy.close());
      return {
        client,
        capabilities: client.capabilities,
        async outage() {
          proxy.cut();
          return async () => proxy.restore();
        },
      };
    },
  },
];

function conformanceTopic(partitions = 1) {
  return defineTopic({
    name: `conformance-${process.pid}-${randomBytes(4).toString("hex")}`,
    partitions,
    eventType: "ItemCounted",
    schema: Type.Object({ item: Type.String({ minLength: 1 }), sequence: Type.Integer({ minimum: 0 }) }),
    key: (value) => value.item,
  });
}

type ConformanceTopic = ReturnType<typeof conformanceTopic>;

async function createSeenTable(db: Queryable): Promise<void> {
  await db.query("CREATE TABLE seen (id bigserial PRIMARY KEY, event_id text NOT NULL, item text, sequence int)");
}

async function seenRows(db: Queryable): Promise<Array<{ event_id: string; item: string; sequence: number }>> {
  const { rows } = await db.query<{ event_id: string; item: string; sequence: number }>(
    "SELECT event_id, item, sequence FROM seen ORDER BY id",
  );
  return rows;
}

async function seenCount(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ total: number }>("SELECT count(*)::int AS total FROM seen");
  return rows[0]?.total ?? 0;
}

/** Adds events to the outbox, a few per transaction; returns their ids in commit order. */
async function commitEvents(
  db: Database,
  topic: ConformanceTopic,
  values: ReadonlyArray<{ item: string; sequence: number }>,
): Promise<string[]> {
  const ids: string[] = [];
  for (let start = 0; start < values.length; start += 5) {
    await db.transaction(async (tx) => {
      for (const value of values.slice(start, start + 5)) ids.push(await addToOutbox(tx, topic, value));
    });
  }
  return ids;
}

function itemsFor(count: number, items = 4, from = 0): Array<{ item: string; sequence: number }> {
  return Array.from({ length: count }, (_, index) => ({ item: `item-${index % items}`, sequence: from + index }));
}

async function assertEachOnce(db: Queryable, ids: readonly string[]): Promise<void> {
  const rows = await seenRows(db);
  const counts = new Map<string, number>();
  for (const row of rows) counts.set(row.event_id, (counts.get(row.event_id) ?? 0) + 1);
  for (const id of ids) assert.equal(counts.get(id), 1, `event ${id} was handled exactly once`);
  assert.equal(rows.length, ids.length, "no other rows");
}

interface CaseScene extends TransportScene {
  db: Database;
  /** PGlite runs one transaction at a time, so handlers (each in its transaction) never overlap on it. */
  oneTransactionAtATime: boolean;
  topic: ConformanceTopic;
  groupId: string;
  started: Array<{ stop(): Promise<void> }>;
  consumer(
    options?: Partial<Omit<ConsumerOptions<readonly [ConformanceTopic]>, "client" | "db" | "topics">>,
  ): InboxConsumer;
  relay(): Promise<OutboxRelay>;
}

function conformance(
  name: string,
  body: (t: TestContext, scene: CaseScene) => Promise<void>,
  { partitions = 1 }: { partitions?: number } = {},
): void {
  for (const fixture of FIXTURES) {
    storeTest(
      `${fixture.name}: ${name}`,
      async (t, target: StoreTarget) => {
        const transport = await fixture.scene(t);
        if (transport === null) return;
        const db = await target.open();
        await createSeenTable(db);
        const topic = conformanceTopic(partitions);
        const started: Array<{ stop(): Promise<void> }> = [];
        const scene: CaseScene = {
          ...transport,
          db,
          oneTransactionAtATime: target.kind === "pglite",
          topic,
          groupId: `conformance-${randomBytes(4).toString("hex")}`,
          started,
          consumer(options = {}) {
            const consumer = createConsumer({
              ...FAST_GROUP,
              lagRefreshIntervalMs: 60_000,
              client: transport.client,
              db,
              groupId: scene.groupId,
              topics: [topic] as const,
              async handler(event, tx) {
                await tx.query("INSERT INTO seen (event_id, item, sequence) VALUES ($1, $2, $3)", [
                  event.id,
                  event.value.item,
                  event.value.sequence,
                ]);
              },
              ...options,
            });
            started.push(consumer);
            return consumer;
          },
          async relay() {
            const relay = new OutboxRelay({ db, client: transport.client, backoffBaseMs: 20, backoffMaxMs: 500 });
            started.push(relay);
            await relay.start();
            return relay;
          },
        };
        try {
          await body(t, scene);
        } finally {
          for (const component of started.reverse()) await component.stop();
        }
      },
      { timeoutMs: CASE_TIMEOUT_MS },
    );
  }
}

conformance("publish and consume: every committed event reaches the handler exactly once", async (_t, scene) => {
  const consumer = scene.consumer();
  await consumer.start();
  await consumer.whenReady(30_000);
  await scene.relay();
  const ids = await commitEvents(scene.db, scene.topic, itemsFor(60));
  await waitFor("60 events handled", async () => (await seenCount(scene.db)) >= 60, DRAIN_TIMEOUT_MS, 50);
  await assertEachOnce(scene.db, ids);
});

conformance("order: one member gets each key's events in commit order", async (_t, scene) => {
  const consumer = scene.consumer();
  await consumer.start();
  await consumer.whenReady(30_000);
  await scene.relay();
  const values = itemsFor(80, 3);
  const ids = await commitEvents(scene.db, scene.topic, values);
  await waitFor("80 events handled", async () => (await seenCount(scene.db)) >= 80, DRAIN_TIMEOUT_MS, 50);
  await assertEachOnce(scene.db, ids);
  const byItem = new Map<string, number[]>();
  for (const row of await seenRows(scene.db)) byItem.set(row.item, [...(byItem.get(row.item) ?? []), row.sequence]);
  for (const [item, sequences] of byItem) {
    assert.deepEqual(
      sequences,
      [...sequences].sort((left, right) => left - right),
      `${item} in order`,
    );
  }
});

conformance("order across members: a key's events stay in order with two members", async (t, scene) => {
  if (!scene.capabilities.perKeyOrderAcrossMembers) {
    // Competing consumers on one queue take messages as they come: a key's next event may finish first elsewhere.
    t.skip("capability perKeyOrderAcrossMembers is false for this transport (competing consumers on one queue)");
    return;
  }
  const members = [scene.consumer(), scene.consumer()];
  for (const member of members) await member.start();
  for (const member of members) await member.whenReady(30_000);
  await scene.relay();
  const ids = await commitEvents(scene.db, scene.topic, itemsFor(60, 3));
  await waitFor("60 events handled", async () => (await seenCount(scene.db)) >= 60, DRAIN_TIMEOUT_MS, 50);
  await assertEachOnce(scene.db, ids);
  const byItem = new Map<string, number[]>();
  for (const row of await seenRows(scene.db)) byItem.set(row.item, [...(byItem.get(row.item) ?? []), row.sequence]);
  for (const [item, sequences] of byItem) {
    assert.deepEqual(
      sequences,
      [...sequences].sort((left, right) => left - right),
      `${item} in order`,
    );
  }
});

conformance(
  "concurrency: handlers of different keys run at once, each key's events still in commit order",
  async (t, scene) => {
    if (scene.oneTransactionAtATime) {
      t.skip("PGlite runs one transaction at a time, so handlers cannot overlap on it");
      return;
    }
    // Kafka runs partitions side by side, AMQP the lanes its queue's deliveries are split into by key.
    let inFlight = 0;
    let mostAtOnce = 0;
    let secondArrived: () => void = () => undefined;
    const overlap = new Promise<void>((resolve) => (secondArrived = resolve));
    const consumer = scene.consumer({
      concurrency: 4,
      async handler(event, tx) {
        inFlight += 1;
        mostAtOnce = Math.max(mostAtOnce, inFlight);
        if (inFlight >= 2) secondArrived();
        try {
          // Each handler lingers until another runs beside it (or a while passes), so that overlap is seen even on
          // a loaded machine; without concurrency none ever does and the assertion below fails.
          await Promise.race([overlap, new Promise((resolve) => setTimeout(resolve, 200))]);
          await tx.query("INSERT INTO seen (event_id, item, sequence) VALUES ($1, $2, $3)", [
            event.id,
            event.value.item,
            event.value.sequence,
          ]);
        } finally {
          inFlight -= 1;
        }
      },
    });
    await consumer.start();
    await consumer.whenReady(30_000);
    await scene.relay();
    const ids = await commitEvents(scene.db, scene.topic, itemsFor(80, 8));
    await waitFor("80 events handled", async () => (await seenCount(scene.db)) >= 80, DRAIN_TIMEOUT_MS, 50);
    await assertEachOnce(scene.db, ids);
    assert.ok(mostAtOnce >= 2, `handlers ran side by side (at most ${mostAtOnce} at once)`);
    assert.ok(mostAtOnce <= 4, `no more than concurrency handlers at once (${mostAtOnce})`);
    const byItem = new Map<string, number[]>();
    for (const row of await seenRows(scene.db)) byItem.set(row.item, [...(byItem.get(row.item) ?? []), row.sequence]);
    for (const [item, sequences] of byItem) {
      assert.deepEqual(
        sequences,
        [...sequences].sort((left, right) => left - right),
        `${item} in order`,
      );
    }
  },
  { partitions: 4 },
);

conformance(
  "handlersAtOnce: a transaction's handlers of different keys overlap, a key's never; a failed one retries alone",
  async (_t, scene) => {
    let inFlight = 0;
    let mostAtOnce = 0;
    const keysInFlight = new Set<string>();
    let sameKeyOverlaps = 0;
    const calls = new Map<string, number>();
    let secondArrived: () => void = () => undefined;
    const overlap = new Promise<void>((resolve) => (secondArrived = resolve));
    const flakySequence = 13;
    const consumer = scene.consumer({
      handlersAtOnce: 8,
      retry: { attempts: 3, baseDelayMs: 100, maxDelayMs: 200, jitter: 0 },
      async handler(event, tx) {
        const call = (calls.get(event.id) ?? 0) + 1;
        calls.set(event.id, call);
        if (keysInFlight.has(event.value.item)) sameKeyOverlaps += 1;
        keysInFlight.add(event.value.item);
        inFlight += 1;
        mostAtOnce = Math.max(mostAtOnce, inFlight);
        if (inFlight >= 2) secondArrived();
        try {
          // As in the concurrency case: a handler lingers until another runs beside it, or a while passes.
          await Promise.race([overlap, new Promise((resolve) => setTimeout(resolve, 200))]);
          await tx.query("INSERT INTO seen (event_id, item, sequence) VALUES ($1, $2, $3)", [
            event.id,
            event.value.item,
            event.value.sequence,
          ]);
          if (event.value.sequence === flakySequence && call === 1) throw new Error("flaky on its first call");
        } finally {
          inFlight -= 1;
          keysInFlight.delete(event.value.item);
        }
      },
    });
    await consumer.start();
    await consumer.whenReady(30_000);
    await scene.relay();
    const values = itemsFor(60, 6);
    const ids = await commitEvents(scene.db, scene.topic, values);
    await waitFor("60 events handled", async () => (await seenCount(scene.db)) >= 60, DRAIN_TIMEOUT_MS, 50);
    // The flaky event's first insert was rolled back with its transaction, and its retry committed once.
    await assertEachOnce(scene.db, ids);
    assert.ok(mostAtOnce >= 2, `handlers of one transaction ran side by side (at most ${mostAtOnce} at once)`);
    assert.ok(mostAtOnce <= 8, `no more than handlersAtOnce handlers at once (${mostAtOnce})`);
    assert.equal(sameKeyOverlaps, 0, "a key's handlers never overlapped");
    const labels = { group: scene.groupId, topic: scene.topic.name };
    assert.equal(await counterValue("sluice_events_retried_total", labels), 1, "only the flaky event was retried");
    assert.equal(await counterValue("sluice_events_consumed_total", labels), 60);
    // A key's events keep their order, except the flaky event's key, whose retry came after the events behind it.
    const flakyItem = values.find((value) => value.sequence === flakySequence)?.item;
    const byItem = new Map<string, number[]>();
    for (const row of await seenRows(scene.db)) byItem.set(row.item, [...(byItem.get(row.item) ?? []), row.sequence]);
    for (const [item, sequences] of byItem) {
      if (item === flakyItem) continue;
      assert.deepEqual(
        sequences,
        [...sequences].sort((left, right) => left - right),
        `${item} in order`,
      );
    }
  },
);

conformance(
  "redelivery after a crash: work committed but not acknowledged is skipped by the inbox",
  async (_t, scene) => {
    let arrivals = 0;
    const crashing = scene.consumer({
      hooks: {
        at(context) {
          // The process dies after the database commit of the 10th event, before its offset or ack went out.
          if (context.point === "after-commit" && ++arrivals === 10) throw new Error("crash after commit");
        },
      },
    });
    await crashing.start();
    await crashing.whenReady(30_000);
    await scene.relay();
    const ids = await commitEvents(scene.db, scene.topic, itemsFor(40));
    await crashing.whenStopped();
    assert.equal(crashing.state, "crashed");
    const labels = { group: scene.groupId, topic: scene.topic.name };
    const skippedBefore = await counterValue("sluice_events_skipped_total", labels);
    const replacement = scene.consumer();
    await replacement.start();
    await waitFor("all 40 events handled", async () => (await seenCount(scene.db)) >= 40, DRAIN_TIMEOUT_MS, 50);
    await waitFor(
      "the redelivered event skipped",
      async () => (await counterValue("sluice_events_skipped_total", labels)) > skippedBefore,
      DRAIN_TIMEOUT_MS,
      50,
    );
    await assertEachOnce(scene.db, ids);
  },
);

conformance("retries: a failing handler runs again after a backoff, then succeeds once", async (_t, scene) => {
  const calls = new Map<string, number>();
  const consumer = scene.consumer({
    retry: { attempts: 4, baseDelayMs: 200, maxDelayMs: 400, jitter: 0 },
    async handler(event, tx) {
      const call = (calls.get(event.id) ?? 0) + 1;
      calls.set(event.id, call);
      if (event.value.sequence % 3 === 0 && call < 3) throw new Error(`flaky on call ${call}`);
      await tx.query("INSERT INTO seen (event_id, item, sequence) VALUES ($1, $2, $3)", [
        event.id,
        event.value.item,
        event.value.sequence,
      ]);
    },
  });
  await consumer.start();
  await consumer.whenReady(30_000);
  await scene.relay();
  const values = itemsFor(12);
  const ids = await commitEvents(scene.db, scene.topic, values);
  await waitFor("12 events handled", async () => (await seenCount(scene.db)) >= 12, DRAIN_TIMEOUT_MS, 50);
  await assertEachOnce(scene.db, ids);
  // Each flaky event failed twice and went through the retry tiers twice. (Handler calls are not counted exactly:
  // when one handler of a transaction fails, the others' work is rolled back and they run again, as documented.)
  const flaky = ids.filter((_id, index) => values[index]!.sequence % 3 === 0);
  for (const id of flaky) assert.ok((calls.get(id) ?? 0) >= 3, `event ${id} ran on its third attempt`);
  const labels = { group: scene.groupId, topic: scene.topic.name };
  assert.equal(await counterValue("sluice_events_retried_total", labels), flaky.length * 2);
});

conformance(
  "dead letters: an event that keeps failing is parked with the standard headers, then redriven",
  async (_t, scene) => {
    let healed = false;
    const consumer = scene.consumer({
      retry: { attempts: 2, baseDelayMs: 100, maxDelayMs: 100, jitter: 0 },
      async handler(event, tx) {
        if (event.value.item === "poison" && !healed) throw new Error("cannot handle poison");
        if (event.value.item === "broken") throw new NonRetriableError("broken for good");
        await tx.query("INSERT INTO seen (event_id, item, sequence) VALUES ($1, $2, $3)", [
          event.id,
          event.value.item,
          event.value.sequence,
        ]);
      },
    });
    await consumer.start();
    await consumer.whenReady(30_000);
    await scene.relay();
    const [poisonId, fineId, brokenId] = await commitEvents(scene.db, scene.topic, [
      { item: "poison", sequence: 0 },
      { item: "fine", sequence: 1 },
      { item: "broken", sequence: 2 },
    ]);
    await waitFor("the fine event", async () => (await seenCount(scene.db)) >= 1, DRAIN_TIMEOUT_MS, 50);
    let letters: Awaited<ReturnType<typeof listDeadLetters>> = [];
    await waitFor(
      "two dead letters",
      async () => (letters = await listDeadLetters(scene.client, scene.topic)).length >= 2,
      DRAIN_TIMEOUT_MS,
      200,
    );
    const poison = letters.find((letter) => letter.eventId === poisonId);
    const broken = letters.find((letter) => letter.eventId === brokenId);
    assert.ok(poison !== undefined && broken !== undefined, "both events are dead letters");
    assert.equal(poison.attempts, 2);
    assert.equal(poison.consumerGroup, scene.groupId);
    assert.equal(poison.originalTopic, scene.topic.name);
    assert.match(poison.error, /cannot handle poison/);
    assert.equal(broken.attempts, 1);
    assert.equal(broken.errorCode, "SLUICE_HANDLER_NON_RETRIABLE");
    assert.equal(poison.headers[EVENT_HEADERS.id], poisonId);
    assert.equal(
      Object.keys(poison.headers).some((name) => name.startsWith("sluice-dlt-")),
      false,
    );
    assert.ok(DEAD_LETTER_HEADERS.error.startsWith("sluice-dlt-"));
    // Listing twice shows the same letters: listing reads, it does not take.
    assert.equal((await listDeadLetters(scene.client, scene.topic)).length, 2);

    healed = true;
    const report = await redriveDeadLetters(scene.client, scene.topic, { eventIds: [poisonId!] });
    assert.deepEqual(
      report.deadLetters.map((letter) => letter.eventId),
      [poisonId],
    );
    await waitFor("the redriven event handled", async () => (await seenCount(scene.db)) >= 2, DRAIN_TIMEOUT_MS, 50);
    await assertEachOnce(scene.db, [poisonId!, fineId!]);
  },
);

conformance(
  "broker outage while accepting: events committed meanwhile are delivered after it, once",
  async (_t, scene) => {
    const consumer = scene.consumer();
    await consumer.start();
    await consumer.whenReady(30_000);
    const relay = await scene.relay();
    const first = await commitEvents(scene.db, scene.topic, itemsFor(20));
    await waitFor("the first 20", async () => (await seenCount(scene.db)) >= 20, DRAIN_TIMEOUT_MS, 50);
    const restore = await scene.outage();
    // The service keeps accepting: its writes go to the outbox, which needs only the database.
    const second = await commitEvents(scene.db, scene.topic, itemsFor(20, 4, 20));
    await waitFor("a failed relay round", () => relay.status().consecutiveFailures >= 1, DRAIN_TIMEOUT_MS, 20);
    await restore();
    await waitFor("all 40", async () => (await seenCount(scene.db)) >= 40, DRAIN_TIMEOUT_MS, 100);
    await assertEachOnce(scene.db, [...first, ...second]);
  },
);

conformance(
  "graceful shutdown: a stopping member finishes and acknowledges; the next one does the rest",
  async (_t, scene) => {
    const slowHandler = async (
      event: { id: string; value: { item: string; sequence: number } },
      tx: Queryable,
    ): Promise<void> => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      await tx.query("INSERT INTO seen (event_id, item, sequence) VALUES ($1, $2, $3)", [
        event.id,
        event.value.item,
        event.value.sequence,
      ]);
    };
    const first = scene.consumer({ handler: slowHandler });
    await first.start();
    await first.whenReady(30_000);
    await scene.relay();
    // Events keep coming while the first member stops: it finishes what it holds, the rest wait for the next one.
    const ids: string[] = [];
    for (let round = 0; round < 10; round++) {
      ids.push(...(await commitEvents(scene.db, scene.topic, itemsFor(10, 4, round * 10))));
      if (round === 3) {
        await waitFor("some events handled", async () => (await seenCount(scene.db)) >= 10, DRAIN_TIMEOUT_MS, 10);
        await first.stop();
        assert.equal(first.state, "stopped");
      }
    }
    const handledByFirst = await seenCount(scene.db);
    assert.ok(handledByFirst < 100, "the second member has work left");
    const second = scene.consumer({ handler: slowHandler });
    await second.start();
    await waitFor("all 100", async () => (await seenCount(scene.db)) >= 100, DRAIN_TIMEOUT_MS, 50);
    await assertEachOnce(scene.db, ids);
  },
);
