// The registry's REST API through Fastify's inject: every endpoint, its answers and Confluent's error codes.

import assert from "node:assert/strict";
import { after, test } from "node:test";

import { avroRecord, call, closeSharedDatabase, CONTENT_TYPE, registryAppForTest } from "./harness.js";

after(closeSharedDatabase);

const ORDER_V1 = avroRecord("Order", [{ name: "id", type: "string" }]);
const ORDER_V2 = avroRecord("Order", [
  { name: "id", type: "string" },
  { name: "note", type: "string", default: "" },
]);
const ORDER_NO_DEFAULT = avroRecord("Order", [
  { name: "id", type: "string" },
  { name: "total", type: "long" },
]);

test("registering gives ids, the same schema keeps its id, and versions count up per subject", async (t) => {
  const { app } = await registryAppForTest(t);
  const first = await call(app, "POST", "/subjects/orders-value/versions", { schema: ORDER_V1 });
  assert.equal(first.status, 200);
  assert.equal(first.contentType, CONTENT_TYPE);
  assert.deepEqual(first.body, { id: 1 });
  // The same schema with other white space is the same schema.
  const again = await call(app, "POST", "/subjects/orders-value/versions", {
    schema: JSON.stringify(JSON.parse(ORDER_V1), null, 2),
  });
  assert.deepEqual(again.body, { id: 1 });
  const elsewhere = await call(app, "POST", "/subjects/other-value/versions", { schema: ORDER_V1 });
  assert.deepEqual(elsewhere.body, { id: 1 }, "one id across subjects");
  const second = await call(app, "POST", "/subjects/orders-value/versions", { schema: ORDER_V2 });
  assert.deepEqual(second.body, { id: 2 });

  assert.deepEqual((await call(app, "GET", "/subjects/orders-value/versions")).body, [1, 2]);
  assert.deepEqual((await call(app, "GET", "/subjects")).body, ["orders-value", "other-value"]);
  assert.deepEqual((await call(app, "GET", "/subjects?subjectPrefix=oth")).body, ["other-value"]);
  const latest = await call(app, "GET", "/subjects/orders-value/versions/latest");
  assert.deepEqual(latest.body, {
    subject: "orders-value",
    id: 2,
    version: 2,
    schema: JSON.stringify(JSON.parse(ORDER_V2)),
  });
  assert.deepEqual((await call(app, "GET", "/subjects/orders-value/versions/-1")).body, latest.body);
  assert.deepEqual((await call(app, "GET", "/subjects/orders-value/versions/1/schema")).body, JSON.parse(ORDER_V1));
  assert.deepEqual((await call(app, "GET", "/schemas/ids/1")).body, { schema: JSON.stringify(JSON.parse(ORDER_V1)) });
  assert.deepEqual((await call(app, "GET", "/schemas/ids/1?subject=other-value")).status, 200);
  assert.deepEqual((await call(app, "GET", "/schemas/ids/2?subject=other-value")).body, {
    error_code: 40403,
    message: "Schema 2 not found",
  });
  assert.deepEqual((await call(app, "GET", "/schemas/ids/1/versions")).body, [
    { subject: "orders-value", version: 1 },
    { subject: "other-value", version: 1 },
  ]);
  assert.deepEqual((await call(app, "GET", "/schemas/types")).body, ["AVRO", "JSON"]);
  assert.deepEqual((await call(app, "GET", "/")).body, {});

  const lookup = await call(app, "POST", "/subjects/orders-value", { schema: ORDER_V1 });
  assert.deepEqual(lookup.body, {
    subject: "orders-value",
    id: 1,
    version: 1,
    schema: JSON.stringify(JSON.parse(ORDER_V1)),
  });
  const missing = await call(app, "POST", "/subjects/orders-value", { schema: ORDER_NO_DEFAULT });
  assert.equal((missing.body as { error_code: number }).error_code, 40403);
});

