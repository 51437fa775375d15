import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { decodeMessage, encodeMessage, isFlexible } from "../../../src/kafka/protocol/codec.js";
import * as messages from "../../../src/kafka/protocol/messages/index.js";
import { ProtocolDecodeError, Reader, Writer } from "../../../src/kafka/protocol/primitives.js";
import { inRange, type FieldSchema, type FieldType, type MessageSchema } from "../../../src/kafka/protocol/schema.js";

const schemas = Object.values(messages).filter(
  (value): value is MessageSchema => typeof value === "object" && value !== null && "fields" in value,
);

/** A small seeded generator (mulberry32), so a failure names the seed that replays it. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function valueFor(type: FieldType, version: number, nullable: boolean, next: () => number): unknown {
  if (nullable && next() < 0.2) return null;
  const int = (bits: number): number => Math.floor(next() * 2 ** bits) - 2 ** (bits - 1);
  switch (type.kind) {
    case "array":
      return Array.from({ length: Math.floor(next() * 3) }, () => valueFor(type.items, version, false, next));
    case "struct":
      return structFor(type.fields, version, next);
    case "primitive":
      switch (type.name) {
        case "int8":
          return int(8);
        case "int16":
          return int(16);
        case "uint16":
          return Math.floor(next() * 65536);
        case "int32":
          return int(32);
        case "uint32":
          return Math.floor(next() * 2 ** 32);
        case "int64":
          return Math.floor(next() * 2 ** 52) - 2 ** 51;
        case "float64":
          return next() * 1e6;
        case "bool":
          return next() < 0.5;
        case "string":
          return ["", "a", "topic-é", "x".repeat(Math.floor(next() * 40))][Math.floor(next() * 4)];
        case "bytes":
        case "records":
          return Buffer.from(Array.from({ length: Math.floor(next() * 16) }, () => Math.floor(next() * 256)));
        case "uuid":
          return Buffer.from(Array.from({ length: 16 }, () => Math.floor(next() * 256)));
      }
  }
}

function structFor(fields: readonly FieldSchema[], version: number, next: () => number): Record<string, unknown> {
  const value: Record<string, unknown> = {};
  for (const field of fields) {
    if (!inRange(field.versions, version)) continue;
    value[field.name] = valueFor(field.type, version, inRange(field.nullableVersions, version), next);
  }
  return value;
}

test("every declared message round-trips in every valid version", () => {
  let checked = 0;
  for (const schema of schemas) {
    const [min, max] = schema.validVersions;
    for (let version = min; version <= max; version++) {
      for (let seed = 1; seed <= 20; seed++) {
        const next = random(seed * 1000 + version);
        const value = structFor(schema.fields, version, next);
        const first = Buffer.from(encodeMessage(schema, version, value).finish());
        const reader = new Reader(first);
        const decoded = decodeMessage<Record<string, unknown>>(schema, version, reader);
        assert.equal(reader.remaining, 0, `${schema.name} v${version} seed ${seed}: decoder left bytes`);
        const second = Buffer.from(encodeMessage(schema, version, decoded).finish());
        assert.deepEqual(second, first, `${schema.name} v${version} seed ${seed}: re-encoding differs`);
        checked++;
      }
    }
  }
  assert.ok(checked > 1000, `expected many round trips, did ${checked}`);
});

test("flexible versions use compact strings and tagged fields", () => {
  const { ApiVersionsRequestSchema } = messages;
  assert.equal(isFlexible(ApiVersionsRequestSchema, 2), false);
  assert.equal(isFlexible(ApiVersionsRequestSchema, 3), true);
  const bytes = encodeMessage(ApiVersionsRequestSchema, 3, {
    clientSoftwareName: "ab",
    clientSoftwareVersion: "1",
  }).finish();
  // Compact strings carry length + 1 as an unsigned varint; the struct ends with an empty tagged-field section.
  assert.deepEqual([...bytes], [3, 0x61, 0x62, 2, 0x31, 0]);
});

test("tagged fields round-trip and unknown tags are skipped", () => {
  const { ApiVersionsResponseSchema } = messages;
  const value = {
    errorCode: 0,
    apiKeys: [{ apiKey: 18, minVersion: 0, maxVersion: 3 }],
    throttleTimeMs: 0,
    finalizedFeaturesEpoch: 7,
    zkMigrationReady: true,
  };
  const bytes = Buffer.from(encodeMessage(ApiVersionsResponseSchema, 3, value).finish());
  const decoded = decodeMessage<typeof value>(ApiVersionsResponseSchema, 3, new Reader(bytes));
  assert.equal(decoded.finalizedFeaturesEpoch, 7);
  assert.equal(decoded.zkMigrationReady, true);
  // Splice an unknown tag (99, 2 bytes) into the top-level tagged section: the decoder must step over it.
  const withUnknown = Buffer.from(bytes);
  const tagCountAt = withUnknown.length - 1 - (1 + 1 + 8) - (1 + 1 + 1);
  assert.equal(withUnknown[tagCountAt], 2);
  const patched = Buffer.concat([
    withUnknown.subarray(0, tagCountAt),
    Buffer.from([3]),
    withUnknown.subarray(tagCountAt + 1),
    Buffer.from([99, 2, 0xaa, 0xbb]),
  ]);
  const again = decodeMessage<typeof value>(ApiVersionsResponseSchema, 3, new Reader(patched));
  assert.equal(again.finalizedFeaturesEpoch, 7);
});

test("absent fields decode to their declared defaults", () => {
  const { MetadataRequestSchema } = messages;
  const bytes = Buffer.from(encodeMessage(MetadataRequestSchema, 1, { topics: null }).finish());
  const decoded = decodeMessage<{ allowAutoTopicCreation: boolean; topics: unknown }>(
    MetadataRequestSchema,
    1,
    new Reader(bytes),
  );
  assert.equal(decoded.topics, null);
  assert.equal(decoded.allowAutoTopicCreation, true);
});

test("truncated input throws ProtocolDecodeError, never reads out of bounds", () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: schemas.length - 1 }), fc.integer({ min: 1, max: 1000 }), (index, seed) => {
      const schema = schemas[index]!;
      const version = schema.validVersions[1];
      const bytes = Buffer.from(
        encodeMessage(schema, version, structFor(schema.fields, version, random(seed))).finish(),
      );
      for (let cut = 0; cut < bytes.length; cut++) {
        try {
          decodeMessage(schema, version, new Reader(bytes.subarray(0, cut)));
        } catch (error) {
          assert.ok(error instanceof ProtocolDecodeError, `${schema.name}: ${String(error)}`);
        }
      }
    }),
    { numRuns: 200, seed: 42 },
  );
});

test("varints and varlongs round-trip across their ranges", () => {
  fc.assert(
    fc.property(fc.integer(), fc.bigInt({ min: -(2n ** 53n), max: 2n ** 53n }), (int, long) => {
      const writer = new Writer(4);
      writer
        .varint(int)
        .varlong(Number(long))
        .uvarint(int >>> 0);
      const reader = new Reader(Buffer.from(writer.finish()));
      assert.equal(reader.varint(), int);
      assert.equal(reader.varlong(), Number(long));
      assert.equal(reader.uvarint(), int >>> 0);
    }),
    { seed: 7 },
  );
});

test("an array count larger than the remaining bytes is refused before allocating", () => {
  const writer = new Writer().int32(0x7fffffff);
  assert.throws(() => new Reader(Buffer.from(writer.finish())).arrayLength(false), ProtocolDecodeError);
});
