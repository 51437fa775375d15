// What the registry needs from a schema format: parsing a schema (with the schemas it references) into the form it
// stores and compares, and the problems that keep a reader schema from reading data written with a writer schema.

export const SCHEMA_TYPES = ["AVRO", "JSON"] as const;
export type SchemaType = (typeof SCHEMA_TYPES)[number];

export interface SchemaReference {
  /** The name the referencing schema uses: an Avro full name, or a JSON Schema `$ref` URL. */
  readonly name: string;
  readonly subject: string;
  readonly version: number;
}

/** A referenced schema, fetched from the store, with its own references already resolved. */
export interface ResolvedReference {
  readonly name: string;
  readonly schemaType: SchemaType;
  readonly schema: string;
  readonly references: readonly ResolvedReference[];
}

export interface ParsedSchema {
  readonly schemaType: SchemaType;
  /** The schema as stored and returned: the given JSON without insignificant white space. */
  readonly canonical: string;
  /** A form in which equivalent schemas are equal (`normalize=true`): keys ordered, names resolved. */
  readonly normalized: string;
  /** The parsed form the format's compatibility check works on. */
  readonly handle: unknown;
}

export interface SchemaFormat {
  readonly type: SchemaType;
  /** Throws an INVALID_SCHEMA RegistryError saying what is wrong. */
  parse(text: string, references: readonly ResolvedReference[]): ParsedSchema;
  /** Why data written with `writer` cannot be read with `reader`; empty when it can. */
  readProblems(reader: ParsedSchema, writer: ParsedSchema): string[];
}

/** JSON.parse that names the problem for an INVALID_SCHEMA error rather than throwing a bare SyntaxError. */
export function parseSchemaJson(text: string): { ok: true; value: unknown } | { ok: false; reason: string } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (error) {
    return { ok: false, reason: error instanceof Error ? error.message : String(error) };
  }
}

/** JSON text with object keys sorted at every depth, so that key order does not make two schemas differ. */
export function sortedJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (typeof value !== "object" || value === null) return value;
  const sorted: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) sorted[key] = sortKeys((value as Record<string, unknown>)[key]);
  return sorted;
}
