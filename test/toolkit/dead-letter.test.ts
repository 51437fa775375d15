import assert from "node:assert/strict";
import { test } from "node:test";

import {
  DEAD_LETTER_HEADERS,
  deadLetterHeaders,
  deadLetterTopicName,
  originalHeadersOf,
  parseDeadLetter,
} from "../../src/toolkit/dead-letter.js";
import { ToolkitError } from "../../src/toolkit/errors.js";
import { RETRY_ERROR_CHARS_MAX, retryHeaders } from "../../src/toolkit/retry.js";

const reason = {
  originalTopic: "orders",
  originalPartition: 3,
  originalOffset: "1234",
  error: "Error: no stock\n  at handler",
  errorCode: "SLUICE_HANDLER_FAILED",
  attempts: 5,
  time: new Date("2030-01-02T03:04:05.678Z"),
  consumerGroup: "shipping",
};

test("a dead letter keeps the event's headers and adds where it came from and why it failed", () => {
  const eventHeaders = {
    "sluice-event-id": "id-1",
    traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    tenant: "acme",
    ...retryHeaders({
      attempt: 5,
      dueTimeMs: 1,
      group: "shipping",
      originalTopic: "orders",
      originalPartition: 3,
      originalOffset: "1234",
      error: "Error: earlier",
    }),
  };
  const headers = deadLetterHeaders(eventHeaders, "id-1", reason);
  assert.equal(deadLetterTopicName("orders"), "orders.dlt");
  assert.equal(headers[DEAD_LETTER_HEADERS.originalTopic], "orders");
  assert.equal(headers[DEAD_LETTER_HEADERS.originalPartition], "3");
  assert.equal(headers[DEAD_LETTER_HEADERS.originalOffset], "1234");
  assert.equal(headers[DEAD_LETTER_HEADERS.error], "Error: no stock at handler", "one line");
  assert.equal(headers[DEAD_LETTER_HEADERS.attempts], "5");
  assert.equal(headers[DEAD_LETTER_HEADERS.time], "2030-01-02T03:04:05.678Z");
  assert.equal(headers[DEAD_LETTER_HEADERS.consumerGroup], "shipping");
  assert.ok(
    Object.keys(headers).every((name) => !name.startsWith("sluice-retry-")),
    "retry bookkeeping is dropped",
  );

  const letter = parseDeadLetter({
    topic: "orders.dlt",
    partition: 3,
    offset: "7",
    key: Buffer.from("k"),
    value: Buffer.from("{}"),
    headers,
  });
  assert.equal(letter.eventId, "id-1");
  assert.deepEqual(
    { ...letter, key: undefined, value: undefined, headers: undefined },
    {
      ...reason,
      error: "Error: no stock at handler",
      eventId: "id-1",
      key: undefined,
      value: undefined,
      headers: undefined,
      valueDropped: null,
      deadLetterPartition: 3,
      deadLetterOffset: "7",
    },
  );
  assert.deepEqual(letter.headers, {
    "sluice-event-id": "id-1",
    traceparent: eventHeaders.traceparent,
    tenant: "acme",
  });
  assert.deepEqual(originalHeadersOf(headers), letter.headers);
});

test("long errors are cut; records that are not dead letters are refused by what is missing", () => {
  const headers = deadLetterHeaders({}, "id-2", { ...reason, error: "x".repeat(10_000) });
  assert.equal(headers[DEAD_LETTER_HEADERS.error]!.length, RETRY_ERROR_CHARS_MAX);
  const record = { topic: "orders.dlt", partition: 0, offset: "1", key: null, value: null, headers };
  const refused = (what: string) => (error: unknown) =>
    error instanceof ToolkitError && error.code === "SLUICE_DEAD_LETTER_INVALID" && error.message.includes(what);
  const without = (name: string) => ({
    ...record,
    headers: Object.fromEntries(Object.entries(headers).filter(([key]) => key !== name)),
  });
  assert.throws(() => parseDeadLetter(without("sluice-event-id")), refused("sluice-event-id"));
  assert.throws(
    () => parseDeadLetter(without(DEAD_LETTER_HEADERS.originalTopic)),
    refused(DEAD_LETTER_HEADERS.originalTopic),
  );
  assert.throws(
    () => parseDeadLetter({ ...record, headers: { ...headers, [DEAD_LETTER_HEADERS.time]: "yesterday" } }),
    refused(DEAD_LETTER_HEADERS.time),
  );
  assert.throws(
    () => parseDeadLetter({ ...record, headers: { ...headers, [DEAD_LETTER_HEADERS.attempts]: "many" } }),
    refused(DEAD_LETTER_HEADERS.attempts),
  );
});
