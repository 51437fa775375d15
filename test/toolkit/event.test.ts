import assert from "node:assert/strict";
import { test } from "node:test";

import { Type } from "@sinclair/typebox";

import {
  checkExtraHeaders,
  encodeEvent,
  EVENT_BYTES_MAX,
  EVENT_HEADERS,
  headersToStrings,
  readEventHeaders,
  recordBytes,
  recordBytesOver,
} from "../../src/toolkit/event.js";
import {
  EventDecodeError,
  EventEncodeError,
  EventTooLargeError,
  EventValidationError,
  InvalidArgumentError,
  ToolkitErrorCode,
} from "../../src/toolkit/errors.js";
import { jsonSerializer, serializerFor, type Serializer } from "../../src/toolkit/serializer.js";
import { defineTopic, type TopicDefinition } from "../../src/toolkit/topic.js";
import { parseTraceparent, runWithTraceparent } from "../../src/toolkit/tracing.js";

const noteAdded = defineTopic({
  name: "notes.added",
  eventType: "NoteAdded",
  schema: Type.Object({ noteId: Type.String(), text: Type.String() }),
  key: (note) => note.noteId,
});

const PARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

test("an encoded event has its id, type, time, traceparent and content type in headers", async () => {
  const time = new Date("2024-05-06T07:08:09.123Z");
  const event = await runWithTraceparent(PARENT, () =>
    encodeEvent(noteAdded, { noteId: "n1", text: "hello" }, { time, headers: { tenant: "acme" } }),
  );
  assert.match(event.id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(event.key, "n1");
  assert.deepEqual(JSON.parse(event.value.toString("utf8")), { noteId: "n1", text: "hello" });
  assert.deepEqual(event.headers, {
    tenant: "acme",
    [EVENT_HEADERS.id]: event.id,
    [EVENT_HEADERS.type]: "NoteAdded",
    [EVENT_HEADERS.time]: "2024-05-06T07:08:09.123Z",
    [EVENT_HEADERS.traceparent]: event.traceparent,
    [EVENT_HEADERS.contentType]: "application/json",
  });
  const trace = parseTraceparent(event.traceparent);
  assert.equal(trace?.traceId, "4bf92f3577b34da6a3ce929d0e0e4736", "the event continues the current trace");
  assert.notEqual(trace?.spanId, "00f067aa0ba902b7", "as a new span");

  const read = readEventHeaders(event.headers);
  assert.deepEqual(read, {
    id: event.id,
    type: "NoteAdded",
    time,
    traceparent: event.traceparent,
    contentType: "application/json",
  });
});

test("options override the key and the event id; a key of null sends no key", async () => {
  const eventId = "3F2504E0-4F89-41D3-9A0C-0305E82C3301";
  const event = await encodeEvent(noteAdded, { noteId: "n1", text: "x" }, { key: null, eventId });
  assert.equal(event.key, null);
  assert.equal(event.id, eventId.toLowerCase());
  const custom = await encodeEvent(noteAdded, { noteId: "n1", text: "x" }, { key: "other" });
  assert.equal(custom.key, "other");
  await assert.rejects(encodeEvent(noteAdded, { noteId: "n1", text: "x" }, { eventId: "42" }), InvalidArgumentError);
  await assert.rejects(
    encodeEvent(noteAdded, { noteId: "n1", text: "x" }, { time: new Date("nonsense") }),
    InvalidArgumentError,
  );
});

test("invalid, oversized and unencodable events are refused before anything is sent", async () => {
  await assert.rejects(
    encodeEvent(noteAdded, { noteId: "n1" } as never),
    (error: unknown) => error instanceof EventValidationError && error.field === "text",
  );
  await assert.rejects(
    encodeEvent(noteAdded, { noteId: "n1", text: "x".repeat(EVENT_BYTES_MAX) }),
    (error: unknown) =>
      error instanceof EventTooLargeError &&
      error.code === ToolkitErrorCode.EVENT_TOO_LARGE &&
      error.topic === "notes.added" &&
      error.bytes > EVENT_BYTES_MAX,
  );
  const anything = defineTopic({ name: "anything", schema: Type.Unknown() });
  await assert.rejects(encodeEvent(anything, 10n), EventEncodeError);
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  await assert.rejects(encodeEvent(anything, cyclic), EventEncodeError);
});

test("extra headers may not replace the standard ones and are limited", () => {
  assert.deepEqual(checkExtraHeaders(undefined), {});
  assert.throws(() => checkExtraHeaders({ [EVENT_HEADERS.id]: "x" }), /set by the toolkit/);
  assert.throws(() => checkExtraHeaders({ TraceParent: "x" }), /set by the toolkit/);
  assert.throws(() => checkExtraHeaders({ n: 5 as unknown as string }), /must be a string/);
  const many = Object.fromEntries(Array.from({ length: 65 }, (_, index) => [`h${index}`, "v"]));
  assert.throws(() => checkExtraHeaders(many), /at most 64/);
});

test("consumed headers become strings, the last repeated value winning", () => {
  assert.deepEqual(
    headersToStrings({ a: Buffer.from("one"), b: "two", c: [Buffer.from("x"), Buffer.from("y")], d: undefined }),
    { a: "one", b: "two", c: "y" },
  );
  assert.deepEqual(headersToStrings(undefined), {});
  assert.deepEqual(readEventHeaders({ [EVENT_HEADERS.time]: "yesterday", [EVENT_HEADERS.traceparent]: "bad" }), {
    id: null,
    type: null,
    time: null,
    traceparent: null,
    contentType: null,
  });
});

test("the JSON serializer decodes what it encodes and names the topic when it cannot", () => {
  const topic = noteAdded as TopicDefinition<unknown>;
  assert.equal(serializerFor(topic), jsonSerializer);
  const bytes = jsonSerializer.encode(topic, { noteId: "é", text: "✓" });
  assert.deepEqual(jsonSerializer.decode(topic, bytes), { noteId: "é", text: "✓" });
  const decodeError = (pattern: RegExp) => (error: unknown) =>
    error instanceof EventDecodeError &&
    error.code === ToolkitErrorCode.EVENT_DECODE_FAILED &&
    error.topic === "notes.added" &&
    pattern.test(error.message);
  assert.throws(() => jsonSerializer.decode(topic, Buffer.from("{not json")), decodeError(/not JSON/));
  assert.throws(() => jsonSerializer.decode(topic, Buffer.from([0xff, 0xfe])), decodeError(/not UTF-8/));
});

test("a topic's own serializer is prepared once and used for encoding", async () => {
  let prepared = 0;
  const upper: Serializer = {
    contentType: "text/plain",
    encode: (_topic, value) => Buffer.from(String(value).toUpperCase()),
    decode: (_topic, bytes) => bytes.toString().toLowerCase(),
    async prepare() {
      prepared += 1;
    },
  };
  const shout = defineTopic({ name: "shout", schema: Type.String(), serializer: upper });
  const first = await encodeEvent(shout, "hi");
  await encodeEvent(shout, "again");
  assert.equal(first.value.toString(), "HI");
  assert.equal(first.headers[EVENT_HEADERS.contentType], "text/plain");
  assert.equal(prepared, 1);
});

test("recordBytesOver counts the bytes exactly when a record may be over the limit", () => {
  const key = Buffer.from("k1");
  const value = Buffer.alloc(10);
  // "é" is one UTF-16 code unit and two bytes of UTF-8; "😀" is two code units and four bytes.
  const headers = { name: "é😀" };
  const exact = recordBytes(key, value, headers);
  assert.equal(exact, 2 + 10 + 4 + 2 + 4);
  assert.equal(recordBytesOver(key, value, headers, exact), null);
  assert.equal(recordBytesOver(key, value, headers, exact - 1), exact);
  assert.equal(recordBytesOver(null, null, {}, 0), null);
  assert.equal(recordBytesOver(null, Buffer.alloc(5), {}, 4), 5);
  // Within the bound from lengths alone, nothing is encoded; past it, the exact count decides.
  const ascii = { traceparent: "x".repeat(100) };
  assert.equal(recordBytesOver(null, value, ascii, 10 + 11 + 100), null);
  assert.equal(recordBytesOver(null, value, ascii, 10 + 11 + 99), 10 + 11 + 100);
});
