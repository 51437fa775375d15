// Shared set-up for the inbox consumer's tests: a toolkit Kafka client for the embedded broker, a business table the
// handlers write to, quick group timings, and readers for the consumer metrics.

import assert from "node:assert/strict";
import type { TestContext } from "node:test";

import { Type } from "@sinclair/typebox";

import type { RunningBroker } from "../../src/broker/index.js";
import type { Database, Queryable } from "../../src/store/index.js";
import { createConsumer, type ConsumerOptions, type InboxConsumer } from "../../src/toolkit/consumer.js";
import { ensureTopics } from "../../src/toolkit/kafka/admin.js";
import { createKafkaClient, type KafkaClient } from "../../src/toolkit/kafka/connection.js";
import { toolkitRegistry } from "../../src/toolkit/metrics.js";
import { createPublisher, type Publisher } from "../../src/toolkit/publisher.js";
import { defineTopic, type TopicDefinition } from "../../src/toolkit/topic.js";
import { brokerForTest } from "../helpers/broker.js";
import type { StoreTarget } from "../store/harness.js";

/** Group timings that make joins and rebalances take a fraction of a second against the embedded broker. */
export const FAST_GROUP = {
  sessionTimeoutMs: 3_000,
  heartbeatIntervalMs: 200,
  rebalanceTimeoutMs: 3_000,
  fetchWaitMs: 50,
} as const;

export function toolkitClientFor(broker: RunningBroker): KafkaClient {
  return createKafkaClient({
    brokers: [broker.address],
    clientId: "sluice-toolkit-test",
    // KAFKA_CLIENT=kafkajs runs the consumer tests on kafkajs; by default they run on Sluice's client.
    env: { KAFKA_CLIENT: process.env.KAFKA_CLIENT },
    retry: { retries: 5, initialRetryTimeMs: 50, maxRetryTimeMs: 500 },
  });
}

let topicCounter = 0;

/** A topic of orders with a unique name, so that tests sharing a broker never meet. */
export function orderTopic(partitions = 1) {
  topicCounter += 1;
  return defineTopic({
    name: `orders-${process.pid}-${topicCounter}`,
    partitions,
    eventType: "OrderPlaced",
    schema: Type.Object({ orderId: Type.String({ minLength: 1 }), amount: Type.Integer({ minimum: 0 }) }),
    key: (order) => order.orderId,
  });
}

export type OrderTopic = ReturnType<typeof orderTopic>;

/** Creates the topic ahead of a consumer, for tests that publish before any consumer has started. */
export async function createTopic(client: KafkaClient, topic: TopicDefinition<unknown>): Promise<void> {
  await ensureTopics(client, [{ name: topic.name, partitions: topic.partitions }]);
}

let groupCounter = 0;

export function uniqueGroup(prefix = "group"): string {
  groupCounter += 1;
  return `${prefix}-${process.pid}-${groupCounter}`;
}

/** The table handlers write to: no unique constraint, so a duplicate would show as a second row. */
export async function createBusinessTable(db: Queryable): Promise<void> {
  await db.query(
    "CREATE TABLE handled (event_id text NOT NULL, order_id text NOT NULL, partition integer, handled_at timestamptz DEFAULT clock_timestamp())",
  );
}

export async function insertHandled(
  tx: Queryable,
  event: { id: string; partition: number; value: { orderId: string } },
): Promise<void> {
  await tx.query("INSERT INTO handled (event_id, order_id, partition) VALUES ($1, $2, $3)", [
    event.id,
    event.value.orderId,
    event.partition,
  ]);
}

/** Rows per event id in the business table. */
export async function handledCounts(db: Queryable): Promise<Map<string, number>> {
  const { rows } = await db.query<{ event_id: string; rows: number }>(
    "SELECT event_id, count(*)::int AS rows FROM handled GROUP BY event_id",
  );
  return new Map(rows.map((row) => [row.event_id, row.rows]));
}

export async function handledTotal(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ total: number }>("SELECT count(*)::int AS total FROM handled");
  return rows[0]?.total ?? 0;
}

/** A publisher closed when the test ends. */
export function publisherFor(t: TestContext, client: KafkaClient): Publisher {
  const publisher = createPublisher(client);
  t.after(() => publisher.close());
  return publisher;
}

/**
 * Creates a consumer with the fast group timings and stops it when the test body ends (the caller's finally), so
 * that it leaves before the broker closes.
 */
export function consumerFor<D extends readonly TopicDefinition<unknown>[]>(
  started: InboxConsumer[],
  options: ConsumerOptions<D>,
): InboxConsumer {
  const consumer = createConsumer({ ...FAST_GROUP, lagRefreshIntervalMs: 60_000, ...options });
  started.push(consumer);
  return consumer;
}

export async function stopAll(consumers: readonly InboxConsumer[]): Promise<void> {
  await Promise.all(consumers.map((consumer) => consumer.stop()));
}

/** The value of a consumer counter for a group (and topic), summed over its other labels. */
export async function counterValue(name: string, labels: Record<string, string>): Promise<number> {
  const metric = toolkitRegistry().getSingleMetric(name);
  if (metric === undefined) return 0;
  const { values } = await metric.get();
  return values
    .filter((entry) => Object.entries(labels).every(([label, value]) => entry.labels[label] === value))
    .reduce((sum, entry) => sum + entry.value, 0);
}

export interface ConsumerScene {
  broker: RunningBroker;
  client: KafkaClient;
  db: Database;
  topic: OrderTopic;
  groupId: string;
  /** Consumers started through consumerFor; stop them with stopAll in the test's finally. */
  consumers: InboxConsumer[];
}

/** A broker, a client, a database with the business table, a fresh order topic and a fresh group id. */
export async function consumerScene(
  t: TestContext,
  target: StoreTarget,
  groupPrefix: string,
  partitions = 1,
): Promise<ConsumerScene> {
  const broker = await brokerForTest(t);
  const client = toolkitClientFor(broker);
  const db = await target.open();
  await createBusinessTable(db);
  return { broker, client, db, topic: orderTopic(partitions), groupId: uniqueGroup(groupPrefix), consumers: [] };
}

/** A consumer of the scene's topic in the scene's group, started through consumerFor. */
export function consumerOfScene(
  scene: ConsumerScene,
  options: Omit<ConsumerOptions<readonly [OrderTopic]>, "client" | "db" | "groupId" | "topics">,
): InboxConsumer {
  return consumerFor(scene.consumers, {
    client: scene.client,
    db: scene.db,
    groupId: scene.groupId,
    topics: [scene.topic] as const,
    ...options,
  });
}

/** How often a handler was called for each order. */
export class CallCounter {
  readonly #calls = new Map<string, number>();

  /** Counts one more call for orderId and returns which call this is (1 for the first). */
  count(orderId: string): number {
    const call = (this.#calls.get(orderId) ?? 0) + 1;
    this.#calls.set(orderId, call);
    return call;
  }

  get(orderId: string): number | undefined {
    return this.#calls.get(orderId);
  }
}

/** Each published event has exactly one row in the business table; labels name them in the failure message. */
export async function assertEachHandledOnce(
  db: Queryable,
  eventIds: readonly string[],
  labels: readonly string[],
): Promise<void> {
  const counts = await handledCounts(db);
  for (const [index, eventId] of eventIds.entries()) {
    assert.equal(counts.get(eventId), 1, `${labels[index] ?? eventId} has exactly one row`);
  }
}
