// Avro schemas, parsed and resolved by avsc. Compatibility is Avro's own schema resolution: a reader can read a
// writer's data when avsc can build a resolver between them (added fields need defaults, promotions int → long →
// float → double and string ↔ bytes, enum symbols, unions, aliases), which is exactly the rule the Avro
// specification gives, so none of it is written again here.

import avro from "avsc";

import { RegistryError, RegistryErrorCode } from "../errors.js";
import { parseSchemaJson, sortedJson, type ParsedSchema, type ResolvedReference, type SchemaFormat } from "./format.js";

function invalid(message: string): RegistryError {
  return new RegistryError(RegistryErrorCode.INVALID_SCHEMA, message);
}

/** Parses referenced schemas first, depth first, into one registry of named types. */
function registerReferences(references: readonly ResolvedReference[], registry: Record<string, avro.Type>): void {
  for (const reference of references) {
    if (reference.schemaType !== "AVRO") {
      throw invalid(
        `reference ${reference.name} is a ${reference.schemaType} schema; an Avro schema can only use Avro`,
      );
    }
    registerReferences(reference.references, registry);
    const parsed = parseSchemaJson(reference.schema);
    if (!parsed.ok) throw invalid(`reference ${reference.name} is not JSON: ${parsed.reason}`);
    if (registry[reference.name] !== undefined) continue;
    try {
      avro.Type.forSchema(parsed.value as avro.Schema, { registry, wrapUnions: "auto" });
    } catch (error) {
      throw invalid(`reference ${reference.name} is not a valid Avro schema: ${messageOf(error)}`);
    }
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export const avroFormat: SchemaFormat = {
  type: "AVRO",
  parse(text, references) {
    const parsed = parseSchemaJson(text);
    if (!parsed.ok) throw invalid(`Invalid schema: the schema is not JSON: ${parsed.reason}`);
    const registry: Record<string, avro.Type> = {};
    registerReferences(references, registry);
    let type: avro.Type;
    try {
      type = avro.Type.forSchema(parsed.value as avro.Schema, { registry, wrapUnions: "auto" });
    } catch (error) {
      throw invalid(`Invalid schema: not a valid Avro schema: ${messageOf(error)}`);
    }
    // The full form with every name qualified; it is what makes {"type":"int"} and "int" the same schema.
    const normalized = sortedJson(type.schema({ exportAttrs: true }));
    return { schemaType: "AVRO", canonical: JSON.stringify(parsed.value), normalized, handle: type };
  },
  readProblems(reader: ParsedSchema, writer: ParsedSchema) {
    try {
      (reader.handle as avro.Type).createResolver(writer.handle as avro.Type);
      return [];
    } catch (error) {
      return [`the reader schema cannot read data written with the writer schema: ${messageOf(error)}`];
    }
  },
};

/** The avsc type of a stored Avro schema, for the serdes. */
export function avroTypeOf(parsed: ParsedSchema): avro.Type {
  return parsed.handle as avro.Type;
}
