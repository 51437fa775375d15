// Typed topics: a topic is declared once, with its name, partition count, key and a schema for its values, and the
// TypeScript type of its events follows from that declaration.
//
// Schemas are TypeBox schemas. A TypeBox schema is a plain JSON Schema object (ready to hand to a schema registry
// later) that also carries its static type, so `Static<typeof schema>` is the event type without writing it twice;
// TypeBox's compiled checker validates values and reports the failing field as a JSON pointer. ajv would validate
// the same schemas, but it cannot infer the TypeScript type from them, so it would add a dependency for nothing.

import { Kind, KindGuard, type Static, type TSchema } from "@sinclair/typebox";
import { TypeCompiler, type TypeCheck } from "@sinclair/typebox/compiler";

import { EventValidationError, ToolkitError, ToolkitErrorCode } from "./errors.js";

export const TOPIC_NAME_PATTERN = /^[A-Za-z0-9._-]{1,249}$/;
export const DEFAULT_TOPIC_PARTITIONS = 1;
export const TOPIC_PARTITIONS_MAX = 10_000;
export const EVENT_TYPE_CHARS_MAX = 255;
/** Record keys are also the outbox's ordering key, which the store limits to the same size. */
export const EVENT_KEY_BYTES_MAX = 4096;
/** How deep the schema check walks; real event schemas are far shallower. */
const SCHEMA_DEPTH_MAX = 64;
/** TypeBox kinds whose values have no JSON form, and so cannot travel in a JSON event. */
const NON_JSON_KINDS = new Set([
  "AsyncIterator",
  "BigInt",
  "Constructor",
  "Date",
  "Function",
  "Iterator",
  "Promise",
  "RegExp",
  "Symbol",
  "Uint8Array",
  "Undefined",
  "Void",
]);

export interface TopicDefinition<T> {
  readonly name: string;
  readonly partitions: number;
  /** Sent in the sluice-event-type header; the topic name unless declared. */
  readonly eventType: string;
  /** The JSON Schema of event values. */
  readonly schema: object;
  /** The record key of a value: events with the same key go to the same partition, in order. */
  key(value: T): string | null;
  /** Returns the value typed when it matches the schema; throws EventValidationError naming the field otherwise. */
  validate(value: unknown): T;
  /** The serializer for this topic's values; JSON when absent. */
  readonly serializer?: Serializer;
}

/**
 * How event values become record bytes and back. It is declared here, beside the topic it serves, so that the
 * serializers (serializer.ts and its neighbours) depend on topics and never the other way round.
 */
export interface Serializer {
  /** Sent in the content-type header of every event, so consumers can tell formats apart. */
  readonly contentType: string;
  /** Turns a value that already passed the topic's schema into record bytes; throws EventEncodeError. */
  encode(topic: TopicDefinition<unknown>, value: unknown): Buffer;
  /** Turns record bytes into a value still to be validated against the topic's schema; throws EventDecodeError. */
  decode(topic: TopicDefinition<unknown>, bytes: Buffer): unknown;
  /**
   * Optional asynchronous set-up before the first encode or decode for a topic, such as registering its schema
   * with a registry. Publishers and consumers await it once per topic.
   */
  prepare?(topic: TopicDefinition<unknown>): Promise<void>;
  /**
   * Optional asynchronous step before decoding one record, such as fetching the writer's schema by the id in its
   * bytes. Consumers await it before decode; when it fails, decode reports why the record cannot be read.
   */
  prepareDecode?(topic: TopicDefinition<unknown>, bytes: Buffer): Promise<void>;
}

export interface DefineTopicOptions<S extends TSchema> {
  name: string;
  /** Partitions to create the topic with (see ensureTopics). */
  partitions?: number;
  schema: S;
  /** The record key of an event; events without a key spread over partitions with no order between them. */
  key?: (value: Static<S>) => string | null;
  eventType?: string;
  serializer?: Serializer;
}

/** The type of a topic's events: `EventOf<typeof orderPlaced>`. */
export type EventOf<Topic> = Topic extends TopicDefinition<infer T> ? T : never;

function definitionError(name: string, message: string): ToolkitError {
  return new ToolkitError(ToolkitErrorCode.TOPIC_DEFINITION_INVALID, `topic "${name}": ${message}`);
}

