import assert from "node:assert/strict";
import { test } from "node:test";
import { xxhash32 } from "../../../../src/kafka/protocol/compression/xxhash32.js";

test("xxhash32 matches the reference values", () => {
  assert.equal(xxhash32(Buffer.from("")), 0x02cc5d05);
  assert.equal(xxhash32(Buffer.from("a")), 0x550d7456);
  assert.equal(xxhash32(Buffer.from("abc")), 0x32d153ff);
  assert.equal(xxhash32(Buffer.from("Nobody inspects the spammish repetition")), 0xe2293b2f);
});

test("xxhash32 hashes a sub-range the same as a copy of it", () => {
  const data = Buffer.from("0123456789abcdefghijklmnopqrstuvwxyz");
  assert.equal(xxhash32(data, 0, 3, 30), xxhash32(Buffer.from(data.subarray(3, 30))));
  assert.notEqual(xxhash32(data, 1), xxhash32(data, 0));
});
