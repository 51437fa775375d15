// Serializers that speak Confluent's wire format through a schema registry: a magic byte 0, the schema id as a
// 4-byte big-endian integer, then the payload (Avro binary, or JSON text for JSON Schema). Any Confluent-compatible
// consumer reads what they write, and they read what Confluent's serializers write. The schema is registered on the
// first produce (auto-register, Confluent's default) or the subject's latest version is used; decoding fetches the
// writer's schema by id, once, and reads with the topic's own schema (Avro schema resolution).

import avro from "avsc";

import { EventDecodeError, EventEncodeError, InvalidArgumentError } from "./errors.js";
import {
  createSchemaRegistryClient,
  type RegistrySchemaType,
  type SchemaRegistryClient,
  type SchemaRegistryClientOptions,
} from "./schema-registry-client.js";
import type { Serializer, TopicDefinition } from "./topic.js";

export const WIRE_MAGIC_BYTE = 0;
export const WIRE_HEADER_BYTES = 5;
export const AVRO_CONTENT_TYPE = "application/vnd.sluice.avro";
export const JSON_SCHEMA_CONTENT_TYPE = "application/vnd.sluice.json-schema";

/** How the subject of a topic's values is named (Confluent's TopicNameStrategy, RecordNameStrategy, …). */
export type SubjectNaming = "topic" | "record" | "topic-record";

export interface RegistrySerializerOptions {
  /** A client, or the options to make one (the registry's URL). */
  registry: SchemaRegistryClient | SchemaRegistryClientOptions;
  /** Default "topic": `<topic>-value`. "record": the record's full name; "topic-record": `<topic>-<record name>`. */
  subjectNaming?: SubjectNaming;
  /** Register the schema on first produce (default), or use the subject's latest version as it is. */
  autoRegister?: boolean;
}

export function subjectFor(naming: SubjectNaming, topic: string, recordName: string | null): string {
  if (naming === "topic") return `${topic}-value`;
  if (recordName === null)
    throw new InvalidArgumentError("subjectNaming", `${naming} naming needs a named record schema`);
  return naming === "record" ? recordName : `${topic}-${recordName}`;
}

function clientOf(registry: RegistrySerializerOptions["registry"]): SchemaRegistryClient {
  return "register" in registry ? registry : createSchemaRegistryClient(registry);
}

/** Reads the schema id of a record in the wire format; throws EventDecodeError for anything else. */
export function wireSchemaId(topic: string, bytes: Buffer): number {
  if (bytes.length < WIRE_HEADER_BYTES) {
    throw new EventDecodeError(topic, `the value is ${bytes.length} bytes, shorter than the wire format's header`);
  }
  if (bytes[0] !== WIRE_MAGIC_BYTE) {
    throw new EventDecodeError(topic, `the value starts with byte ${bytes[0]}, not the wire format's magic byte 0`);
  }
  return bytes.readInt32BE(1);
}

function writeHeader(target: Buffer, id: number): void {
  target[0] = WIRE_MAGIC_BYTE;
  target.writeInt32BE(id, 1);
}

/**
 * The scratch buffer Avro values are encoded into before they are copied out at their exact size: encoding into a
 * buffer of its own and then prefixing the header cost two allocations and two copies per event, and avsc's
 * toBuffer a third (profiled in bench:registry). It grows up to AVRO_SCRATCH_BYTES_MAX; a larger value gets a
 * buffer of its own, so one huge event does not keep a huge buffer alive.
 */
export const AVRO_SCRATCH_BYTES_MAX = 1024 * 1024;
const AVRO_SCRATCH_BYTES_INITIAL = 16 * 1024;
let avroScratch = Buffer.allocUnsafe(AVRO_SCRATCH_BYTES_INITIAL);

/** The value in the wire format: the header, then its Avro encoding. */
function encodeAvroWire(type: avro.Type, id: number, value: unknown): Buffer {
  let target = avroScratch;
  let end = type.encode(value, target, WIRE_HEADER_BYTES);
  if (end < 0) {
    // avsc answers how many bytes it lacked, as a negative number.
    const needed = target.length - end;
    target = Buffer.allocUnsafe(Math.max(needed, target.length * 2));
    if (target.length <= AVRO_SCRATCH_BYTES_MAX) avroScratch = target;
    end = type.encode(value, target, WIRE_HEADER_BYTES);
  }
  writeHeader(target, id);
  const bytes = Buffer.allocUnsafe(end);
  target.copy(bytes, 0, 0, end);
  return bytes;
}

interface Registration {
  subject: string;
  schemaType: RegistrySchemaType;
  schema: string;
}