test("compatibility: BACKWARD refuses a field without a default with 409, check answers is_compatible", async (t) => {
  const { app } = await registryAppForTest(t);
  await call(app, "POST", "/subjects/s/versions", { schema: ORDER_V1 });
  const refused = await call(app, "POST", "/subjects/s/versions", { schema: ORDER_NO_DEFAULT });
  assert.equal(refused.status, 409);
  assert.equal((refused.body as { error_code: number }).error_code, 409);
  assert.match((refused.body as { message: string }).message, /incompatible/);

  const check = await call(app, "POST", "/compatibility/subjects/s/versions/latest?verbose=true", {
    schema: ORDER_NO_DEFAULT,
  });
  assert.equal((check.body as { is_compatible: boolean }).is_compatible, false);
  assert.match(JSON.stringify((check.body as { messages: string[] }).messages), /total/);
  assert.deepEqual((await call(app, "POST", "/compatibility/subjects/s/versions/1", { schema: ORDER_V2 })).body, {
    is_compatible: true,
  });
  assert.deepEqual((await call(app, "POST", "/compatibility/subjects/s/versions", { schema: ORDER_V2 })).body, {
    is_compatible: true,
  });

  // FORWARD: old readers must read new data; removing a field without a default breaks them.
  assert.deepEqual((await call(app, "PUT", "/config/s", { compatibility: "FORWARD" })).body, {
    compatibility: "FORWARD",
  });
  assert.equal((await call(app, "POST", "/subjects/s/versions", { schema: ORDER_NO_DEFAULT })).status, 200);
  const dropped = avroRecord("Order", [{ name: "total", type: "long" }]);
  assert.equal((await call(app, "POST", "/subjects/s/versions", { schema: dropped })).status, 409);
  assert.deepEqual((await call(app, "PUT", "/config/s", { compatibility: "NONE" })).body, { compatibility: "NONE" });
  assert.equal((await call(app, "POST", "/subjects/s/versions", { schema: dropped })).status, 200);
});

test("transitive levels check every version, plain levels only the latest", async (t) => {
  const { app } = await registryAppForTest(t);
  const v1 = avroRecord("R", [{ name: "a", type: "int" }]);
  const v2 = avroRecord("R", [
    { name: "a", type: "int" },
    { name: "b", type: "int", default: 0 },
  ]);
  // v3 drops a (fine for BACKWARD against v2? reader v3 lacks a: ignored) and adds c with a default.
  const v3 = avroRecord("R", [{ name: "b", type: "int" }]);
  await call(app, "PUT", "/config", { compatibility: "BACKWARD" });
  await call(app, "POST", "/subjects/t/versions", { schema: v1 });
  await call(app, "POST", "/subjects/t/versions", { schema: v2 });
  // Against v2 alone, v3 reads b; against v1, b has no default in v3, so v1's data cannot be read.
  assert.deepEqual((await call(app, "POST", "/compatibility/subjects/t/versions/latest", { schema: v3 })).body, {
    is_compatible: true,
  });
  await call(app, "PUT", "/config/t", { compatibility: "BACKWARD_TRANSITIVE" });
  assert.equal((await call(app, "POST", "/subjects/t/versions", { schema: v3 })).status, 409);
  await call(app, "PUT", "/config/t", { compatibility: "FULL_TRANSITIVE" });
  assert.equal((await call(app, "POST", "/subjects/t/versions", { schema: v3 })).status, 409);
  await call(app, "PUT", "/config/t", { compatibility: "BACKWARD" });
  assert.equal((await call(app, "POST", "/subjects/t/versions", { schema: v3 })).status, 200);
});

test("Avro resolution rules: promotions, enum symbols, unions and aliases", async (t) => {
  const { app } = await registryAppForTest(t);
  const check = async (subject: string, before: object, after: object, level = "BACKWARD") => {
    await call(app, "PUT", `/config/${subject}`, { compatibility: level });
    await call(app, "POST", `/subjects/${subject}/versions`, { schema: JSON.stringify(before) });
    const answer = await call(app, "POST", `/compatibility/subjects/${subject}/versions/latest`, {
      schema: JSON.stringify(after),
    });
    return (answer.body as { is_compatible: boolean }).is_compatible;
  };
  const record = (fields: object[], extra: object = {}) => ({ type: "record", name: "R", fields, ...extra });
  assert.equal(await check("p1", record([{ name: "a", type: "int" }]), record([{ name: "a", type: "long" }])), true);
  assert.equal(await check("p2", record([{ name: "a", type: "long" }]), record([{ name: "a", type: "int" }])), false);
  const e = (symbols: string[]) => ({ type: "enum", name: "E", symbols });
  assert.equal(await check("e1", e(["A"]), e(["A", "B"])), true);
  assert.equal(await check("e2", e(["A", "B"]), e(["A"])), false);
  assert.equal(
    await check("u1", record([{ name: "a", type: "int" }]), record([{ name: "a", type: ["null", "int"] }])),
    true,
  );
  assert.equal(
    await check("u2", record([{ name: "a", type: ["null", "int"] }]), record([{ name: "a", type: "int" }])),
    false,
  );
  assert.equal(
    await check("al", record([{ name: "a", type: "int" }]), record([{ name: "b", type: "int", aliases: ["a"] }])),
    true,
  );
  assert.equal(await check("f1", e(["A"]), e(["A", "B"]), "FULL"), false);
});

