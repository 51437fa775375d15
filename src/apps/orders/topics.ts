// The orders system's topics, Avro through the schema registry. Their schemas are the .avsc files in schemas/, and
// their event types are generated from them (schema-types.ts, by `sluice schemas types`).

import { defineAvroTopic, type TopicDefinition } from "../../toolkit/index.js";
import type { OrderFulfilled, OrderPlaced } from "./schema-types.js";

export const ORDER_PLACED_TOPIC = "order.placed";
export const ORDER_FULFILLED_TOPIC = "order.fulfilled";
/** order.placed is keyed by customer over 3 partitions, as the system it replaces had it. */
export const ORDER_PLACED_PARTITIONS = 3;

export const ORDER_TOPIC_SPECS = [
  { name: ORDER_PLACED_TOPIC, partitions: ORDER_PLACED_PARTITIONS },
  { name: ORDER_FULFILLED_TOPIC, partitions: 1 },
];

export const SCHEMAS_DIR = new URL("./schemas/", import.meta.url);

export interface OrderTopics {
  orderPlaced: TopicDefinition<OrderPlaced>;
  orderFulfilled: TopicDefinition<OrderFulfilled>;
}

/** The topics, their serializers talking to the registry at registryUrl. */
export function orderTopics(registryUrl: string): OrderTopics {
  return {
    orderPlaced: defineAvroTopic<OrderPlaced>({
      name: ORDER_PLACED_TOPIC,
      partitions: ORDER_PLACED_PARTITIONS,
      schema: new URL("order.placed.avsc", SCHEMAS_DIR),
      key: (order) => order.customerId,
      registry: { url: registryUrl },
    }),
    orderFulfilled: defineAvroTopic<OrderFulfilled>({
      name: ORDER_FULFILLED_TOPIC,
      schema: new URL("order.fulfilled.avsc", SCHEMAS_DIR),
      key: (fulfilled) => fulfilled.orderId,
      registry: { url: registryUrl },
    }),
  };
}
