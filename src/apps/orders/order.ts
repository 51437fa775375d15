// What a client may send to POST /api/orders, checked field by field so that a 400 names the field at fault. The
// catalogue of SKUs is the fulfillment service's business: an unknown SKU is accepted here and dead-lettered there.

import { validationFailed } from "../../gateway/errors.js";

export const ORDER_LINES_MAX = 100;
export const QUANTITY_MAX = 10_000;
export const PRICE_CENTS_MAX = 100_000_000;
const CUSTOMER_ID_PATTERN = /^[A-Za-z0-9._@-]{1,100}$/;
const SKU_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

export interface OrderInput {
  customerId: string;
  items: { sku: string; quantity: number; priceCents: number }[];
}

function integerField(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw validationFailed(field, `${field} must be an integer from ${min} to ${max}`);
  }
  return value;
}

export function readOrderBody(body: unknown): OrderInput {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw validationFailed("(body)", 'the body must be a JSON object such as { "customerId": "c-1", "items": [...] }');
  }
  const fields = body as Record<string, unknown>;
  for (const field of Object.keys(fields)) {
    if (field !== "customerId" && field !== "items")
      throw validationFailed(field, `${field} is not a field of an order`);
  }
  if (typeof fields.customerId !== "string" || !CUSTOMER_ID_PATTERN.test(fields.customerId)) {
    throw validationFailed("customerId", "customerId must be 1 to 100 letters, digits, '.', '_', '@' or '-'");
  }
  if (!Array.isArray(fields.items) || fields.items.length === 0 || fields.items.length > ORDER_LINES_MAX) {
    throw validationFailed("items", `items must be a list of 1 to ${ORDER_LINES_MAX} lines`);
  }
  const items = fields.items.map((raw, index) => {
    const line = (typeof raw === "object" && raw !== null ? raw : {}) as Record<string, unknown>;
    const sku = line.sku;
    if (typeof sku !== "string" || !SKU_PATTERN.test(sku)) {
      throw validationFailed(`items[${index}].sku`, "sku must be 1 to 64 letters, digits, '.', '_' or '-'");
    }
    // Zero is let through on purpose: the fulfillment service refuses it, as the system it replaces did.
    const quantity = integerField(`items[${index}].quantity`, line.quantity, 0, QUANTITY_MAX);
    const priceCents = integerField(`items[${index}].priceCents`, line.priceCents, 0, PRICE_CENTS_MAX);
    return { sku, quantity, priceCents };
  });
  return { customerId: fields.customerId, items };
}