test("JSON Schema: types, properties in open and closed content models, required", async (t) => {
  const { app } = await registryAppForTest(t);
  const json = (schema: object) => ({ schema: JSON.stringify(schema), schemaType: "JSON" });
  const closed = {
    type: "object",
    properties: { id: { type: "string" } },
    required: ["id"],
    additionalProperties: false,
  };
  const first = await call(app, "POST", "/subjects/j/versions", json(closed));
  assert.deepEqual(first.body, { id: 1 });
  const fetched = await call(app, "GET", "/schemas/ids/1");
  assert.deepEqual(fetched.body, { schema: JSON.stringify(closed), schemaType: "JSON" });
  // Adding an optional property to a closed model is backward compatible.
  const added = { ...closed, properties: { ...closed.properties, note: { type: "string" } } };
  assert.equal((await call(app, "POST", "/subjects/j/versions", json(added))).status, 200);
  // Making it required is not: old documents lack it.
  assert.equal(
    (await call(app, "POST", "/subjects/j/versions", json({ ...added, required: ["id", "note"] }))).status,
    409,
  );
  // Narrowing a type is not.
  const narrowed = { ...added, properties: { id: { type: "integer" }, note: { type: "string" } } };
  assert.equal((await call(app, "POST", "/subjects/j/versions", json(narrowed))).status, 409);
  // Widening integer to number is.
  await call(app, "POST", "/subjects/n/versions", json({ type: "integer" }));
  assert.equal((await call(app, "POST", "/subjects/n/versions", json({ type: "number" }))).status, 200);
  // Adding a property to an open content model is not (the old writer could have put anything there).
  await call(app, "POST", "/subjects/o/versions", json({ type: "object", properties: {} }));
  const open = await call(
    app,
    "POST",
    "/compatibility/subjects/o/versions/latest?verbose=true",
    json({ type: "object", properties: { x: { type: "string" } } }),
  );
  assert.equal((open.body as { is_compatible: boolean }).is_compatible, false);
  const invalid = await call(app, "POST", "/subjects/bad/versions", json({ type: "no-such-type" }));
  assert.equal((invalid.body as { error_code: number }).error_code, 42201);
});

test("references: an Avro schema using a type registered under another subject", async (t) => {
  const { app } = await registryAppForTest(t);
  const line = JSON.stringify({
    type: "record",
    name: "Line",
    namespace: "shop",
    fields: [{ name: "sku", type: "string" }],
  });
  await call(app, "POST", "/subjects/line/versions", { schema: line });
  const order = JSON.stringify({
    type: "record",
    name: "Order",
    namespace: "shop",
    fields: [{ name: "lines", type: { type: "array", items: "shop.Line" } }],
  });
  const references = [{ name: "shop.Line", subject: "line", version: 1 }];
  const registered = await call(app, "POST", "/subjects/order/versions", { schema: order, references });
  assert.deepEqual(registered.body, { id: 2 });
  assert.deepEqual((await call(app, "GET", "/schemas/ids/2")).body, { schema: order, references });
  assert.deepEqual((await call(app, "GET", "/subjects/line/versions/1/referencedby")).body, [2]);
  const without = await call(app, "POST", "/subjects/order2/versions", { schema: order });
  assert.equal((without.body as { error_code: number }).error_code, 42201);
  const dangling = await call(app, "POST", "/subjects/order3/versions", {
    schema: order,
    references: [{ name: "shop.Line", subject: "line", version: 9 }],
  });
  assert.equal((dangling.body as { error_code: number }).error_code, 42201);
});

