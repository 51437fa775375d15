// The toolkit's registry serializers against the real registry, and against Confluent's own client both ways: what
// one writes in the wire format, the other reads.

import assert from "node:assert/strict";
import { after, test } from "node:test";

import { SchemaRegistry as ConfluentClient, SchemaType } from "@kafkajs/confluent-schema-registry";
import { Type } from "@sinclair/typebox";

import { startRegistry, type RunningRegistry } from "../../src/registry/index.js";
import { openDatabase, type Database } from "../../src/store/index.js";
import {
  AVRO_SCRATCH_BYTES_MAX,
  defineAvroTopic,
  defineTopic,
  EventDecodeError,
  EventValidationError,
  jsonSchemaSerializer,
  serializerFor,
} from "../../src/toolkit/index.js";
import { sharedPgliteSnapshot } from "../store/harness.js";

const PLACED_V1 = {
  type: "record",
  name: "OrderPlaced",
  namespace: "shop",
  fields: [
    { name: "orderId", type: "string" },
    { name: "quantity", type: "int" },
  ],
};
const PLACED_V2 = { ...PLACED_V1, fields: [...PLACED_V1.fields, { name: "note", type: "string", default: "none" }] };

let running: RunningRegistry;
let database: Database;

async function registry(): Promise<RunningRegistry> {
  if (running === undefined) {
    database = await openDatabase({ pgliteSnapshot: await sharedPgliteSnapshot(), migrate: false });
    running = await startRegistry({ port: 0, database });
  }
  return running;
}

after(async () => {
  await running?.close();
  await database?.close();
});

test("Avro topics: encode registers once, decode reads old writers through schema resolution", async () => {
  const { url } = await registry();
  const v1 = defineAvroTopic<{ orderId: string; quantity: number }>({
    name: "serdes.placed",
    schema: PLACED_V1,
    registry: { url },
  });
  const v2 = defineAvroTopic<{ orderId: string; quantity: number; note: string }>({
    name: "serdes.placed",
    schema: PLACED_V2,
    registry: { url },
  });
  const writer = serializerFor(v1);
  await writer.prepare?.(v1);
  const bytes = writer.encode(v1, { orderId: "o-1", quantity: 2 });
  assert.equal(bytes[0], 0);
  assert.equal(bytes.readInt32BE(1), 1);

  // A reader on v2 (registered as version 2: BACKWARD compatible) reads v1's record with the default filled in.
  const reader = serializerFor(v2);
  await reader.prepare?.(v2);
  await reader.prepareDecode?.(v2, bytes);
  assert.deepEqual({ ...(reader.decode(v2, bytes) as object) }, { orderId: "o-1", quantity: 2, note: "none" });

  // Confluent's client reads ours, and we read theirs.
  const confluent = new ConfluentClient({ host: url });
  assert.deepEqual({ ...(await confluent.decode(bytes)) }, { orderId: "o-1", quantity: 2 });
  const theirs = await confluent.encode(2, { orderId: "o-2", quantity: 5, note: "gift" });
  await reader.prepareDecode?.(v2, theirs);
  assert.deepEqual({ ...(reader.decode(v2, theirs) as object) }, { orderId: "o-2", quantity: 5, note: "gift" });

  // Named errors, not crashes: a wrong magic byte, an unknown id, a payload that does not fit.
  assert.throws(() => reader.decode(v2, Buffer.from([1, 0, 0, 0, 1, 2])), EventDecodeError);
  const unknown = Buffer.from([0, 0, 0, 0, 99, 2]);
  await assert.rejects(reader.prepareDecode?.(v2, unknown) ?? Promise.reject(new Error("no prepareDecode")));
  assert.throws(() => reader.decode(v2, unknown), /schema id 99 is unknown/);
  assert.throws(() => reader.decode(v2, Buffer.from([0, 0, 0, 0, 1, 0xff])), EventDecodeError);
  assert.throws(() => v1.validate({ orderId: "o", quantity: "many" }), EventValidationError);
});

test("use-latest: a topic that does not register uses the subject's latest version", async () => {
  const { url } = await registry();
  const topic = defineAvroTopic({ name: "serdes.latest", schema: PLACED_V1, registry: { url }, autoRegister: false });
  await assert.rejects(serializerFor(topic).prepare?.(topic) ?? Promise.resolve(), /40401|not found/i);
  const confluent = new ConfluentClient({ host: url });
  const { id } = await confluent.register(
    { type: SchemaType.AVRO, schema: JSON.stringify(PLACED_V1) },
    { subject: "serdes.latest-value" },
  );
  await serializerFor(topic).prepare?.(topic);
  assert.equal(serializerFor(topic).encode(topic, { orderId: "x", quantity: 1 }).readInt32BE(1), id);
});

test("JSON Schema topics register their TypeBox schema and travel as JSON after the header", async () => {
  const { url } = await registry();
  const topic = defineTopic({
    name: "serdes.json",
    schema: Type.Object({ sku: Type.String() }),
    serializer: jsonSchemaSerializer({ registry: { url } }),
  });
  const serializer = serializerFor(topic);
  await serializer.prepare?.(topic);
  const bytes = serializer.encode(topic, { sku: "A-1" });
  const confluent = new ConfluentClient({ host: url });
  assert.deepEqual(await confluent.decode(bytes), { sku: "A-1" });
  await serializer.prepareDecode?.(topic, bytes);
  assert.deepEqual(serializer.decode(topic, bytes), { sku: "A-1" });
  const subjects = await (await fetch(`${url}/subjects`)).json();
  assert.ok((subjects as string[]).includes("serdes.json-value"));
});

test("Avro values of every size encode to buffers of their own and decode back, Confluent's client agreeing", async () => {
  const { url } = await registry();
  const schema = { type: "record", name: "Blob", namespace: "serdes", fields: [{ name: "text", type: "string" }] };
  const topic = defineAvroTopic<{ text: string }>({ name: "serdes.blob", schema, registry: { url } });
  const serializer = serializerFor(topic);
  await serializer.prepare?.(topic);
  const confluent = new ConfluentClient({ host: url });
  // Below the scratch buffer's first size, past it (it grows), and past its limit (a buffer of the value's own).
  const sizes = [10, 20_000, AVRO_SCRATCH_BYTES_MAX + 10_000, 30];
  const encoded = sizes.map((size, index) => serializer.encode(topic, { text: String(index).repeat(size) }));
  for (const [index, bytes] of encoded.entries()) {
    await serializer.prepareDecode?.(topic, bytes);
    const expected = String(index).repeat(sizes[index] as number);
    // Each earlier buffer still holds its own value after later encodes reused the scratch buffer.
    assert.equal((serializer.decode(topic, bytes) as { text: string }).text, expected);
    assert.equal(((await confluent.decode(bytes)) as { text: string }).text, expected);
  }
});
