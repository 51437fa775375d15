// The orders system's roles. The order service (orders-api) serves the API and page, relays its outbox and consumes
// order.fulfilled to update each order's status; the fulfillment service consumes order.placed and relays its own
// outbox. Both need the schema registry: the system's own, or --registry-url.

import type { AppImplementation, RoleContext, RoleParts } from "../app.js";
import { createConsumer, serializerFor, type Database } from "../../toolkit/index.js";
import { createFulfillmentConsumer } from "./fulfillment.js";
import { FULFILLMENT_SERVICE, ORDERS_SERVICE } from "./manifest.js";
import { markFulfilled } from "./orders-sql.js";
import { ordersRoutes } from "./routes.js";
import { ORDER_TOPIC_SPECS, orderTopics } from "./topics.js";

export const ORDER_STATUS_GROUP_ID = "orders-status";
const HEARTBEATS_PER_SESSION = 5;
const HEARTBEAT_INTERVAL_MS_MIN = 100;

function needs(context: RoleContext): { db: Database; registryUrl: string } {
  if (context.database === null) throw new Error(`role ${context.role} needs its service's database`);
  if (context.registryUrl === null) {
    throw new Error(`role ${context.role} needs a schema registry: run the registry role too, or give --registry-url`);
  }
  return { db: context.database, registryUrl: context.registryUrl };
}

function sessionOf(context: RoleContext): { sessionTimeoutMs: number; heartbeatIntervalMs: number } {
  const sessionTimeoutMs = context.settings.workerSessionTimeoutMs;
  return {
    sessionTimeoutMs,
    heartbeatIntervalMs: Math.max(HEARTBEAT_INTERVAL_MS_MIN, Math.floor(sessionTimeoutMs / HEARTBEATS_PER_SESSION)),
  };
}

export const ordersImplementation: AppImplementation = {
  topics: ORDER_TOPIC_SPECS,
  migrations: {
    [ORDERS_SERVICE]: [{ component: "orders", directory: new URL("./migrations/orders/", import.meta.url) }],
    [FULFILLMENT_SERVICE]: [
      { component: "fulfillment", directory: new URL("./migrations/fulfillment/", import.meta.url) },
    ],
  },
  async startRole(role: string, context: RoleContext): Promise<RoleParts> {
    const { db, registryUrl } = needs(context);
    const topics = orderTopics(registryUrl);
    // Registered now, before any transaction: with PGlite the registry shares this process's one database session,
    // which an order's transaction holds while it adds the event to the outbox.
    for (const topic of [topics.orderPlaced, topics.orderFulfilled]) await serializerFor(topic).prepare?.(topic);
    switch (role) {
      case "orders-api": {
        const statusUpdates = createConsumer({
          client: context.kafka,
          db,
          groupId: ORDER_STATUS_GROUP_ID,
          topics: [topics.orderFulfilled],
          name: "orders-status",
          ...sessionOf(context),
          logger: context.logger,
          async handler(event, tx) {
            await markFulfilled(tx, event.value.orderId, event.value.fulfillmentId, event.value.fulfilledAt);
          },
        });
        return { routes: ordersRoutes(db, topics), components: [context.outboxRelay(), statusUpdates] };
      }
      case "fulfillment":
        return {
          components: [
            context.outboxRelay(),
            createFulfillmentConsumer({
              client: context.kafka,
              db,
              topics,
              ...sessionOf(context),
              logger: context.logger,
            }),
          ],
        };
      default:
        throw new Error(`the orders system has no role "${role}"`);
    }
  },
};
