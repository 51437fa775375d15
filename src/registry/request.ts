// Reading the registry's request bodies and query parameters, with Confluent's error codes for anything malformed.

import { RegistryError, RegistryErrorCode } from "./errors.js";
import { SCHEMA_TYPES, type SchemaReference, type SchemaType } from "./formats/format.js";
import { checkSubject, type SchemaInput } from "./registry.js";

/** Fields of a schema request; metadata and ruleSet are accepted only empty, as the registry has neither. */
const SCHEMA_REQUEST_FIELDS = new Set([
  "schema",
  "schemaType",
  "references",
  "normalize",
  "version",
  "id",
  "metadata",
  "ruleSet",
]);
const REFERENCE_FIELDS = new Set(["name", "subject", "version"]);

function unprocessable(message: string): RegistryError {
  return new RegistryError(RegistryErrorCode.INVALID_REQUEST, message);
}

function objectBody(body: unknown): Record<string, unknown> {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw unprocessable("The request body must be a JSON object");
  }
  return body as Record<string, unknown>;
}

function checkFields(body: Record<string, unknown>, allowed: ReadonlySet<string>): void {
  for (const field of Object.keys(body)) {
    if (!allowed.has(field)) throw unprocessable(`Unrecognized field: ${field}`);
  }
}

function readReference(value: unknown, index: number): SchemaReference {
  const reference = objectBody(value);
  checkFields(reference, REFERENCE_FIELDS);
  const { name, subject, version } = reference;
  if (typeof name !== "string" || name === "")
    throw unprocessable(`references[${index}].name must be a non-empty string`);
  if (typeof subject !== "string") throw unprocessable(`references[${index}].subject must be a string`);
  if (typeof version !== "number" || !Number.isInteger(version) || version < 1) {
    throw unprocessable(`references[${index}].version must be a positive integer`);
  }
  return { name, subject: checkSubject(subject), version };
}

/** Reads `{ schema, schemaType?, references?, normalize? }`; `?normalize=true` in the query counts too. */
export function readSchemaInput(body: unknown, query: unknown): SchemaInput {
  const fields = objectBody(body);
  checkFields(fields, SCHEMA_REQUEST_FIELDS);
  for (const field of ["metadata", "ruleSet"]) {
    if (fields[field] !== undefined && fields[field] !== null) {
      throw unprocessable(`${field} is not supported by this registry; leave it out`);
    }
  }
  if (typeof fields.schema !== "string" || fields.schema.trim() === "") {
    throw new RegistryError(RegistryErrorCode.INVALID_SCHEMA, "Invalid schema: schema must be a non-empty string");
  }
  let schemaType: SchemaType = "AVRO";
  if (fields.schemaType !== undefined && fields.schemaType !== null) {
    const given = String(fields.schemaType).toUpperCase();
    if (!(SCHEMA_TYPES as readonly string[]).includes(given)) {
      throw new RegistryError(
        RegistryErrorCode.INVALID_SCHEMA,
        `Invalid schema type ${String(fields.schemaType)}; this registry supports ${SCHEMA_TYPES.join(", ")}`,
      );
    }
    schemaType = given as SchemaType;
  }
  const rawReferences = fields.references ?? [];
  if (!Array.isArray(rawReferences)) throw unprocessable("references must be an array");
  const references = rawReferences.map(readReference);
  if (fields.normalize !== undefined && typeof fields.normalize !== "boolean") {
    throw unprocessable("normalize must be true or false");
  }
  const normalize = fields.normalize === true || queryFlag(query, "normalize");
  return { schema: fields.schema, schemaType, references, normalize };
}

/** A boolean query parameter: "true" or "false" (any case); absent is false. */
export function queryFlag(query: unknown, name: string): boolean {
  const value = (typeof query === "object" && query !== null ? (query as Record<string, unknown>) : {})[name];
  if (value === undefined) return false;
  if (typeof value === "string" && /^(true|false)$/i.test(value)) return value.toLowerCase() === "true";
  throw unprocessable(`${name} must be true or false`);
}

export function queryText(query: unknown, name: string): string | null {
  const value = (typeof query === "object" && query !== null ? (query as Record<string, unknown>) : {})[name];
  if (value === undefined) return null;
  if (typeof value !== "string") throw unprocessable(`${name} must be given once`);
  return value;
}

/** Reads the body of PUT /config: `{ "compatibility": LEVEL }`. */
export function readField(body: unknown, field: string, allowed: readonly string[]): unknown {
  const fields = objectBody(body);
  checkFields(fields, new Set(allowed));
  return fields[field];
}

/** A schema id in a path: a positive 32-bit integer. */
export function parseSchemaId(raw: string): number {
  if (/^[1-9][0-9]{0,9}$/.test(raw) && Number(raw) <= 2_147_483_647) return Number(raw);
  throw new RegistryError(RegistryErrorCode.SCHEMA_NOT_FOUND, `Schema ${raw} not found`);
}
