// The order service's HTTP API and page. Placing an order writes it, its lines and its order.placed event (Avro,
// through the schema registry) in one transaction; the relay publishes the event afterwards.

import type { FastifyPluginAsync } from "fastify";

import { notFound, validationFailed } from "../../gateway/errors.js";
import { addToOutbox, newEventId, type Database } from "../../toolkit/index.js";
import { readOrderBody } from "./order.js";
import { insertOrder, selectOrder, selectOrders, totalCentsOf } from "./orders-sql.js";
import { ORDERS_PAGE } from "./page.js";
import type { OrderTopics } from "./topics.js";

export const ORDERS_LISTED_MAX = 50;
const ORDER_ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function ordersRoutes(db: Database, topics: OrderTopics): FastifyPluginAsync {
  return async (app) => {
    app.get("/", async (_request, reply) => reply.type("text/html; charset=utf-8").send(ORDERS_PAGE));

    app.post("/api/orders", async (request, reply) => {
      const input = readOrderBody(request.body);
      const id = newEventId();
      const placedAt = new Date();
      await db.transaction(async (tx) => {
        await insertOrder(tx, id, input, placedAt);
        await addToOutbox(
          tx,
          topics.orderPlaced,
          {
            orderId: id,
            customerId: input.customerId,
            items: input.items,
            totalCents: totalCentsOf(input),
            placedAt: placedAt.toISOString(),
          },
          { eventId: id, time: placedAt },
        );
      });
      return reply.status(202).header("location", `/api/orders/${id}`).send({ id, status: "placed" });
    });

    app.get("/api/orders", async () => ({ orders: await selectOrders(db, ORDERS_LISTED_MAX) }));

    app.get<{ Params: { id: string } }>("/api/orders/:id", async (request) => {
      const { id } = request.params;
      if (!ORDER_ID_PATTERN.test(id)) throw validationFailed("id", "id must be an order id (a UUID)");
      const order = await selectOrder(db, id.toLowerCase());
      if (order === null) throw notFound(`order ${id} does not exist`);
      return order;
    });
  };
}
