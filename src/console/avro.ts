// Reading Avro's binary encoding with a writer's schema, to show Confluent wire-format values as JSON: every type of
// the specification (primitives, records, enums, arrays, maps, unions, fixed, named references). Logical types are
// shown as their underlying values; bytes and fixed as their characters' code points, as Avro's JSON encoding does.

export class AvroDecodeError extends Error {
  override readonly name = "AvroDecodeError";
}

type Schema = string | { type: unknown; [key: string]: unknown } | Schema[];

/** Nesting deeper than this is refused rather than followed (a recursive schema with a malicious payload). */
const DEPTH_MAX = 64;
/** Array and map blocks larger than the remaining bytes cannot be real; this bounds allocation on bad input. */
const ITEMS_MAX = 1_000_000;

class Reader {
  offset = 0;
  constructor(readonly bytes: Buffer) {}

  need(count: number): void {
    if (this.offset + count > this.bytes.length) throw new AvroDecodeError("the value ends before its schema does");
  }

  long(): number {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      this.need(1);
      const byte = this.bytes[this.offset++]!;
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) break;
      shift += 7n;
      if (shift > 63n) throw new AvroDecodeError("a varint is longer than 10 bytes");
    }
    return Number((result >> 1n) ^ -(result & 1n));
  }

  take(count: number): Buffer {
    if (count < 0) throw new AvroDecodeError("a negative length");
    this.need(count);
    const slice = this.bytes.subarray(this.offset, this.offset + count);
    this.offset += count;
    return slice;
  }
}

function fullName(name: string, namespace: string | undefined): string {
  return name.includes(".") || namespace === undefined || namespace === "" ? name : `${namespace}.${name}`;
}

function collectNames(schema: Schema, named: Map<string, Schema>, namespace: string | undefined): void {
  if (Array.isArray(schema)) {
    for (const branch of schema) collectNames(branch, named, namespace);
    return;
  }
  if (typeof schema !== "object" || schema === null) return;
  const ns = typeof schema.namespace === "string" ? schema.namespace : namespace;
  if (typeof schema.name === "string" && ["record", "enum", "fixed", "error"].includes(String(schema.type))) {
    const name = fullName(schema.name, ns);
    named.set(name, schema);
    named.set(schema.name, schema);
  }
  if (Array.isArray(schema.fields)) {
    for (const field of schema.fields as Array<{ type: Schema }>) collectNames(field.type, named, ns);
  }
  if (schema.items !== undefined) collectNames(schema.items as Schema, named, ns);
  if (schema.values !== undefined) collectNames(schema.values as Schema, named, ns);
  if (typeof schema.type === "object") collectNames(schema.type as Schema, named, ns);
}

function read(reader: Reader, schema: Schema, named: Map<string, Schema>, depth: number): unknown {
  if (depth > DEPTH_MAX) throw new AvroDecodeError(`the value nests deeper than ${DEPTH_MAX} levels`);
  if (Array.isArray(schema)) {
    const index = reader.long();
    const branch = schema[index];
    if (branch === undefined) throw new AvroDecodeError(`union branch ${index} does not exist`);
    return read(reader, branch, named, depth + 1);
  }
  if (typeof schema === "string") {
    switch (schema) {
      case "null":
        return null;
      case "boolean":
        return reader.take(1)[0] !== 0;
      case "int":
      case "long":
        return reader.long();
      case "float":
        return reader.take(4).readFloatLE(0);
      case "double":
        return reader.take(8).readDoubleLE(0);
      case "bytes":
        return reader.take(reader.long()).toString("latin1");
      case "string":
        return reader.take(reader.long()).toString("utf8");
      default: {
        const found = named.get(schema);
        if (found === undefined) throw new AvroDecodeError(`the schema names an unknown type "${schema}"`);
        return read(reader, found, named, depth + 1);
      }
    }
  }
  switch (schema.type) {
    case "record":
    case "error": {
      const result: Record<string, unknown> = {};
      for (const field of (schema.fields ?? []) as Array<{ name: string; type: Schema }>) {
        result[field.name] = read(reader, field.type, named, depth + 1);
      }
      return result;
    }
    case "enum": {
      const symbols = schema.symbols as string[];
      const index = reader.long();
      if (symbols?.[index] === undefined) throw new AvroDecodeError(`enum index ${index} does not exist`);
      return symbols[index];
    }
    case "fixed":
      return reader.take(Number(schema.size)).toString("latin1");
    case "array":
    case "map": {
      const isMap = schema.type === "map";
      const items: unknown[] = [];
      const entries: Record<string, unknown> = {};
      for (;;) {
        let count = reader.long();
        if (count === 0) break;
        if (count < 0) {
          count = -count;
          reader.long();
        }
        if (count > ITEMS_MAX || count > reader.bytes.length - reader.offset + 1) {
          throw new AvroDecodeError(`a block claims ${count} items, more than the value holds`);
        }
        for (let index = 0; index < count; index++) {
          if (isMap) {
            const key = reader.take(reader.long()).toString("utf8");
            entries[key] = read(reader, schema.values as Schema, named, depth + 1);
          } else {
            items.push(read(reader, schema.items as Schema, named, depth + 1));
          }
        }
      }
      return isMap ? entries : items;
    }
    default:
      return read(reader, schema.type as Schema, named, depth + 1);
  }
}

/** Decodes one Avro binary value written with `schemaText`; throws AvroDecodeError when they do not fit. */
export function decodeAvro(schemaText: string, bytes: Buffer): unknown {
  let schema: Schema;
  try {
    schema = JSON.parse(schemaText) as Schema;
  } catch {
    throw new AvroDecodeError("the schema is not JSON");
  }
  const named = new Map<string, Schema>();
  collectNames(schema, named, undefined);
  const reader = new Reader(bytes);
  const value = read(reader, schema, named, 0);
  if (reader.offset !== bytes.length) {
    throw new AvroDecodeError(`${bytes.length - reader.offset} bytes are left over after the value`);
  }
  return value;
}
