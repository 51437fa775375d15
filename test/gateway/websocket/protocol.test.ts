import assert from "node:assert/strict";
import { test } from "node:test";

import {
  parseClientRequest,
  readSubprotocols,
  RESUME_PARTITIONS_MAX,
  SLUICE_SUBPROTOCOL,
  TOKEN_SUBPROTOCOL_PREFIX,
  WebSocketRequestError,
} from "../../../src/gateway/websocket/protocol.js";

function refusal(code: string, field?: string) {
  return (error: unknown) => error instanceof WebSocketRequestError && error.code === code && error.field === field;
}

test("subscribe requests are parsed with their key filter and resume offsets (next offset = last seen + 1)", () => {
  assert.deepEqual(
    parseClientRequest(
      JSON.stringify({ type: "subscribe", id: "a", topic: "messages.saved", key: "k", resume: { "0": 41, "2": -1 } }),
    ),
    {
      type: "subscribe",
      id: "a",
      topic: "messages.saved",
      key: "k",
      resume: new Map([
        [0, 42],
        [2, 0],
      ]),
    },
  );
  assert.deepEqual(parseClientRequest('{"type":"subscribe","topic":"t","key":null}'), {
    type: "subscribe",
    id: null,
    topic: "t",
    key: null,
    resume: new Map(),
  });
  assert.deepEqual(parseClientRequest('{"type":"unsubscribe","topic":"t","id":9}'), {
    type: "unsubscribe",
    id: 9,
    topic: "t",
  });
  assert.deepEqual(parseClientRequest('{"type":"auth","token":"abc.def.ghi"}'), {
    type: "auth",
    id: null,
    token: "abc.def.ghi",
  });
});

test("malformed requests are refused with the code and the field at fault", () => {
  assert.throws(() => parseClientRequest("{"), refusal("SLUICE_INVALID_JSON"));
  assert.throws(() => parseClientRequest("null"), refusal("SLUICE_VALIDATION_FAILED", "type"));
  assert.throws(() => parseClientRequest("{}"), refusal("SLUICE_VALIDATION_FAILED", "type"));
  assert.throws(() => parseClientRequest('{"type":"subscribe","id":{}}'), refusal("SLUICE_VALIDATION_FAILED", "id"));
  assert.throws(
    () => parseClientRequest(JSON.stringify({ type: "subscribe", topic: "t", id: "x".repeat(65) })),
    refusal("SLUICE_VALIDATION_FAILED", "id"),
  );
  assert.throws(
    () => parseClientRequest('{"type":"subscribe","topic":""}'),
    refusal("SLUICE_VALIDATION_FAILED", "topic"),
  );
  assert.throws(
    () => parseClientRequest(JSON.stringify({ type: "subscribe", topic: "t".repeat(250) })),
    refusal("SLUICE_VALIDATION_FAILED", "topic"),
  );
  assert.throws(
    () => parseClientRequest('{"type":"subscribe","topic":"t","resume":[1]}'),
    refusal("SLUICE_VALIDATION_FAILED", "resume"),
  );
  assert.throws(
    () => parseClientRequest('{"type":"subscribe","topic":"t","resume":{"01":3}}'),
    refusal("SLUICE_VALIDATION_FAILED", "resume.01"),
  );
  assert.throws(
    () => parseClientRequest('{"type":"subscribe","topic":"t","resume":{"0":1.5}}'),
    refusal("SLUICE_VALIDATION_FAILED", "resume.0"),
  );
  assert.throws(
    () => parseClientRequest('{"type":"subscribe","topic":"t","resume":{"0":"3"}}'),
    refusal("SLUICE_VALIDATION_FAILED", "resume.0"),
  );
  const manyPartitions = Object.fromEntries(
    Array.from({ length: RESUME_PARTITIONS_MAX + 1 }, (_, index) => [String(index), 0]),
  );
  assert.throws(
    () => parseClientRequest(JSON.stringify({ type: "subscribe", topic: "t", resume: manyPartitions })),
    refusal("SLUICE_VALIDATION_FAILED", "resume"),
  );
  assert.throws(() => parseClientRequest('{"type":"auth","token":""}'), refusal("SLUICE_VALIDATION_FAILED", "token"));
  assert.throws(() => parseClientRequest('{"type":"auth"}'), refusal("SLUICE_VALIDATION_FAILED", "token"));
});

test("an error carries the request's id so that the client can match it", () => {
  assert.throws(
    () => parseClientRequest('{"type":"subscribe","id":"req-1"}'),
    (error: unknown) => error instanceof WebSocketRequestError && error.id === "req-1",
  );
});

test("subprotocols: sluice.v1 is selected; a token offered as sluice.token.<JWT> is read and never selected", () => {
  assert.deepEqual(readSubprotocols(new Set([SLUICE_SUBPROTOCOL, `${TOKEN_SUBPROTOCOL_PREFIX}a.b.c`])), {
    selected: SLUICE_SUBPROTOCOL,
    token: "a.b.c",
  });
  assert.deepEqual(readSubprotocols(new Set([`${TOKEN_SUBPROTOCOL_PREFIX}a.b.c`])), { selected: null, token: "a.b.c" });
  assert.deepEqual(readSubprotocols(new Set(["chat"])), { selected: "chat", token: null });
  assert.deepEqual(readSubprotocols(new Set()), { selected: null, token: null });
  assert.deepEqual(readSubprotocols(new Set([TOKEN_SUBPROTOCOL_PREFIX])), { selected: null, token: null });
});
