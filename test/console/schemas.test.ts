// The console's schema views against Sluice's registry over its REST API, with Confluent's own client registering
// and encoding: subjects and versions, compatibility view, set and test, and Avro and JSON Schema wire-format values
// decoded in the messages view.

import assert from "node:assert/strict";
import { test } from "node:test";

import { SchemaRegistry as ConfluentClient, SchemaType } from "@kafkajs/confluent-schema-registry";

import { startRegistry } from "../../src/registry/index.js";
import { openDatabase } from "../../src/store/index.js";
import { api, consoleForTest } from "./harness.js";

const ORDER = {
  type: "record",
  name: "Order",
  namespace: "shop",
  fields: [
    { name: "orderId", type: "string" },
    { name: "quantity", type: "int" },
  ],
};

test("schemas: subjects, versions, compatibility, and wire-format values decoded", async (t) => {
  const database = await openDatabase({ migrate: false });
  const registry = await startRegistry({ port: 0, database });
  t.after(async () => {
    await registry.close();
    await database.close();
  });
  const scene = await consoleForTest(t, { registryUrl: registry.url });
  const confluent = new ConfluentClient({ host: registry.url });
  const v1 = await confluent.register(
    { type: SchemaType.AVRO, schema: JSON.stringify(ORDER) },
    { subject: "orders-value" },
  );
  const v2Schema = { ...ORDER, fields: [...ORDER.fields, { name: "note", type: ["null", "string"], default: null }] };
  const v2 = await confluent.register(
    { type: SchemaType.AVRO, schema: JSON.stringify(v2Schema) },
    { subject: "orders-value" },
  );
  const json = await confluent.register(
    { type: SchemaType.JSON, schema: JSON.stringify({ type: "object", properties: { sku: { type: "string" } } }) },
    { subject: "stock-value" },
  );

  const subjects = await api(scene, "GET", "/api/schemas");
  assert.equal(subjects.status, 200);
  assert.deepEqual(
    subjects.body.subjects.map((row: { subject: string; version: number; schemaType: string }) => [
      row.subject,
      row.version,
      row.schemaType,
    ]),
    [
      ["orders-value", 2, "AVRO"],
      ["stock-value", 1, "JSON"],
    ],
  );
  const detail = await api(scene, "GET", "/api/schemas/orders-value");
  assert.deepEqual(
    detail.body.versions.map((version: { version: number; id: number }) => [version.version, version.id]),
    [
      [1, v1.id],
      [2, v2.id],
    ],
  );
  assert.equal(JSON.parse(detail.body.versions[1].schema).fields.length, 3);
  assert.equal(
    detail.body.compatibility,
    subjects.body.compatibility,
    "a subject without a level of its own has the global",
  );
  assert.equal((await api(scene, "GET", "/api/schemas/nothing")).status, 404);

  const set = await api(scene, "PUT", "/api/schemas/orders-value/config", { compatibility: "FULL" });
  assert.equal(set.status, 200);
  const after = await api(scene, "GET", "/api/schemas/orders-value");
  assert.equal(after.body.compatibility, "FULL");
  assert.equal(
    (await api(scene, "PUT", "/api/schemas/orders-value/config", { compatibility: "SOMETIMES" })).body.field,
    "compatibility",
  );

  const breaking = { ...ORDER, fields: [...ORDER.fields, { name: "total", type: "long" }] };
  const tested = await api(scene, "POST", "/api/schemas/orders-value/compatibility", {
    schema: JSON.stringify(breaking),
  });
  assert.equal(tested.body.compatible, false);
  const fine = await api(scene, "POST", "/api/schemas/orders-value/compatibility", {
    schema: JSON.stringify(v2Schema),
  });
  assert.equal(fine.body.compatible, true);

  await scene.kafka.admin.createTopics([{ name: "orders", partitions: 1 }]);
  await scene.kafka.produce({
    topic: "orders",
    partition: 0,
    records: [
      { value: await confluent.encode(v2.id, { orderId: "o-7", quantity: 2, note: "gift" }) },
      { value: await confluent.encode(json.id, { sku: "A-1" }) },
    ],
  });
  const read = await api(scene, "GET", "/api/topics/orders/messages?partition=0&offset=0");
  const [avro, jsonValue] = read.body.messages as Array<{
    value: { encoding: string; text: string; schemaId: number };
  }>;
  assert.deepEqual([avro!.value.encoding, avro!.value.schemaId], ["avro", v2.id]);
  assert.deepEqual(JSON.parse(avro!.value.text), { orderId: "o-7", quantity: 2, note: "gift" });
  assert.deepEqual([jsonValue!.value.encoding, JSON.parse(jsonValue!.value.text)], ["json-schema", { sku: "A-1" }]);
});
