// The order service's SQL: placing an order with its lines, marking it fulfilled, and reading orders.

import type { Queryable } from "../../toolkit/index.js";
import type { OrderInput } from "./order.js";

export interface StoredOrder {
  id: string;
  customerId: string;
  status: "placed" | "fulfilled";
  totalCents: number;
  placedAt: string;
  fulfillmentId: string | null;
  fulfilledAt: string | null;
  items: { sku: string; quantity: number; priceCents: number }[];
}

interface OrderRow {
  id: string;
  customer_id: string;
  status: "placed" | "fulfilled";
  total_cents: string | number;
  placed_at: Date;
  fulfillment_id: string | null;
  fulfilled_at: Date | null;
  items: { sku: string; quantity: number; priceCents: number }[] | string | null;
}

const SELECT_ORDERS = `SELECT o.id, o.customer_id, o.status, o.total_cents, o.placed_at, o.fulfillment_id, o.fulfilled_at,
  (SELECT json_agg(json_build_object('sku', l.sku, 'quantity', l.quantity, 'priceCents', l.price_cents) ORDER BY l.line)
     FROM order_lines l WHERE l.order_id = o.id) AS items
  FROM orders o`;

function toOrder(row: OrderRow): StoredOrder {
  const items = typeof row.items === "string" ? JSON.parse(row.items) : (row.items ?? []);
  return {
    id: row.id,
    customerId: row.customer_id,
    status: row.status,
    totalCents: Number(row.total_cents),
    placedAt: row.placed_at.toISOString(),
    fulfillmentId: row.fulfillment_id,
    fulfilledAt: row.fulfilled_at === null ? null : row.fulfilled_at.toISOString(),
    items: (items as StoredOrder["items"]).map((item) => ({ ...item, priceCents: Number(item.priceCents) })),
  };
}

export function totalCentsOf(input: OrderInput): number {
  return input.items.reduce((sum, item) => sum + item.quantity * item.priceCents, 0);
}

export async function insertOrder(tx: Queryable, id: string, input: OrderInput, placedAt: Date): Promise<void> {
  await tx.query("INSERT INTO orders (id, customer_id, total_cents, placed_at) VALUES ($1, $2, $3, $4)", [
    id,
    input.customerId,
    totalCentsOf(input),
    placedAt,
  ]);
  for (const [line, item] of input.items.entries()) {
    await tx.query("INSERT INTO order_lines (order_id, line, sku, quantity, price_cents) VALUES ($1, $2, $3, $4, $5)", [
      id,
      line + 1,
      item.sku,
      item.quantity,
      item.priceCents,
    ]);
  }
}

/** Marks an order fulfilled once; a redelivered event changes nothing. */
export async function markFulfilled(
  tx: Queryable,
  orderId: string,
  fulfillmentId: string,
  fulfilledAt: string,
): Promise<void> {
  await tx.query(
    "UPDATE orders SET status = 'fulfilled', fulfillment_id = $2, fulfilled_at = $3 WHERE id = $1 AND status = 'placed'",
    [orderId, fulfillmentId, fulfilledAt],
  );
}

export async function selectOrder(db: Queryable, id: string): Promise<StoredOrder | null> {
  const { rows } = await db.query<OrderRow>(`${SELECT_ORDERS} WHERE o.id = $1`, [id]);
  return rows[0] === undefined ? null : toOrder(rows[0]);
}

export async function selectOrders(db: Queryable, limit: number): Promise<StoredOrder[]> {
  const { rows } = await db.query<OrderRow>(`${SELECT_ORDERS} ORDER BY o.seq DESC LIMIT $1`, [limit]);
  return rows.map(toOrder);
}
