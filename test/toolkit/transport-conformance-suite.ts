// One conformance suite for the toolkit's transports, in the manner of Watermill's pub/sub tests: the same cases run
// over Kafka (the embedded broker) and AMQP (the RabbitMQ server on this machine), each against PGlite and the
// PostgreSQL server. Events go the whole way: a transaction adds them to the outbox, the relay publishes them, an
// inbox consumer hands them to a handler that writes a row. Where the transports differ, a capability flag says so
// and the case is skipped with the reason (see TransportCapabilities). RabbitMQ missing skips loudly (fails in CI).
// The cases are in transport-conformance.test.ts (delivery) and transport-conformance-failures.test.ts.

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
import { addToOutbox } from "../../src/toolkit/outbox.js";
import { OutboxRelay } from "../../src/toolkit/outbox-relay.js";
import { defineTopic } from "../../src/toolkit/topic.js";
import type { TransportCapabilities, TransportClient } from "../../src/toolkit/transports/transport.js";

import { brokerForTest } from "../helpers/broker.js";
import { amqpClientForTest, requireRabbitmq } from "../helpers/rabbitmq.js";
import { startTcpProxy } from "../helpers/tcp-proxy.js";
import { storeTest, type StoreTarget } from "../store/harness.js";
import { FAST_GROUP, toolkitClientFor } from "./consumer-support.js";

const CASE_TIMEOUT_MS = 120_000;
export const DRAIN_TIMEOUT_MS = 60_000;
const OVERLAP_LINGER_MS = 200;

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

export async function seenCount(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ total: number }>("SELECT count(*)::int AS total FROM seen");
  return rows[0]?.total ?? 0;
}

/** Adds events to the outbox, a few per transaction; returns their ids in commit order. */
export async function commitEvents(
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

export function itemsFor(count: number, items = 4, from = 0): Array<{ item: string; sequence: number }> {
  return Array.from({ length: count }, (_, index) => ({ item: `item-${index % items}`, sequence: from + index }));
}

export async function assertEachOnce(db: Queryable, ids: readonly string[]): Promise<void> {
  const rows = await seenRows(db);
  const counts = new Map<string, number>();
  for (const row of rows) counts.set(row.event_id, (counts.get(row.event_id) ?? 0) + 1);
  for (const id of ids) assert.equal(counts.get(id), 1, `event ${id} was handled exactly once`);
  assert.equal(rows.length, ids.length, "no other rows");
}

export async function insertSeen(
  tx: Queryable,
  event: { id: string; value: { item: string; sequence: number } },
): Promise<void> {
  await tx.query("INSERT INTO seen (event_id, item, sequence) VALUES ($1, $2, $3)", [
    event.id,
    event.value.item,
    event.value.sequence,
  ]);
}

/**
 * Counts the handlers running at once. Each handler run through `around` lingers until another runs beside it (or
 * OVERLAP_LINGER_MS passes) before its work, so that overlap is seen even on a loaded machine.
 */
export function overlapWatch(): { around(work: () => Promise<void>): Promise<void>; mostAtOnce(): number } {
  let inFlight = 0;
  let mostAtOnce = 0;
  let secondArrived: () => void = () => undefined;
  const overlap = new Promise<void>((resolve) => (secondArrived = resolve));
  return {
    async around(work) {
      inFlight += 1;
      mostAtOnce = Math.max(mostAtOnce, inFlight);
      if (inFlight >= 2) secondArrived();
      try {
        await Promise.race([overlap, new Promise((resolve) => setTimeout(resolve, OVERLAP_LINGER_MS))]);
        await work();
      } finally {
        inFlight -= 1;
      }
    },
    mostAtOnce: () => mostAtOnce,
  };
}

/** Asserts that each item's events were handled in commit order (sequence order), but for `exceptItem`'s. */
export async function assertEachItemInOrder(db: Queryable, exceptItem?: string): Promise<void> {
  const byItem = new Map<string, number[]>();
  for (const row of await seenRows(db)) byItem.set(row.item, [...(byItem.get(row.item) ?? []), row.sequence]);
  for (const [item, sequences] of byItem) {
    if (item === exceptItem) continue;
    assert.deepEqual(
      sequences,
      [...sequences].sort((left, right) => left - right),
      `${item} in order`,
    );
  }
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

export function conformance(
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
                await insertSeen(tx, event);
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
