// JSON Schemas, checked by ajv (which refuses a schema that is not valid JSON Schema). Compatibility follows
// Confluent's documented rules for JSON Schema, written here as a reader/writer check: the reader must accept every
// document the writer accepts, judged on types, enums, properties and required lists, the content model (open,
// closed, or additional properties with a schema), array items and the length and range bounds.

import { Ajv, type AnySchema } from "ajv";

import { RegistryError, RegistryErrorCode } from "../errors.js";
import { parseSchemaJson, sortedJson, type ParsedSchema, type ResolvedReference, type SchemaFormat } from "./format.js";

type JsonSchema = boolean | Record<string, unknown>;

function invalid(message: string): RegistryError {
  return new RegistryError(RegistryErrorCode.INVALID_SCHEMA, message);
}

function newAjv(): Ajv {
  return new Ajv({ strict: false, allErrors: false, validateFormats: false });
}

function addReferences(ajv: Ajv, references: readonly ResolvedReference[], seen: Set<string>): void {
  for (const reference of references) {
    if (seen.has(reference.name)) continue;
    seen.add(reference.name);
    if (reference.schemaType !== "JSON") {
      throw invalid(`reference ${reference.name} is a ${reference.schemaType} schema; a JSON Schema can only use JSON`);
    }
    addReferences(ajv, reference.references, seen);
    const parsed = parseSchemaJson(reference.schema);
    if (!parsed.ok) throw invalid(`reference ${reference.name} is not JSON: ${parsed.reason}`);
    ajv.addSchema(parsed.value as AnySchema, reference.name);
  }
}

/** Compiles a JSON Schema with its references; the serdes use the same function to validate documents. */
export function compileJsonSchema(schema: unknown, references: readonly ResolvedReference[] = []) {
  const ajv = newAjv();
  addReferences(ajv, references, new Set());
  return ajv.compile(schema as AnySchema);
}

export const jsonSchemaFormat: SchemaFormat = {
  type: "JSON",
  parse(text, references) {
    const parsed = parseSchemaJson(text);
    if (!parsed.ok) throw invalid(`Invalid schema: the schema is not JSON: ${parsed.reason}`);
    const value = parsed.value;
    if (typeof value !== "boolean" && (typeof value !== "object" || value === null || Array.isArray(value))) {
      throw invalid("Invalid schema: a JSON Schema is an object or a boolean");
    }
    try {
      compileJsonSchema(value, references);
    } catch (error) {
      throw invalid(`Invalid schema: not a valid JSON Schema: ${error instanceof Error ? error.message : error}`);
    }
    return { schemaType: "JSON", canonical: JSON.stringify(value), normalized: sortedJson(value), handle: value };
  },
  readProblems(reader: ParsedSchema, writer: ParsedSchema) {
    const problems: string[] = [];
    compare(reader.handle as JsonSchema, writer.handle as JsonSchema, "#", problems);
    return problems;
  },
};

const ALL_TYPES = ["null", "boolean", "object", "array", "number", "integer", "string"];

function typesOf(schema: Record<string, unknown>): string[] {
  const type = schema.type;
  if (typeof type === "string") return [type];
  if (Array.isArray(type)) return type.filter((entry): entry is string => typeof entry === "string");
  return ALL_TYPES;
}

function readerAcceptsType(readerTypes: readonly string[], type: string): boolean {
  return readerTypes.includes(type) || (type === "integer" && readerTypes.includes("number"));
}

function objectOf(value: unknown): Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function stringsOf(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((entry): entry is string => typeof entry === "string") : [];
}

/** A bound the reader must not tighten: the writer's may be wider (or absent) only when the reader's is too. */
function checkBound(
  reader: Record<string, unknown>,
  writer: Record<string, unknown>,
  key: string,
  tighter: (readerValue: number, writerValue: number) => boolean,
  path: string,
  problems: string[],
): void {
  const readerValue = reader[key];
  if (typeof readerValue !== "number") return;
  const writerValue = writer[key];
  if (typeof writerValue !== "number" || tighter(readerValue, writerValue)) {
    problems.push(`${path}: ${key} was made stricter (${String(writerValue ?? "none")} → ${readerValue})`);
  }
}