test("normalize makes equivalent schemas one", async (t) => {
  const { app } = await registryAppForTest(t);
  const a = JSON.stringify({ type: "record", name: "N", fields: [{ name: "x", type: { type: "int" } }] });
  const b = JSON.stringify({ fields: [{ type: "int", name: "x" }], name: "N", type: "record" });
  const first = await call(app, "POST", "/subjects/n/versions?normalize=true", { schema: a });
  const second = await call(app, "POST", "/subjects/n/versions", { schema: b, normalize: true });
  assert.deepEqual(second.body, first.body);
  assert.deepEqual((await call(app, "GET", "/subjects/n/versions")).body, [1]);
  const plain = await call(app, "POST", "/subjects/m/versions", { schema: b });
  assert.notDeepEqual(plain.body, first.body, "without normalize, the text decides");
  assert.equal((await call(app, "POST", "/subjects/m?normalize=true", { schema: a })).status, 200);
});

test("soft delete hides versions, permanent delete needs a soft delete first", async (t) => {
  const { app } = await registryAppForTest(t);
  await call(app, "POST", "/subjects/d/versions", { schema: ORDER_V1 });
  await call(app, "POST", "/subjects/d/versions", { schema: ORDER_V2 });
  const permanentFirst = await call(app, "DELETE", "/subjects/d/versions/1?permanent=true");
  assert.deepEqual(permanentFirst.body, {
    error_code: 40407,
    message: "Subject 'd' Version 1 was not deleted first before being permanently deleted",
  });
  assert.deepEqual((await call(app, "DELETE", "/subjects/d/versions/1")).body, 1);
  assert.equal(
    (await call(app, "DELETE", "/subjects/d/versions/1")).body &&
      (await call(app, "GET", "/subjects/d/versions/1")).status,
    404,
  );
  assert.deepEqual((await call(app, "GET", "/subjects/d/versions")).body, [2]);
  assert.deepEqual((await call(app, "GET", "/subjects/d/versions?deleted=true")).body, [1, 2]);
  assert.deepEqual((await call(app, "GET", "/subjects/d/versions/1?deleted=true")).status, 200);
  assert.deepEqual((await call(app, "DELETE", "/subjects/d/versions/1?permanent=true")).body, 1);
  assert.deepEqual((await call(app, "GET", "/subjects/d/versions?deleted=true")).body, [2]);

  assert.deepEqual((await call(app, "DELETE", "/subjects/d?permanent=true")).body, {
    error_code: 40405,
    message: "Subject 'd' was not deleted first before being permanently deleted",
  });
  assert.deepEqual((await call(app, "DELETE", "/subjects/d")).body, [2]);
  assert.equal(((await call(app, "DELETE", "/subjects/d")).body as { error_code: number }).error_code, 40404);
  assert.deepEqual((await call(app, "GET", "/subjects")).body, []);
  assert.deepEqual((await call(app, "GET", "/subjects?deleted=true")).body, ["d"]);
  assert.deepEqual((await call(app, "DELETE", "/subjects/d?permanent=true")).body, [2]);
  assert.deepEqual((await call(app, "GET", "/subjects?deleted=true")).body, []);
  // The schema keeps its id after its subject is gone.
  assert.equal((await call(app, "GET", "/schemas/ids/2")).status, 200);
  // Registering again after a permanent delete starts the subject at version 1 with the old id.
  assert.deepEqual((await call(app, "POST", "/subjects/d/versions", { schema: ORDER_V2 })).body, { id: 2 });
  assert.deepEqual((await call(app, "GET", "/subjects/d/versions")).body, [1]);
});

test("config and mode", async (t) => {
  const { app } = await registryAppForTest(t);
  assert.deepEqual((await call(app, "GET", "/config")).body, { compatibilityLevel: "BACKWARD" });
  assert.deepEqual((await call(app, "PUT", "/config", { compatibility: "FULL" })).body, { compatibility: "FULL" });
  assert.deepEqual((await call(app, "GET", "/config")).body, { compatibilityLevel: "FULL" });
  assert.deepEqual((await call(app, "GET", "/config/x")).body, {
    error_code: 40408,
    message: "Subject 'x' does not have subject-level compatibility configured",
  });
  assert.deepEqual((await call(app, "GET", "/config/x?defaultToGlobal=true")).body, { compatibilityLevel: "FULL" });
  await call(app, "PUT", "/config/x", { compatibility: "NONE" });
  assert.deepEqual((await call(app, "GET", "/config/x")).body, { compatibilityLevel: "NONE" });
  assert.deepEqual((await call(app, "DELETE", "/config/x")).body, { compatibilityLevel: "NONE" });
  assert.equal(((await call(app, "GET", "/config/x")).body as { error_code: number }).error_code, 40408);
  assert.deepEqual((await call(app, "DELETE", "/config")).body, { compatibilityLevel: "FULL" });
  assert.deepEqual((await call(app, "GET", "/config")).body, { compatibilityLevel: "BACKWARD" });
  const badLevel = await call(app, "PUT", "/config", { compatibility: "SIDEWAYS" });
  assert.equal(badLevel.status, 422);
  assert.equal((badLevel.body as { error_code: number }).error_code, 42203);

  assert.deepEqual((await call(app, "GET", "/mode")).body, { mode: "READWRITE" });
  assert.deepEqual((await call(app, "PUT", "/mode", { mode: "READONLY" })).body, { mode: "READONLY" });
  const refused = await call(app, "POST", "/subjects/r/versions", { schema: ORDER_V1 });
  assert.equal((refused.body as { error_code: number }).error_code, 42205);
  assert.equal(
    ((await call(app, "PUT", "/mode", { mode: "SLEEPY" })).body as { error_code: number }).error_code,
    42204,
  );
  await call(app, "PUT", "/mode", { mode: "READWRITE" });
  assert.equal((await call(app, "POST", "/subjects/r/versions", { schema: ORDER_V1 })).status, 200);
});

