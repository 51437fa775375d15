// Confluent's own client for Node (@kafkajs/confluent-schema-registry) against the registry over HTTP, unchanged:
// registering, encoding and decoding in the wire format, and a compatibility refusal.

import assert from "node:assert/strict";
import { test } from "node:test";

import { SchemaRegistry as ConfluentClient, SchemaType } from "@kafkajs/confluent-schema-registry";

import { startRegistry } from "../../src/registry/index.js";
import { sharedPgliteSnapshot } from "../store/harness.js";
import { openDatabase } from "../../src/store/index.js";

const ORDER = {
  type: "record",
  name: "OrderPlaced",
  namespace: "shop",
  fields: [
    { name: "orderId", type: "string" },
    { name: "quantity", type: "int" },
  ],
};

test("Confluent's client registers, encodes, decodes and is refused an incompatible schema", async (t) => {
  const database = await openDatabase({ pgliteSnapshot: await sharedPgliteSnapshot(), migrate: false });
  const running = await startRegistry({ port: 0, database });
  t.after(async () => {
    await running.close();
    await database.close();
  });
  const client = new ConfluentClient({ host: running.url });

  const { id } = await client.register(
    { type: SchemaType.AVRO, schema: JSON.stringify(ORDER) },
    { subject: "orders-value" },
  );
  assert.equal(id, 1);
  const again = await client.register(
    { type: SchemaType.AVRO, schema: JSON.stringify(ORDER) },
    { subject: "orders-value" },
  );
  assert.equal(again.id, id);
  assert.equal(await client.getLatestSchemaId("orders-value"), id);
  assert.equal(await client.getRegistryId("orders-value", 1), id);

  const encoded = await client.encode(id, { orderId: "o-1", quantity: 3 });
  assert.equal(encoded[0], 0, "magic byte");
  assert.equal(encoded.readInt32BE(1), id, "schema id");
  // A fresh client, with nothing cached, fetches the schema by id to decode.
  const reader = new ConfluentClient({ host: running.url });
  assert.deepEqual({ ...(await reader.decode(encoded)) }, { orderId: "o-1", quantity: 3 });

  const incompatible = { ...ORDER, fields: [...ORDER.fields, { name: "total", type: "long" }] };
  await assert.rejects(
    client.register({ type: SchemaType.AVRO, schema: JSON.stringify(incompatible) }, { subject: "orders-value" }),
    (error: Error) => /incompatible/i.test(error.message),
  );

  const jsonSchema = { type: "object", properties: { sku: { type: "string" } }, required: ["sku"] };
  const json = await client.register(
    { type: SchemaType.JSON, schema: JSON.stringify(jsonSchema) },
    { subject: "skus-value" },
  );
  const jsonEncoded = await client.encode(json.id, { sku: "A-1" });
  assert.deepEqual(await reader.decode(jsonEncoded), { sku: "A-1" });
});
