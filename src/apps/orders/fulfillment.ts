// The fulfillment service: an idempotent consumer of order.placed. It checks the order's items against the SKUs it
// can ship (an unknown SKU or a quantity of 0 is a dead letter at once, redrivable once fixed), records the
// fulfillment and publishes order.fulfilled through its own outbox, all in the consumer's transaction.

import {
  addToOutbox,
  createConsumer,
  newEventId,
  NonRetriableError,
  type DatabaseSession,
  type InboxConsumer,
  type KafkaClient,
  type ToolkitLogger,
} from "../../toolkit/index.js";
import type { OrderTopics } from "./topics.js";

export const FULFILLMENT_GROUP_ID = "orders-fulfillment";
/** What the warehouse stocks. */
export const KNOWN_SKUS: ReadonlySet<string> = new Set(["book", "mug", "poster", "shirt", "sticker"]);

export interface FulfillmentOptions {
  client: KafkaClient;
  db: DatabaseSession;
  topics: OrderTopics;
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  logger?: ToolkitLogger;
}

export function createFulfillmentConsumer(options: FulfillmentOptions): InboxConsumer {
  const { topics } = options;
  return createConsumer({
    client: options.client,
    db: options.db,
    groupId: FULFILLMENT_GROUP_ID,
    topics: [topics.orderPlaced],
    name: "fulfillment",
    sessionTimeoutMs: options.sessionTimeoutMs,
    heartbeatIntervalMs: options.heartbeatIntervalMs,
    logger: options.logger,
    async handler(event, tx) {
      const order = event.value;
      for (const [index, item] of order.items.entries()) {
        if (!KNOWN_SKUS.has(item.sku)) throw new NonRetriableError(`items[${index}]: sku "${item.sku}" is not stocked`);
        if (item.quantity < 1) throw new NonRetriableError(`items[${index}]: quantity must be at least 1`);
      }
      const fulfillmentId = newEventId();
      const { rows } = await tx.query<{ fulfilled_at: Date }>(
        `INSERT INTO fulfillments (id, order_id, customer_id, item_count) VALUES ($1, $2, $3, $4)
         ON CONFLICT (order_id) DO NOTHING RETURNING fulfilled_at`,
        [fulfillmentId, order.orderId, order.customerId, order.items.length],
      );
      const row = rows[0];
      // Nothing inserted: an earlier delivery fulfilled the order and announced it.
      if (row === undefined) return;
      await addToOutbox(tx, topics.orderFulfilled, {
        orderId: order.orderId,
        fulfillmentId,
        fulfilledAt: row.fulfilled_at.toISOString(),
      });
    },
  });
}
