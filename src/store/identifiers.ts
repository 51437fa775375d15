// Validation of the SQL identifiers that the store has to write into statements (schema and channel names), which
// cannot be passed as query parameters.

import { invalidArgument } from "./errors.js";

/** PostgreSQL truncates identifiers longer than NAMEDATALEN - 1 bytes, which would silently merge two names. */
export const IDENTIFIER_BYTES_MAX = 63;

const IDENTIFIER_PATTERN = /^[a-z_][a-z0-9_]*$/;

/**
 * Checks that a name is a lower-case unquoted-style identifier. Such names mean the same thing quoted or unquoted,
 * so they can be used both in SQL text and in settings such as search_path without escaping surprises.
 */
export function validateIdentifier(field: string, name: string): string {
  if (typeof name !== "string" || !IDENTIFIER_PATTERN.test(name)) {
    throw invalidArgument(
      field,
      `${JSON.stringify(name)} is not a valid name; use lower-case letters, digits and underscores, starting with a letter or underscore`,
    );
  }
  if (Buffer.byteLength(name) > IDENTIFIER_BYTES_MAX) {
    throw invalidArgument(field, `${JSON.stringify(name)} is longer than ${IDENTIFIER_BYTES_MAX} bytes`);
  }
  return name;
}

/** Schema names follow the identifier rules, and PostgreSQL reserves the "pg_" prefix for its own schemas. */
export function validateSchemaName(field: string, name: string): string {
  validateIdentifier(field, name);
  if (name.startsWith("pg_")) {
    throw invalidArgument(field, `${JSON.stringify(name)} starts with "pg_", which PostgreSQL reserves for itself`);
  }
  return name;
}

/** Quotes an identifier that has passed validateIdentifier. */
export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
