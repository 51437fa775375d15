// The one generic encoder/decoder for every declared Kafka message. A declaration is compiled once per version into
// a list of closures, so the per-message cost is a walk over precomputed steps, not a re-reading of the schema.

import { ProtocolDecodeError, Reader, Writer } from "./primitives.js";
import { inRange, type FieldSchema, type FieldType, type MessageSchema, type PrimitiveType } from "./schema.js";

type Encode = (writer: Writer, value: unknown) => void;
type Decode = (reader: Reader) => unknown;

interface CompiledStruct {
  encode: (writer: Writer, value: Record<string, unknown>) => void;
  decode: (reader: Reader) => Record<string, unknown>;
}

export interface CompiledMessage<T> {
  encode(writer: Writer, value: T): void;
  decode(reader: Reader): T;
}

const ZERO_UUID = Buffer.alloc(16);

function primitiveDefault(name: PrimitiveType, nullable: boolean): unknown {
  switch (name) {
    case "bool":
      return false;
    case "string":
      return nullable ? null : "";
    case "bytes":
      return nullable ? null : Buffer.alloc(0);
    case "records":
      return null;
    case "uuid":
      return ZERO_UUID;
    default:
      return 0;
  }
}

function defaultFor(field: FieldSchema, version: number): unknown {
  if (field.default !== undefined) return field.default;
  const nullable = inRange(field.nullableVersions, version);
  switch (field.type.kind) {
    case "primitive":
      return primitiveDefault(field.type.name, nullable);
    case "array":
      return nullable ? null : [];
    case "struct":
      return nullable ? null : defaultStruct(field.type.fields, version);
  }
}

function defaultStruct(fields: readonly FieldSchema[], version: number): Record<string, unknown> {
  const value: Record<string, unknown> = {};
  for (const field of fields) value[field.name] = defaultFor(field, version);
  return value;
}

function primitiveCodec(name: PrimitiveType, flexible: boolean, nullable: boolean): [Encode, Decode] {
  switch (name) {
    case "int8":
      return [(w, v) => w.int8(v as number), (r) => r.int8()];
    case "int16":
      return [(w, v) => w.int16(v as number), (r) => r.int16()];
    case "uint16":
      return [(w, v) => w.uint16(v as number), (r) => r.uint16()];
    case "int32":
      return [(w, v) => w.int32(v as number), (r) => r.int32()];
    case "uint32":
      return [(w, v) => w.uint32(v as number), (r) => r.uint32()];
    case "int64":
      return [(w, v) => w.int64(v as number), (r) => r.int64()];
    case "float64":
      return [(w, v) => w.float64(v as number), (r) => r.float64()];
    case "bool":
      return [(w, v) => w.bool(v as boolean), (r) => r.bool()];
    case "uuid":
      return [(w, v) => w.uuid(v as Buffer | null), (r) => r.uuid()];
    case "string":
      return [
        (w, v) => {
          if (v === null && !nullable) throw new TypeError("null given for a non-nullable string");
          w.string(v as string | null, flexible);
        },
        (r) => {
          const s = r.string(flexible);
          if (s === null && !nullable) throw new ProtocolDecodeError("null in a non-nullable string field");
          return s;
        },
      ];
    case "bytes":
    case "records":
      return [(w, v) => w.bytes(v as Uint8Array | null, flexible), (r) => r.bytes(flexible)];
  }
}

function typeCodec(type: FieldType, version: number, flexible: boolean, nullable: boolean): [Encode, Decode] {
  switch (type.kind) {
    case "primitive":
      return primitiveCodec(type.name, flexible, nullable);
    case "struct": {
      const struct = compileStruct(type.fields, version, flexible);
      if (!nullable) return [(w, v) => struct.encode(w, v as Record<string, unknown>), (r) => struct.decode(r)];
      return [
        (w, v) => {
          if (v === null || v === undefined) w.int8(-1);
          else {
            w.int8(1);
            struct.encode(w, v as Record<string, unknown>);
          }
        },
        (r) => (r.int8() < 0 ? null : struct.decode(r)),
      ];
    }
    case "array": {
      const [encodeItem, decodeItem] = typeCodec(type.items, version, flexible, false);
      return [
        (w, v) => {
          if (v === null || v === undefined) {
            if (!nullable && v === null) throw new TypeError("null given for a non-nullable array");
            w.arrayLength(nullable ? null : 0, flexible);
            return;
          }
          const items = v as unknown[];
          w.arrayLength(items.length, flexible);
          for (const item of items) encodeItem(w, item);
        },
        (r) => {
          const length = r.arrayLength(flexible);
          if (length === null) {
            if (!nullable) throw new ProtocolDecodeError("null in a non-nullable array field");
            return null;
          }
          const items = new Array<unknown>(length);
          for (let i = 0; i < length; i++) items[i] = decodeItem(r);
          return items;
        },
      ];
    }
  }
}

