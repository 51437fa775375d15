// Shared by the publishing tests: a toolkit client for the embedded broker, reading back what reached a topic,
// reading the toolkit's metrics, and a database that fails on demand.

import { randomUUID } from "node:crypto";

import type { TestContext } from "node:test";

import type { RunningBroker } from "../../src/broker/index.js";
import type { Database } from "../../src/store/index.js";
import { headersToStrings } from "../../src/toolkit/event.js";
import { ensureTopics } from "../../src/toolkit/kafka/admin.js";
import { createKafkaClient, type KafkaClient, type KafkaClientOptions } from "../../src/toolkit/kafka/connection.js";
import { toolkitRegistry } from "../../src/toolkit/metrics.js";
import type { TopicDefinition } from "../../src/toolkit/topic.js";
import { brokerForTest, kafkaFor } from "../helpers/broker.js";
import type { StoreTarget } from "../store/harness.js";

export interface ReadRecord {
  partition: number;
  offset: number;
  key: string | null;
  value: string | null;
  headers: Record<string, string>;
}

/** What a publishing test starts from: an embedded broker with the topics created, a client for it, a database. */
export async function publishingScene(
  t: TestContext,
  target: StoreTarget,
  topics: readonly TopicDefinition<unknown>[],
): Promise<{ broker: RunningBroker; client: KafkaClient; db: Database }> {
  const broker = await brokerForTest(t);
  const client = toolkitClientFor(broker);
  await ensureTopics(client, topics);
  return { broker, client, db: await target.open() };
}

/** A toolkit client that gives up quickly, so that tests of outages stay short. */
export function toolkitClientFor(broker: { address: string }, options: KafkaClientOptions = {}): KafkaClient {
  return createKafkaClient({
    brokers: [broker.address],
    clientId: "sluice-toolkit-test",
    connectionTimeoutMs: 1_000,
    requestTimeoutMs: 3_000,
    retry: { retries: 2, initialRetryTimeMs: 50, maxRetryTimeMs: 200 },
    env: {},
    ...options,
  });
}

/**
 * Reads a topic from the beginning until at least `count` records arrived and nothing more came for `settleMs`,
 * so that unexpected extra records (duplicates) are seen too. Fails after timeoutMs.
 */
export async function readTopic(
  broker: { address: string },
  topic: string,
  count: number,
  options: { timeoutMs?: number; settleMs?: number } = {},
): Promise<ReadRecord[]> {
  const timeoutMs = options.timeoutMs ?? 20_000;
  const settleMs = options.settleMs ?? 300;
  const consumer = kafkaFor(broker).consumer({
    groupId: `reader-${randomUUID()}`,
    maxWaitTimeInMs: 50,
    sessionTimeout: 6_000,
    heartbeatInterval: 500,
  });
  const records: ReadRecord[] = [];
  let lastArrival = Date.now();
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        records.push({
          partition,
          offset: Number(message.offset),
          key: message.key === null ? null : message.key.toString("utf8"),
          value: message.value === null ? null : message.value.toString("utf8"),
          headers: headersToStrings(message.headers),
        });
        lastArrival = Date.now();
      },
    });
    const deadline = Date.now() + timeoutMs;
    while (records.length < count || Date.now() - lastArrival < settleMs) {
      if (Date.now() > deadline) {
        throw new Error(`read ${records.length} of ${count} records from ${topic} within ${timeoutMs} ms`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } finally {
    await consumer.disconnect();
  }
  return records.sort((left, right) => left.partition - right.partition || left.offset - right.offset);
}

/** The value of a metric series whose labels include `labels`; 0 when the series does not exist. */
export async function metricValue(name: string, labels: Record<string, string>): Promise<number> {
  const metric = toolkitRegistry().getSingleMetric(name);
  if (metric === undefined) return 0;
  const { values } = await metric.get();
  const matching = values.filter((entry) =>
    Object.entries(labels).every(([label, value]) => String(entry.labels[label]) === value),
  );
  return matching.reduce((sum, entry) => sum + entry.value, 0);
}

interface Stoppable {
  stop(): Promise<unknown>;
}

/**
 * Runs body, then stops everything it registered, newest first. Store tests close their databases when the test
 * body returns, before t.after hooks run, so relays must be stopped inside the body.
 */
export async function withStoppables(
  body: (track: <T extends Stoppable>(item: T) => T) => Promise<void>,
): Promise<void> {
  const items: Stoppable[] = [];
  try {
    await body((item) => {
      items.push(item);
      return item;
    });
  } finally {
    for (const item of items.reverse()) await item.stop();
  }
}

/**
 * The same database, except that each statement run on it directly (not inside one of its transactions) first
 * passes through beforeQuery, which may delay it or throw to make it fail, as a database under trouble would.
 */
export function databaseWithFault(db: Database, beforeQuery: (sql: string) => Promise<void>): Database {
  return new Proxy(db, {
    get(target, property) {
      if (property === "query") {
        return async (sql: string, params?: readonly unknown[]) => {
          await beforeQuery(sql);
          return target.query(sql, params);
        };
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
