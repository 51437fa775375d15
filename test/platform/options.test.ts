import assert from "node:assert/strict";
import { test } from "node:test";

import fc from "fast-check";

import { integerOption, resolveInteger, resolveIntegers } from "../../src/platform/options.js";

class LayerError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}
const fail = (field: string, message: string): Error => new LayerError(field, message);

test("an absent option takes its default; a value in range is kept", () => {
  const declared = { batchSize: integerOption(500, 1, 5_000), leaseMs: integerOption(10_000, 10, 86_400_000) };
  assert.deepEqual(resolveIntegers(declared, {}, fail), { batchSize: 500, leaseMs: 10_000 });
  assert.deepEqual(resolveIntegers(declared, { batchSize: 1, leaseMs: 86_400_000 }, fail), {
    batchSize: 1,
    leaseMs: 86_400_000,
  });
});

test("a value out of range or not an integer is refused with the layer's error naming the field", () => {
  const declared = integerOption(5, 1, 10);
  for (const bad of [0, 11, 1.5, Number.NaN, Number.POSITIVE_INFINITY, "5", null]) {
    assert.throws(
      () => resolveInteger("retries", bad, declared, fail),
      (error: unknown) =>
        error instanceof LayerError &&
        error.field === "retries" &&
        error.message ===
          `retries: must be an integer from 1 to 10, got ${typeof bad === "string" ? JSON.stringify(bad) : String(bad)}`,
    );
  }
});

test("exactly the integers in range are accepted", () => {
  fc.assert(
    fc.property(fc.integer({ min: -50, max: 50 }), fc.integer({ min: -20, max: 20 }), (value, minimum) => {
      const declared = integerOption(minimum, minimum, minimum + 10);
      const inRange = value >= minimum && value <= minimum + 10;
      if (inRange) assert.equal(resolveInteger("n", value, declared, fail), value);
      else assert.throws(() => resolveInteger("n", value, declared, fail), LayerError);
    }),
  );
});