interface Step {
  name: string;
  encode: Encode;
  decode: Decode;
  fallback: () => unknown;
}

interface TaggedStep extends Step {
  tag: number;
}

function isDefaultValue(value: unknown, fallback: unknown): boolean {
  if (value === undefined || value === fallback) return true;
  if (Array.isArray(value)) return value.length === 0 && Array.isArray(fallback);
  if (Buffer.isBuffer(value) && Buffer.isBuffer(fallback)) return value.equals(fallback);
  return false;
}

function compileStruct(fields: readonly FieldSchema[], version: number, flexible: boolean): CompiledStruct {
  const steps: Step[] = [];
  const tagged: TaggedStep[] = [];
  const absent: Array<{ name: string; fallback: () => unknown }> = [];

  for (const field of fields) {
    const fallbackValue = defaultFor(field, version);
    // Arrays and structs are rebuilt per message so that callers may mutate what they decode.
    const fallback = field.type.kind === "primitive" ? () => fallbackValue : () => defaultFor(field, version);
    const isTagged = flexible && field.tag !== undefined && inRange(field.taggedVersions, version);
    if (!isTagged && !inRange(field.versions, version)) {
      absent.push({ name: field.name, fallback });
      continue;
    }
    const nullable = inRange(field.nullableVersions, version);
    const [encode, decode] = typeCodec(field.type, version, flexible, nullable);
    if (isTagged) tagged.push({ name: field.name, encode, decode, fallback, tag: field.tag! });
    else steps.push({ name: field.name, encode, decode, fallback });
  }
  tagged.sort((a, b) => a.tag - b.tag);
  const taggedByTag = new Map(tagged.map((step) => [step.tag, step]));

  return {
    encode(writer, value) {
      for (const step of steps) {
        const fieldValue = value[step.name];
        step.encode(writer, fieldValue === undefined ? step.fallback() : fieldValue);
      }
      if (!flexible) return;
      const present = tagged.filter((step) => !isDefaultValue(value[step.name], step.fallback()));
      writer.uvarint(present.length);
      for (const step of present) {
        const inner = new Writer(64);
        step.encode(inner, value[step.name]);
        const bytes = inner.finish();
        writer.uvarint(step.tag);
        writer.uvarint(bytes.length);
        writer.raw(bytes);
      }
    },
    decode(reader) {
      const value: Record<string, unknown> = {};
      for (const step of steps) value[step.name] = step.decode(reader);
      for (const field of absent) value[field.name] = field.fallback();
      if (!flexible) return value;
      for (const step of tagged) value[step.name] = step.fallback();
      const count = reader.uvarint();
      for (let i = 0; i < count; i++) {
        const tag = reader.uvarint();
        const size = reader.uvarint();
        const step = taggedByTag.get(tag);
        if (step === undefined) {
          reader.skip(size);
          continue;
        }
        const end = reader.offset + size;
        if (end > reader.end) throw new ProtocolDecodeError(`tagged field ${tag} of ${size} bytes runs past the end`);
        const inner = new Reader(reader.buffer, reader.offset, end);
        value[step.name] = step.decode(inner);
        reader.offset = end;
      }
      return value;
    },
  };
}

const compiled = new WeakMap<MessageSchema, Map<number, CompiledStruct>>();

function compiledFor(schema: MessageSchema, version: number): CompiledStruct {
  let byVersion = compiled.get(schema);
  if (byVersion === undefined) {
    byVersion = new Map();
    compiled.set(schema, byVersion);
  }
  let struct = byVersion.get(version);
  if (struct === undefined) {
    if (!inRange(schema.validVersions, version)) {
      throw new RangeError(`${schema.name} has no version ${version}`);
    }
    struct = compileStruct(schema.fields, version, isFlexible(schema, version));
    byVersion.set(version, struct);
  }
  return struct;
}

export function isFlexible(schema: MessageSchema, version: number): boolean {
  return inRange(schema.flexibleVersions, version);
}

export function encodeMessage<T>(schema: MessageSchema, version: number, value: T, writer = new Writer()): Writer {
  compiledFor(schema, version).encode(writer, value as Record<string, unknown>);
  return writer;
}

export function decodeMessage<T>(schema: MessageSchema, version: number, reader: Reader): T {
  return compiledFor(schema, version).decode(reader) as T;
}