function checkJsonSchema(topic: string, schema: unknown, path: string, depth: number): void {
  if (depth > SCHEMA_DEPTH_MAX) throw definitionError(topic, `the schema is nested deeper than ${SCHEMA_DEPTH_MAX}`);
  if (Array.isArray(schema)) {
    schema.forEach((item, index) => checkJsonSchema(topic, item, `${path}[${index}]`, depth + 1));
    return;
  }
  if (typeof schema !== "object" || schema === null) return;
  const kind = (schema as Record<symbol, unknown>)[Kind];
  if (typeof kind === "string" && NON_JSON_KINDS.has(kind)) {
    throw definitionError(
      topic,
      `the schema uses Type.${kind}() at ${path === "" ? "the top" : path}, which has no JSON form; ` +
        "use JSON types (for a time, Type.String({ format: 'date-time' }) holding an ISO 8601 string)",
    );
  }
  for (const [property, value] of Object.entries(schema)) {
    checkJsonSchema(topic, value, path === "" ? property : `${path}.${property}`, depth + 1);
  }
}

/** Turns a JSON pointer from the validator ("/lines/2/sku") into a field path ("lines[2].sku"). */
export function fieldPathOf(pointer: string): string {
  if (pointer === "" || pointer === "/") return "(root)";
  let path = "";
  for (const raw of pointer.split("/").slice(1)) {
    const segment = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    if (/^(0|[1-9][0-9]*)$/.test(segment)) path += `[${segment}]`;
    else path += path === "" ? segment : `.${segment}`;
  }
  return path;
}

function checkKey(topic: string, key: unknown): string | null {
  if (key === null) return null;
  if (typeof key !== "string") {
    throw new EventValidationError(topic, "(key)", `the topic's key function returned ${typeof key}, not a string`);
  }
  const bytes = Buffer.byteLength(key, "utf8");
  if (bytes > EVENT_KEY_BYTES_MAX) {
    throw new EventValidationError(topic, "(key)", `the key takes ${bytes} bytes, over ${EVENT_KEY_BYTES_MAX}`);
  }
  return key;
}

export function defineTopic<S extends TSchema>(options: DefineTopicOptions<S>): TopicDefinition<Static<S>> {
  const name: unknown = options?.name;
  if (typeof name !== "string" || !TOPIC_NAME_PATTERN.test(name) || name === "." || name === "..") {
    throw new ToolkitError(
      ToolkitErrorCode.TOPIC_DEFINITION_INVALID,
      `topic name ${JSON.stringify(name)} is invalid; use 1 to 249 letters, digits, '.', '_' and '-'`,
    );
  }
  const partitions = options.partitions ?? DEFAULT_TOPIC_PARTITIONS;
  if (!Number.isInteger(partitions) || partitions < 1 || partitions > TOPIC_PARTITIONS_MAX) {
    throw definitionError(name, `partitions must be an integer from 1 to ${TOPIC_PARTITIONS_MAX}`);
  }
  const eventType = options.eventType ?? name;
  if (typeof eventType !== "string" || eventType.length < 1 || eventType.length > EVENT_TYPE_CHARS_MAX) {
    throw definitionError(name, `eventType must be 1 to ${EVENT_TYPE_CHARS_MAX} characters`);
  }
  if (!KindGuard.IsSchema(options.schema)) {
    throw definitionError(name, "schema must be a TypeBox schema, such as Type.Object({ … })");
  }
  if (options.key !== undefined && typeof options.key !== "function") {
    throw definitionError(name, "key must be a function from an event to a string or null");
  }
  checkJsonSchema(name, options.schema, "", 0);
  let check: TypeCheck<S>;
  try {
    check = TypeCompiler.Compile(options.schema);
  } catch (error) {
    throw new ToolkitError(
      ToolkitErrorCode.TOPIC_DEFINITION_INVALID,
      `topic "${name}": the schema cannot be compiled: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
  const keyOf = options.key;
  return Object.freeze({
    name,
    partitions,
    eventType,
    schema: options.schema,
    serializer: options.serializer,
    key(value: Static<S>): string | null {
      return keyOf === undefined ? null : checkKey(name, keyOf(value));
    },
    validate(value: unknown): Static<S> {
      if (check.Check(value)) return value;
      const first = check.Errors(value).First();
      if (first === undefined) throw new EventValidationError(name, "(root)", "the value does not match the schema");
      throw new EventValidationError(name, fieldPathOf(first.path), first.message);
    },
  });
}
