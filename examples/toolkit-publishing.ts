// The example of docs/toolkit-publishing.md: an order service that declares a topic, publishes through the
// transactional outbox, and runs the outbox relay. Run it with a broker at KAFKA_BROKERS (default 127.0.0.1:9092):
//   npx tsx examples/toolkit-publishing.ts
// It uses PGlite in memory unless DATABASE_URL names a PostgreSQL server.

import { pathToFileURL } from "node:url";

import { Type } from "@sinclair/typebox";

import { openDatabase, type Database } from "../src/store/index.js";
import {
  addToOutbox,
  createKafkaClient,
  createPublisher,
  createService,
  defineComponent,
  defineTopic,
  ensureTopics,
  OutboxRelay,
  type EventOf,
  type KafkaClient,
  type Service,
} from "../src/toolkit/index.js";

// 1. Declare the topic once: its name, partitions, key and the schema of its events.
export const orderPlaced = defineTopic({
  name: "orders.placed",
  partitions: 3,
  eventType: "OrderPlaced",
  schema: Type.Object({
    orderId: Type.String({ minLength: 1 }),
    customerId: Type.String({ minLength: 1 }),
    totalCents: Type.Integer({ minimum: 0 }),
  }),
  // Events with the same key go to the same partition, in the order they were added.
  key: (order) => order.customerId,
});

// The event type follows from the declaration: { orderId: string; customerId: string; totalCents: number }.
export type OrderPlaced = EventOf<typeof orderPlaced>;

// 2. Publish through the outbox: the event is added in the same transaction as the business write, so it exists
//    exactly when the order does.
export async function placeOrder(db: Database, order: OrderPlaced): Promise<string> {
  return db.transaction(async (tx) => {
    await tx.query("INSERT INTO orders (id, customer_id, total_cents) VALUES ($1, $2, $3)", [
      order.orderId,
      order.customerId,
      order.totalCents,
    ]);
    return addToOutbox(tx, orderPlaced, order);
  });
}

// 3. Run the relay in a service: it publishes committed events, and SIGTERM stops it after its current batch.
export interface OrderService {
  service: Service;
  db: Database;
  relay: OutboxRelay;
}

export interface OrderServiceOptions {
  /** A PostgreSQL server; PGlite in memory when absent. */
  databaseUrl?: string;
  schema?: string;
  /** Connection settings default to KAFKA_BROKERS and the other KAFKA_* variables. */
  client?: KafkaClient;
}

export async function startOrderService(options: OrderServiceOptions = {}): Promise<OrderService> {
  const client = options.client ?? createKafkaClient({ clientId: "order-service" });
  await ensureTopics(client, [orderPlaced]);
  const db = await openDatabase({ url: options.databaseUrl ?? null, schema: options.schema });
  await db.exec(
    "CREATE TABLE IF NOT EXISTS orders (id text PRIMARY KEY, customer_id text NOT NULL, total_cents integer NOT NULL)",
  );
  const relay = new OutboxRelay({ db, client });
  const service = createService({
    name: "order-service",
    // Started in this order and stopped in reverse: the relay stops before the database closes.
    components: [defineComponent({ name: "database", stop: () => db.close() }), relay],
  });
  await service.start();
  return { service, db, relay };
}

// Publishing without the outbox, for events that do not describe a database write.
export async function publishDirectly(client: KafkaClient, order: OrderPlaced): Promise<string> {
  const publisher = createPublisher(client);
  try {
    const published = await publisher.publish(orderPlaced, order);
    return published.id;
  } finally {
    await publisher.close();
  }
}

/** How long the scripts wait for something to happen before they give up and say what they were waiting for. */
export const EXAMPLE_WAIT_MS = 60_000;

/** Polls check until it holds; fails with a message naming what did not happen, instead of waiting for ever. */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = EXAMPLE_WAIT_MS,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`gave up after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Order ids of their own for each run, so that the script runs any number of times against one database. */
export function orderIdsOfThisRun(count: number): string[] {
  const run = `${Date.now().toString(36)}${Math.floor(Math.random() * 1296).toString(36)}`;
  return Array.from({ length: count }, (_, index) => `order-${run}-${index + 1}`);
}

// Run as a script: place a few orders, wait until the relay has published them, and stop. With DATABASE_URL the
// orders table lives in a schema of its own, "orders".
async function main(): Promise<void> {
  const { service, db, relay } = await startOrderService({ databaseUrl: process.env.DATABASE_URL, schema: "orders" });
  try {
    const orderIds = orderIdsOfThisRun(3);
    for (const [index, customerId] of ["ada", "grace", "ada"].entries()) {
      const orderId = orderIds[index]!;
      const eventId = await placeOrder(db, { orderId, customerId, totalCents: 1250 * (index + 1) });
      console.log(`${orderId} placed, event ${eventId}`);
    }
    await waitUntil("the relay to publish the orders", async () => (await relay.refreshLag()).waiting === 0);
    console.log(`published: ${relay.status().published}`);
  } finally {
    await service.stop();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