/** Shared by both formats: the writer id per topic, and what decoding needs per writer id. */
function registryBacked<W>(
  options: RegistrySerializerOptions,
  contentType: string,
  registration: (topic: TopicDefinition<unknown>) => Registration,
  readerFor: (topic: TopicDefinition<unknown>, writerSchema: string, schemaType: RegistrySchemaType) => W,
  /** The value in the wire format, header and payload, for the writer schema id. */
  encodeWire: (topic: TopicDefinition<unknown>, id: number, value: unknown) => Buffer,
  decodePayload: (topic: TopicDefinition<unknown>, reader: W, payload: Buffer) => unknown,
): Serializer {
  const client = clientOf(options.registry);
  const writerIds = new Map<string, number>();
  // Readers by topic, then writer id; bounded by the client's cache of schemas, which they are built from. Two
  // levels rather than one key made of both, which cost a string per decoded event.
  const readers = new Map<string, Map<number, W>>();
  return {
    contentType,
    async prepare(topic) {
      if (writerIds.has(topic.name)) return;
      const { subject, schemaType, schema } = registration(topic);
      const id =
        options.autoRegister === false
          ? (await client.latest(subject)).id
          : await client.register(subject, { schemaType, schema });
      writerIds.set(topic.name, id);
    },
    async prepareDecode(topic, bytes) {
      if (bytes.length < WIRE_HEADER_BYTES || bytes[0] !== WIRE_MAGIC_BYTE) return;
      const id = bytes.readInt32BE(1);
      if (readers.get(topic.name)?.has(id) === true) return;
      const writer = await client.schemaById(id);
      const reader = readerFor(topic, writer.schema, writer.schemaType);
      let ofTopic = readers.get(topic.name);
      if (ofTopic === undefined) readers.set(topic.name, (ofTopic = new Map()));
      ofTopic.set(id, reader);
    },
    encode(topic, value) {
      const id = writerIds.get(topic.name);
      if (id === undefined) {
        throw new EventEncodeError(topic.name, "the schema is not registered yet (the serializer was not prepared)");
      }
      return encodeWire(topic, id, value);
    },
    decode(topic, bytes) {
      const id = wireSchemaId(topic.name, bytes);
      const reader = readers.get(topic.name)?.get(id);
      if (reader === undefined) {
        throw new EventDecodeError(topic.name, `schema id ${id} is unknown to the schema registry at ${client.url}`);
      }
      return decodePayload(topic, reader, bytes.subarray(WIRE_HEADER_BYTES));
    },
  };
}

type AvroResolver = ReturnType<avro.Type["createResolver"]>;

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Avro in the wire format. `schema` is the parsed .avsc (or its text); values are encoded with it, and records
 * written with any compatible schema are read into its shape.
 */
export function avroSerializer(schema: object | string, options: RegistrySerializerOptions): Serializer {
  const schemaObject = typeof schema === "string" ? (JSON.parse(schema) as object) : schema;
  const type = avro.Type.forSchema(schemaObject as avro.Schema, { wrapUnions: "auto", omitRecordMethods: true });
  const schemaText = JSON.stringify(schemaObject);
  const naming = options.subjectNaming ?? "topic";
  return registryBacked<{ resolver: AvroResolver } | null>(
    options,
    AVRO_CONTENT_TYPE,
    (topic) => ({ subject: subjectFor(naming, topic.name, type.name ?? null), schemaType: "AVRO", schema: schemaText }),
    (topic, writerSchema, schemaType) => {
      if (schemaType !== "AVRO") throw new EventDecodeError(topic.name, `its schema is ${schemaType}, not Avro`);
      const writer = avro.Type.forSchema(JSON.parse(writerSchema) as avro.Schema, { wrapUnions: "auto" });
      if (writer.equals(type)) return null;
      return { resolver: type.createResolver(writer) };
    },
    (topic, id, value) => {
      try {
        return encodeAvroWire(type, id, value);
      } catch (error) {
        throw new EventEncodeError(topic.name, `the value does not fit the Avro schema: ${reasonOf(error)}`, error);
      }
    },
    (topic, reader, payload) => {
      try {
        return type.fromBuffer(payload, reader?.resolver);
      } catch (error) {
        throw new EventDecodeError(topic.name, `the Avro payload cannot be read: ${reasonOf(error)}`, error);
      }
    },
  );
}

/**
 * JSON Schema in the wire format: the topic's own schema (a TypeBox schema is a JSON Schema) is registered, and
 * values travel as JSON text; the topic validates them as usual.
 */
export function jsonSchemaSerializer(options: RegistrySerializerOptions): Serializer {
  const naming = options.subjectNaming ?? "topic";
  return registryBacked<true>(
    options,
    JSON_SCHEMA_CONTENT_TYPE,
    (topic) => {
      const title = (topic.schema as { title?: unknown }).title;
      return {
        subject: subjectFor(naming, topic.name, typeof title === "string" ? title : null),
        schemaType: "JSON",
        schema: JSON.stringify(topic.schema),
      };
    },
    (topic, _writerSchema, schemaType) => {
      if (schemaType !== "JSON") throw new EventDecodeError(topic.name, `its schema is ${schemaType}, not JSON Schema`);
      return true;
    },
    (topic, id, value) => {
      const text = JSON.stringify(value);
      if (text === undefined) throw new EventEncodeError(topic.name, `${typeof value} has no JSON form`);
      const bytes = Buffer.allocUnsafe(WIRE_HEADER_BYTES + Buffer.byteLength(text, "utf8"));
      writeHeader(bytes, id);
      bytes.write(text, WIRE_HEADER_BYTES, "utf8");
      return bytes;
    },
    (topic, _reader, payload) => {
      try {
        return JSON.parse(payload.toString("utf8")) as unknown;
      } catch (error) {
        throw new EventDecodeError(topic.name, `the payload is not JSON: ${reasonOf(error)}`, error);
      }
    },
  );
}