const less = (readerValue: number, writerValue: number): boolean => readerValue < writerValue;
const greater = (readerValue: number, writerValue: number): boolean => readerValue > writerValue;

function compare(reader: JsonSchema, writer: JsonSchema, path: string, problems: string[]): void {
  if (reader === true || (typeof reader === "object" && Object.keys(reader).length === 0)) return;
  if (writer === false) return;
  if (reader === false) {
    problems.push(`${path}: the reader accepts nothing`);
    return;
  }
  const writerSchema = writer === true ? {} : writer;
  const readerTypes = typesOf(reader);
  const writerTypes = typesOf(writerSchema);
  for (const type of writerTypes) {
    if (!readerAcceptsType(readerTypes, type)) problems.push(`${path}: type ${type} is no longer accepted`);
  }
  if (Array.isArray(reader.enum)) {
    const readerValues = new Set(reader.enum.map((entry) => JSON.stringify(entry)));
    const writerValues = Array.isArray(writerSchema.enum) ? writerSchema.enum : null;
    if (writerValues === null) problems.push(`${path}: an enum was added`);
    else {
      for (const entry of writerValues) {
        if (!readerValues.has(JSON.stringify(entry)))
          problems.push(`${path}: enum value ${JSON.stringify(entry)} was removed`);
      }
    }
  }
  if ("const" in reader && JSON.stringify(reader.const) !== JSON.stringify(writerSchema.const)) {
    problems.push(`${path}: const changed`);
  }
  checkBound(reader, writerSchema, "maxLength", less, path, problems);
  checkBound(reader, writerSchema, "minLength", greater, path, problems);
  checkBound(reader, writerSchema, "maximum", less, path, problems);
  checkBound(reader, writerSchema, "minimum", greater, path, problems);
  checkBound(reader, writerSchema, "maxItems", less, path, problems);
  checkBound(reader, writerSchema, "minItems", greater, path, problems);
  if (typeof reader.pattern === "string" && reader.pattern !== writerSchema.pattern) {
    problems.push(`${path}: pattern changed`);
  }
  if (readerTypes.includes("object") && writerTypes.includes("object"))
    compareObjects(reader, writerSchema, path, problems);
  if (readerTypes.includes("array") && writerTypes.includes("array") && reader.items !== undefined) {
    compare(reader.items as JsonSchema, (writerSchema.items ?? true) as JsonSchema, `${path}/items`, problems);
  }
}

function compareObjects(
  reader: Record<string, unknown>,
  writer: Record<string, unknown>,
  path: string,
  problems: string[],
): void {
  const readerProperties = objectOf(reader.properties);
  const writerProperties = objectOf(writer.properties);
  const writerRequired = new Set(stringsOf(writer.required));
  for (const name of stringsOf(reader.required)) {
    if (!writerRequired.has(name)) problems.push(`${path}/properties/${name}: property became required`);
  }
  const writerAdditional = (writer.additionalProperties ?? true) as JsonSchema;
  const readerAdditional = (reader.additionalProperties ?? true) as JsonSchema;
  for (const [name, readerProperty] of Object.entries(readerProperties)) {
    const propertyPath = `${path}/properties/${name}`;
    if (name in writerProperties) {
      compare(readerProperty as JsonSchema, writerProperties[name] as JsonSchema, propertyPath, problems);
    } else {
      // Anything the writer's content model let through under this name must now match the reader's property.
      compare(
        readerProperty as JsonSchema,
        writerAdditional,
        `${propertyPath} (added to an open content model)`,
        problems,
      );
    }
  }
  for (const [name, writerProperty] of Object.entries(writerProperties)) {
    if (name in readerProperties) continue;
    compare(readerAdditional, writerProperty as JsonSchema, `${path}/properties/${name} (removed)`, problems);
  }
  if (readerAdditional !== true) compare(readerAdditional, writerAdditional, `${path}/additionalProperties`, problems);
}
