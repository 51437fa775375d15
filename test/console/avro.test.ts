// Reading Avro's binary encoding for the console's decoding of wire-format values: bytes written by hand from the
// specification's rules (zig-zag varints, length-prefixed strings, blocked arrays and maps, union indexes), and
// values that do not fit their schema refused with a reason.

import assert from "node:assert/strict";
import { test } from "node:test";

import { AvroDecodeError, decodeAvro } from "../../src/console/avro.js";

const zigzag = (value: number): number[] => {
  let encoded = value >= 0 ? value * 2 : -value * 2 - 1;
  const bytes: number[] = [];
  while (encoded >= 0x80) {
    bytes.push((encoded & 0x7f) | 0x80);
    encoded = Math.floor(encoded / 128);
  }
  bytes.push(encoded);
  return bytes;
};
const text = (value: string): number[] => [...zigzag(Buffer.byteLength(value)), ...Buffer.from(value)];

const ORDER = JSON.stringify({
  type: "record",
  name: "Order",
  namespace: "shop",
  fields: [
    { name: "id", type: "string" },
    { name: "cents", type: "long" },
    { name: "paid", type: "boolean" },
    { name: "note", type: ["null", "string"] },
    { name: "status", type: { type: "enum", name: "Status", symbols: ["PLACED", "SHIPPED"] } },
    {
      name: "lines",
      type: { type: "array", items: { type: "record", name: "Line", fields: [{ name: "sku", type: "string" }] } },
    },
    { name: "tags", type: { type: "map", values: "int" } },
    { name: "next", type: ["null", "shop.Line"] },
    { name: "ratio", type: "double" },
  ],
});

test("an Avro record with every kind of field decodes to its JSON value", () => {
  const ratio = Buffer.alloc(8);
  ratio.writeDoubleLE(0.25);
  const bytes = Buffer.from([
    ...text("o-1"),
    ...zigzag(-123_456_789_012),
    1,
    ...zigzag(1),
    ...text("leave at door"),
    ...zigzag(1),
    ...zigzag(2),
    ...text("a"),
    ...text("b"),
    0,
    ...zigzag(-1),
    ...zigzag(4),
    ...text("x"),
    ...zigzag(-7),
    0,
    ...zigzag(1),
    ...text("c"),
    ...ratio,
  ]);
  assert.deepEqual(decodeAvro(ORDER, bytes), {
    id: "o-1",
    cents: -123_456_789_012,
    paid: true,
    note: "leave at door",
    status: "SHIPPED",
    lines: [{ sku: "a" }, { sku: "b" }],
    tags: { x: -7 },
    next: { sku: "c" },
    ratio: 0.25,
  });
});

test("values that do not fit their schema are refused with a reason", () => {
  assert.throws(() => decodeAvro('"string"', Buffer.from([...zigzag(10), 65])), AvroDecodeError);
  assert.throws(() => decodeAvro('"int"', Buffer.from([...zigzag(1), 9])), /left over/);
  assert.throws(() => decodeAvro('["null"]', Buffer.from(zigzag(3))), /union branch 3/);
  assert.throws(() => decodeAvro('{"type":"array","items":"int"}', Buffer.from(zigzag(1_000_000_000))), /more than/);
  assert.throws(() => decodeAvro("not json", Buffer.alloc(0)), /not JSON/);
});
