import assert from "node:assert/strict";
import { test } from "node:test";

import { ToolkitError } from "../../src/toolkit/errors.js";
import {
  backoffDelayMs,
  DEFAULT_RETRY_ATTEMPTS,
  DEFAULT_RETRY_BASE_DELAY_MS,
  DEFAULT_RETRY_JITTER,
  DEFAULT_RETRY_MAX_DELAY_MS,
  errorSummary,
  HandlerThrewNonErrorError,
  NonRetriableError,
  parseRetryHeaders,
  resolveRetryPolicy,
  RETRY_ERROR_CHARS_MAX,
  RETRY_HEADERS,
  retryHeaders,
  retryTierOf,
  retryTopicNames,
  toError,
  withoutRetryHeaders,
} from "../../src/toolkit/retry.js";
import { seededRandom } from "../store/harness.js";

test("the default policy: 5 attempts, 1 s doubling to at most 60 s, 20% jitter, one retry topic per retry", () => {
  const policy = resolveRetryPolicy();
  assert.deepEqual(policy, {
    attempts: DEFAULT_RETRY_ATTEMPTS,
    baseDelayMs: DEFAULT_RETRY_BASE_DELAY_MS,
    maxDelayMs: DEFAULT_RETRY_MAX_DELAY_MS,
    jitter: DEFAULT_RETRY_JITTER,
    tierCount: 4,
  });
  assert.deepEqual(retryTopicNames("orders", policy), [
    "orders.retry.1",
    "orders.retry.2",
    "orders.retry.3",
    "orders.retry.4",
  ]);
});

test("delays double per failure up to the maximum; jitter only shortens them, replayably", () => {
  const exact = resolveRetryPolicy({ attempts: 8, baseDelayMs: 100, maxDelayMs: 1_000, jitter: 0 });
  const never = () => 0.999;
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6, 7].map((failed) => backoffDelayMs(exact, failed, never)),
    [100, 200, 400, 800, 1_000, 1_000, 1_000],
  );
  const jittered = resolveRetryPolicy({ attempts: 8, baseDelayMs: 100, maxDelayMs: 1_000, jitter: 0.5 });
  const first = [1, 2, 3, 4].map((failed) => backoffDelayMs(jittered, failed, seededRandom(42)));
  const again = [1, 2, 3, 4].map((failed) => backoffDelayMs(jittered, failed, seededRandom(42)));
  assert.deepEqual(first, again, "the same seed gives the same delays");
  const random = seededRandom(3);
  for (let round = 0; round < 200; round++) {
    const failed = 1 + (round % 7);
    const full = Math.min(1_000, 100 * 2 ** (failed - 1));
    const delay = backoffDelayMs(jittered, failed, random);
    assert.ok(delay <= full && delay >= full / 2, `${delay} within [${full / 2}, ${full}]`);
  }
});

test("retry tiers stop at the first delay that reaches the maximum; later attempts share the last tier", () => {
  const policy = resolveRetryPolicy({ attempts: 10, baseDelayMs: 100, maxDelayMs: 500 });
  // Delays 100, 200, 400, then 500 from the fourth retry on.
  assert.equal(policy.tierCount, 4);
  assert.deepEqual(
    [1, 2, 3, 4, 5, 9].map((failed) => retryTierOf(policy, failed)),
    [1, 2, 3, 4, 4, 4],
  );
  assert.equal(resolveRetryPolicy({ attempts: 1 }).tierCount, 0, "one attempt needs no retry topic");
  assert.equal(resolveRetryPolicy({ attempts: 3, baseDelayMs: 50, maxDelayMs: 50 }).tierCount, 1);
});

test("bad policies are refused with the field named", () => {
  const refused = (field: string) => (error: unknown) =>
    error instanceof ToolkitError && error.code === "SLUICE_RETRY_POLICY_INVALID" && error.message.includes(field);
  assert.throws(() => resolveRetryPolicy({ attempts: 0 }), refused("retry.attempts"));
  assert.throws(() => resolveRetryPolicy({ attempts: 21 }), refused("retry.attempts"));
  assert.throws(() => resolveRetryPolicy({ attempts: 2.5 }), refused("retry.attempts"));
  assert.throws(() => resolveRetryPolicy({ baseDelayMs: 0 }), refused("retry.baseDelayMs"));
  assert.throws(() => resolveRetryPolicy({ baseDelayMs: 1_000, maxDelayMs: 999 }), refused("retry.maxDelayMs"));
  assert.throws(() => resolveRetryPolicy({ jitter: 1.5 }), refused("retry.jitter"));
  assert.throws(() => resolveRetryPolicy({ jitter: Number.NaN }), refused("retry.jitter"));
  assert.equal(resolveRetryPolicy({ baseDelayMs: 120_000 }).maxDelayMs, 120_000, "the default max follows the base");
});

test("retry headers round-trip, and malformed ones are refused by name", () => {
  const envelope = {
    attempt: 3,
    dueTimeMs: 1_700_000_000_123,
    group: "shipping",
    originalTopic: "orders",
    originalPartition: 2,
    originalOffset: "9007199254740993",
    error: "Error: boom",
  };
  const headers = { "sluice-event-id": "abc", ...retryHeaders(envelope) };
  assert.deepEqual(parseRetryHeaders(headers), envelope);
  assert.deepEqual(withoutRetryHeaders(headers), { "sluice-event-id": "abc" });
  const refused = (header: string) => (error: unknown) =>
    error instanceof ToolkitError && error.code === "SLUICE_RETRY_HEADERS_INVALID" && error.message.includes(header);
  const without = (name: string) => Object.fromEntries(Object.entries(headers).filter(([key]) => key !== name));
  assert.throws(() => parseRetryHeaders(without(RETRY_HEADERS.group)), refused(RETRY_HEADERS.group));
  assert.throws(() => parseRetryHeaders({ ...headers, [RETRY_HEADERS.attempt]: "1" }), refused(RETRY_HEADERS.attempt));
  assert.throws(
    () => parseRetryHeaders({ ...headers, [RETRY_HEADERS.dueTime]: "soon" }),
    refused(RETRY_HEADERS.dueTime),
  );
  assert.throws(
    () => parseRetryHeaders({ ...headers, [RETRY_HEADERS.originalOffset]: "-1" }),
    refused(RETRY_HEADERS.originalOffset),
  );
});

test("thrown values become Errors that say what was thrown; summaries are one bounded line", () => {
  const error = new Error("plain");
  assert.equal(toError(error), error);
  for (const [thrown, described] of [
    ["oops", 'the string "oops"'],
    [42, "the number 42"],
    [undefined, "undefined"],
    [null, "null"],
    [{ reason: "no" }, 'the object {"reason":"no"}'],
  ] as const) {
    const wrapped = toError(thrown);
    assert.ok(wrapped instanceof HandlerThrewNonErrorError);
    assert.equal(wrapped.code, "SLUICE_HANDLER_THREW_NON_ERROR");
    assert.ok(wrapped.message.includes(described), wrapped.message);
  }
  const cyclic: { self?: unknown } = {};
  cyclic.self = cyclic;
  assert.match(toError(cyclic).message, /a value of type object/);
  assert.equal(errorSummary(new NonRetriableError("line one\n  line two")), "NonRetriableError: line one line two");
  assert.equal(errorSummary(new Error("x".repeat(5_000))).length, RETRY_ERROR_CHARS_MAX);
});
