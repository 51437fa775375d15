// The example of docs/toolkit-consuming.md: a shipping service that consumes the orders of
// examples/toolkit-publishing.ts with an idempotent (inbox) consumer, parks the orders it cannot ship in the
// dead-letter topic, and redrives them once they are approved. Run it with a broker at KAFKA_BROKERS (default
// 127.0.0.1:9092):
//   npx tsx examples/toolkit-consuming.ts
// It uses PGlite in memory unless DATABASE_URL names a PostgreSQL server.

import { pathToFileURL } from "node:url";

import { openDatabase, type Database } from "../src/store/index.js";
import {
  createConsumer,
  createKafkaClient,
  createService,
  defineComponent,
  listDeadLetters,
  NonRetriableError,
  redriveDeadLetters,
  type DeadLetter,
  type InboxConsumer,
  type KafkaClient,
  type RetryOptions,
  type Service,
} from "../src/toolkit/index.js";
import { orderIdsOfThisRun, orderPlaced, placeOrder, startOrderService, waitUntil } from "./toolkit-publishing.js";

/** Orders above this need an approval before they ship. */
export const APPROVAL_LIMIT_CENTS = 100_000;

// 1. An idempotent consumer: the handler writes through tx, the transaction that also records the event in the
//    inbox, so its writes and "this event was processed" commit together.
export function createShippingConsumer(
  db: Database,
  client: KafkaClient,
  retry: RetryOptions = { attempts: 5, baseDelayMs: 1_000, maxDelayMs: 60_000 },
): InboxConsumer {
  return createConsumer({
    client,
    db,
    groupId: "shipping",
    topics: [orderPlaced],
    retry,
    handler: async (event, tx) => {
      const { orderId, customerId, totalCents } = event.value;
      if (totalCents > APPROVAL_LIMIT_CENTS) {
        const approved = await tx.query("SELECT 1 FROM approvals WHERE order_id = $1", [orderId]);
        // Retrying cannot help until someone approves the order: straight to the dead-letter topic.
        if (approved.rowCount === 0) throw new NonRetriableError(`order ${orderId} needs an approval`);
      }
      await tx.query("INSERT INTO shipments (order_id, customer_id) VALUES ($1, $2)", [orderId, customerId]);
    },
  });
}

// 2. Run it in a service: stop() (or SIGTERM) finishes the event in progress, commits it and leaves the group.
export interface ShippingService {
  service: Service;
  db: Database;
  consumer: InboxConsumer;
}

export interface ShippingServiceOptions {
  /** A PostgreSQL server; PGlite in memory when absent. */
  databaseUrl?: string;
  schema?: string;
  /** Connection settings default to KAFKA_BROKERS and the other KAFKA_* variables. */
  client?: KafkaClient;
  retry?: RetryOptions;
}

export async function startShippingService(options: ShippingServiceOptions = {}): Promise<ShippingService> {
  const client = options.client ?? createKafkaClient({ clientId: "shipping-service" });
  const db = await openDatabase({ url: options.databaseUrl ?? null, schema: options.schema });
  await db.exec(`
    CREATE TABLE IF NOT EXISTS shipments (order_id text PRIMARY KEY, customer_id text NOT NULL);
    CREATE TABLE IF NOT EXISTS approvals (order_id text PRIMARY KEY);
  `);
  const consumer = createShippingConsumer(db, client, options.retry);
  const service = createService({
    name: "shipping-service",
    // Started in this order and stopped in reverse: the consumer stops before the database closes.
    components: [defineComponent({ name: "database", stop: () => db.close() }), consumer],
  });
  await service.start();
  return { service, db, consumer };
}

// 3. See dead letters and redrive them: approve the order, then send its dead letter back to orders.placed.
export async function approveAndRedrive(db: Database, client: KafkaClient, orderId: string): Promise<number> {
  await db.query("INSERT INTO approvals (order_id) VALUES ($1) ON CONFLICT DO NOTHING", [orderId]);
  const deadLetters: DeadLetter[] = await listDeadLetters(client, orderPlaced);
  const eventIds = deadLetters
    .filter((letter) => JSON.parse(letter.value?.toString("utf8") ?? "null")?.orderId === orderId)
    .map((letter) => letter.eventId);
  if (eventIds.length === 0) return 0;
  const report = await redriveDeadLetters(client, orderPlaced, { eventIds });
  return report.deadLetters.length;
}

async function shippedOf(db: Database, orderIds: readonly string[]): Promise<number> {
  const { rows } = await db.query<{ shipments: number }>(
    "SELECT count(*)::int AS shipments FROM shipments WHERE order_id = ANY($1::text[])",
    [orderIds],
  );
  return rows[0]?.shipments ?? 0;
}

/** The dead letters of one order: the topic keeps those of earlier runs too. */
async function deadLettersOf(client: KafkaClient, orderId: string): Promise<DeadLetter[]> {
  const deadLetters = await listDeadLetters(client, orderPlaced);
  return deadLetters.filter((letter) => JSON.parse(letter.value?.toString("utf8") ?? "null")?.orderId === orderId);
}

// Run as a script: the order service places three orders (one too large to ship unapproved), the shipping service
// ships two and dead-letters the third; approving it and redriving ships it too. Each run has orders of its own, so
// it can run any number of times, in any order with the publishing example, against one broker and one database
// (with DATABASE_URL, in the schemas "orders" and "shipping").
async function main(): Promise<void> {
  const client = createKafkaClient({ clientId: "shipping-example" });
  const orders = await startOrderService({ databaseUrl: process.env.DATABASE_URL, schema: "orders", client });
  const shipping = await startShippingService({ databaseUrl: process.env.DATABASE_URL, schema: "shipping", client });
  try {
    const [small, large, other] = orderIdsOfThisRun(3) as [string, string, string];
    await placeOrder(orders.db, { orderId: small, customerId: "ada", totalCents: 1_250 });
    await placeOrder(orders.db, { orderId: large, customerId: "grace", totalCents: 250_000 });
    await placeOrder(orders.db, { orderId: other, customerId: "ada", totalCents: 3_750 });
    await waitUntil("two orders shipped", async () => (await shippedOf(shipping.db, [small, other])) === 2);
    await waitUntil(`the dead letter of ${large}`, async () => (await deadLettersOf(client, large)).length === 1);
    const [parked] = await deadLettersOf(client, large);
    console.log(`shipped 2 orders; dead letter: ${parked?.eventId} (${parked?.error})`);
    console.log(`redriven: ${await approveAndRedrive(shipping.db, client, large)}`);
    await waitUntil(`${large} shipped`, async () => (await shippedOf(shipping.db, [small, large, other])) === 3);
    console.log("shipped 3 orders");
  } finally {
    await shipping.service.stop();
    await orders.service.stop();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
