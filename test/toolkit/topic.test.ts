import assert from "node:assert/strict";
import { test } from "node:test";

import { Type } from "@sinclair/typebox";

import { EventValidationError, ToolkitError, ToolkitErrorCode } from "../../src/toolkit/errors.js";
import { defineTopic, fieldPathOf, type EventOf } from "../../src/toolkit/topic.js";

const orderPlaced = defineTopic({
  name: "orders.placed",
  partitions: 3,
  schema: Type.Object(
    {
      orderId: Type.String({ minLength: 1 }),
      customer: Type.Object({ email: Type.String({ pattern: "^[^@]+@[^@]+$" }) }),
      lines: Type.Array(Type.Object({ sku: Type.String(), quantity: Type.Integer({ minimum: 1 }) }), { minItems: 1 }),
    },
    { additionalProperties: false },
  ),
  key: (order) => order.orderId,
});

type OrderPlaced = EventOf<typeof orderPlaced>;

const validOrder: OrderPlaced = {
  orderId: "o-1",
  customer: { email: "ada@example.com" },
  lines: [{ sku: "sku-1", quantity: 2 }],
};

function invalidAt(field: string) {
  return (error: unknown) => {
    assert.ok(error instanceof EventValidationError, `expected EventValidationError, got ${String(error)}`);
    assert.equal(error.code, ToolkitErrorCode.EVENT_INVALID);
    assert.equal(error.topic, "orders.placed");
    assert.equal(error.field, field);
    assert.match(error.message, /orders\.placed/);
    assert.ok(error.message.includes(field), `message names ${field}: ${error.message}`);
    return true;
  };
}

test("a declaration carries its name, partitions, event type, schema and key", () => {
  assert.equal(orderPlaced.name, "orders.placed");
  assert.equal(orderPlaced.partitions, 3);
  assert.equal(orderPlaced.eventType, "orders.placed");
  assert.equal((orderPlaced.schema as { type?: string }).type, "object");
  assert.equal(orderPlaced.key(validOrder), "o-1");
  assert.deepEqual(orderPlaced.validate(validOrder), validOrder);
  assert.deepEqual(JSON.parse(JSON.stringify(orderPlaced.schema)).required, ["orderId", "customer", "lines"]);
});

test("invalid events are refused with the topic and the failing field named", () => {
  assert.throws(() => orderPlaced.validate({ ...validOrder, orderId: 7 }), invalidAt("orderId"));
  assert.throws(
    () => orderPlaced.validate({ ...validOrder, customer: { email: "nope" } }),
    invalidAt("customer.email"),
  );
  assert.throws(() => orderPlaced.validate({ ...validOrder, customer: {} }), invalidAt("customer.email"));
  assert.throws(
    () => orderPlaced.validate({ ...validOrder, lines: [validOrder.lines[0], { sku: "x", quantity: 0 }] }),
    invalidAt("lines[1].quantity"),
  );
  assert.throws(() => orderPlaced.validate({ ...validOrder, extra: true }), invalidAt("extra"));
  assert.throws(() => orderPlaced.validate("not an object"), invalidAt("(root)"));
  assert.throws(() => orderPlaced.validate(null), invalidAt("(root)"));
  assert.throws(
    () => orderPlaced.validate({ ...validOrder, lines: [{ sku: "x", quantity: Number.NaN }] }),
    invalidAt("lines[0].quantity"),
  );
});

test("defaults: one partition, no key, the name as event type", () => {
  const topic = defineTopic({ name: "audit", schema: Type.Object({ at: Type.String() }) });
  assert.equal(topic.partitions, 1);
  assert.equal(topic.eventType, "audit");
  assert.equal(topic.key({ at: "now" }), null);
  const typed = defineTopic({ name: "audit2", eventType: "AuditRecorded.v2", schema: Type.String() });
  assert.equal(typed.eventType, "AuditRecorded.v2");
});

test("bad declarations are refused with a clear code", () => {
  const definitionError = (pattern: RegExp) => (error: unknown) =>
    error instanceof ToolkitError &&
    error.code === ToolkitErrorCode.TOPIC_DEFINITION_INVALID &&
    pattern.test(error.message);
  assert.throws(() => defineTopic({ name: "bad name", schema: Type.String() }), definitionError(/topic name/));
  assert.throws(() => defineTopic({ name: "..", schema: Type.String() }), definitionError(/topic name/));
  assert.throws(() => defineTopic({ name: "a".repeat(250), schema: Type.String() }), definitionError(/topic name/));
  assert.throws(() => defineTopic({ name: "t", partitions: 0, schema: Type.String() }), definitionError(/partitions/));
  assert.throws(
    () => defineTopic({ name: "t", partitions: 1.5, schema: Type.String() }),
    definitionError(/partitions/),
  );
  assert.throws(
    () => defineTopic({ name: "t", schema: { type: "string" } as unknown as ReturnType<typeof Type.String> }),
    definitionError(/TypeBox schema/),
  );
  assert.throws(
    () => defineTopic({ name: "t", schema: Type.Object({ at: Type.Date() }) }),
    definitionError(/Type\.Date\(\) at properties\.at/),
  );
  assert.throws(() => defineTopic({ name: "t", schema: Type.BigInt() }), definitionError(/BigInt/));
  assert.throws(() => defineTopic({ name: "t", eventType: "", schema: Type.String() }), definitionError(/eventType/));
});

test("a key function that returns a non-string or a huge key is refused", () => {
  const numeric = defineTopic({
    name: "keys",
    schema: Type.Object({ id: Type.Number() }),
    key: (value) => value.id as unknown as string,
  });
  assert.throws(
    () => numeric.key({ id: 4 }),
    (error: unknown) => error instanceof EventValidationError && error.field === "(key)",
  );
  const huge = defineTopic({ name: "keys", schema: Type.String(), key: (value) => value });
  assert.equal(huge.key("k"), "k");
  assert.throws(() => huge.key("k".repeat(5000)), /over 4096/);
});

test("JSON pointers become field paths", () => {
  assert.equal(fieldPathOf(""), "(root)");
  assert.equal(fieldPathOf("/a"), "a");
  assert.equal(fieldPathOf("/a/b"), "a.b");
  assert.equal(fieldPathOf("/lines/2/sku"), "lines[2].sku");
  assert.equal(fieldPathOf("/0/x"), "[0].x");
  assert.equal(fieldPathOf("/a~1b/c~0d"), "a/b.c~d");
});