test("errors: not found codes, bad versions, bad JSON, unknown fields, oversized schemas and bodies", async (t) => {
  const { app } = await registryAppForTest(t, { schemaBytesMax: 2048, subjectsMax: 2, versionsPerSubjectMax: 2 });
  const codeOf = async (method: "GET" | "POST" | "PUT" | "DELETE", url: string, body?: unknown) => {
    const answer = await call(app, method, url, body);
    const errorCode = (answer.body as { error_code: number }).error_code;
    assert.equal(answer.status, Number(String(errorCode).slice(0, 3)), `${url}: status follows error_code`);
    return errorCode;
  };
  assert.equal(await codeOf("GET", "/subjects/none/versions"), 40401);
  assert.equal(await codeOf("GET", "/subjects/none/versions/1"), 40401);
  assert.equal(await codeOf("GET", "/schemas/ids/99"), 40403);
  assert.equal(await codeOf("GET", "/schemas/ids/abc"), 40403);
  await call(app, "POST", "/subjects/a/versions", { schema: ORDER_V1 });
  assert.equal(await codeOf("GET", "/subjects/a/versions/7"), 40402);
  assert.equal(await codeOf("GET", "/subjects/a/versions/0"), 42202);
  assert.equal(await codeOf("GET", "/subjects/a/versions/first"), 42202);
  assert.equal(await codeOf("POST", "/subjects/a/versions", "{not json"), 400);
  assert.equal(await codeOf("POST", "/subjects/a/versions", { schema: ORDER_V1, colour: "red" }), 422);
  assert.equal(await codeOf("POST", "/subjects/a/versions", { schema: "{" }), 42201);
  assert.equal(await codeOf("POST", "/subjects/a/versions", { schema: '{"type":"record"}' }), 42201);
  assert.equal(await codeOf("POST", "/subjects/a/versions", { schema: ORDER_V1, schemaType: "PROTOBUF" }), 42201);
  assert.equal(await codeOf("POST", "/subjects/a/versions", {}), 42201);
  assert.equal(await codeOf("POST", "/subjects/a/versions", [1]), 422);
  const big = avroRecord("Big", [{ name: "a", type: "string", doc: "x".repeat(3000) }]);
  assert.equal(await codeOf("POST", "/subjects/a/versions", { schema: big }), 42201);
  assert.equal(await codeOf("POST", "/subjects/a/versions", { schema: "x".repeat(200_000) }), 413);
  assert.equal(await codeOf("GET", "/no/such/path"), 404);
  // Limits: versions per subject, then subjects.
  await call(app, "POST", "/subjects/a/versions", { schema: ORDER_V2 });
  const third = avroRecord("Order", [
    { name: "id", type: "string" },
    { name: "n", type: "int", default: 0 },
  ]);
  assert.equal(await codeOf("POST", "/subjects/a/versions", { schema: third }), 42209);
  await call(app, "POST", "/subjects/b/versions", { schema: ORDER_V1 });
  assert.equal(await codeOf("POST", "/subjects/c/versions", { schema: ORDER_V1 }), 42209);
  // Plain JSON and no content type are accepted too.
  const plain = await app.inject({
    method: "POST",
    url: "/subjects/a",
    headers: { "content-type": "application/json" },
    payload: JSON.stringify({ schema: ORDER_V1 }),
  });
  assert.equal(plain.statusCode, 200);
});
