import assert from "node:assert/strict";
import { test } from "node:test";

import {
  childTraceparent,
  currentTraceparent,
  formatTraceparent,
  isValidTraceparent,
  parseTraceparent,
  runWithTraceparent,
} from "../../src/toolkit/tracing.js";

const PARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

test("parses valid traceparents and refuses malformed ones", () => {
  assert.deepEqual(parseTraceparent(PARENT), {
    traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
    spanId: "00f067aa0ba902b7",
    flags: "01",
  });
  assert.equal(formatTraceparent(parseTraceparent(PARENT)!), PARENT);
  for (const bad of [
    null,
    undefined,
    "",
    "garbage",
    PARENT.toUpperCase(),
    "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
    "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
    "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
    // Each character just outside the hex ranges, and a dash moved or missing.
    ...["/", ":", "`", "g", "G"].map((char) => `00-4bf92f3577b34da6a3ce929d0e0e47${char}6-00f067aa0ba902b7-01`),
    "00-4bf92f3577b34da6a3ce929d0e0e4736000f067aa0ba902b7-01",
    "00-4bf92f3577b34da6a3ce929d0e0e47-3600f067aa0ba902b7-01",
    `${PARENT}-`,
  ]) {
    assert.equal(parseTraceparent(bad), null, `refuses ${String(bad)}`);
    assert.equal(isValidTraceparent(bad), false, `refuses ${String(bad)}`);
  }
  assert.equal(isValidTraceparent(PARENT), true);
  assert.deepEqual(parseTraceparent(`  ${PARENT}\n`), parseTraceparent(PARENT), "surrounding white space is ignored");
});

test("a child keeps the trace id and flags and gets a new span id", () => {
  const child = childTraceparent(PARENT);
  const parsed = parseTraceparent(child);
  assert.ok(parsed !== null);
  assert.equal(parsed.traceId, "4bf92f3577b34da6a3ce929d0e0e4736");
  assert.equal(parsed.flags, "01");
  assert.notEqual(parsed.spanId, "00f067aa0ba902b7");
  assert.notEqual(childTraceparent(PARENT), child, "span ids differ between children");
});

test("without a valid parent a child starts a new sampled trace", () => {
  const first = parseTraceparent(childTraceparent(null));
  const second = parseTraceparent(childTraceparent("not a traceparent"));
  assert.ok(first !== null && second !== null);
  assert.notEqual(first.traceId, second.traceId);
  assert.equal(first.flags, "01");
});

test("the current traceparent follows async work and is restored afterwards", async () => {
  assert.equal(currentTraceparent(), null);
  const seen = await runWithTraceparent(PARENT, async () => {
    await new Promise((resolve) => setTimeout(resolve, 5));
    const inner = await Promise.all([
      (async () => currentTraceparent())(),
      new Promise<string | null>((resolve) => setImmediate(() => resolve(currentTraceparent()))),
    ]);
    const nested = runWithTraceparent(null, () => currentTraceparent());
    return [...inner, nested, currentTraceparent()];
  });
  assert.deepEqual(seen, [PARENT, PARENT, null, PARENT]);
  assert.equal(currentTraceparent(), null);
  assert.equal(
    runWithTraceparent("bogus", () => currentTraceparent()),
    null,
    "a malformed traceparent is not propagated",
  );
});
