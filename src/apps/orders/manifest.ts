// The orders system as `sluice up` sees it: the order service (its API, page, outbox relay and the consumer that
// marks orders fulfilled) and the fulfillment service (an idempotent consumer of order.placed with its own outbox),
// each with its own schema, so that `--only orders-api|fulfillment` runs either as its own process.

import type { AppManifest } from "../app.js";

export const ORDERS_SERVICE = "orders";
export const FULFILLMENT_SERVICE = "fulfillment";

export const ordersApp: AppManifest = {
  name: "orders",
  title: "Orders",
  pagePath: "/",
  services: [{ name: ORDERS_SERVICE }, { name: FULFILLMENT_SERVICE }],
  roles: [
    {
      name: "orders-api",
      description: "the order service: its API and page, its outbox relay, and order status updates",
      service: ORDERS_SERVICE,
      http: true,
    },
    {
      name: "fulfillment",
      description: "fulfills placed orders (an idempotent consumer) and publishes order.fulfilled",
      service: FULFILLMENT_SERVICE,
      http: false,
    },
  ],
  load: () => import("./app.js").then((module) => module.ordersImplementation),
};
