// The compatibility policy: which earlier versions a new schema is checked against, and in which direction.
// BACKWARD: consumers on the new schema read data written with the old; FORWARD: consumers on the old schema read
// data written with the new; FULL: both. Without _TRANSITIVE only the latest version counts.

import type { ParsedSchema, SchemaFormat } from "./formats/format.js";

export const COMPATIBILITY_LEVELS = [
  "BACKWARD",
  "BACKWARD_TRANSITIVE",
  "FORWARD",
  "FORWARD_TRANSITIVE",
  "FULL",
  "FULL_TRANSITIVE",
  "NONE",
] as const;
export type CompatibilityLevel = (typeof COMPATIBILITY_LEVELS)[number];
export const DEFAULT_COMPATIBILITY_LEVEL: CompatibilityLevel = "BACKWARD";

export function isCompatibilityLevel(value: unknown): value is CompatibilityLevel {
  return typeof value === "string" && (COMPATIBILITY_LEVELS as readonly string[]).includes(value);
}

/**
 * Why `candidate` may not follow `previous` (oldest first) under `level`; empty when it may. Each problem names
 * the version it is about.
 */
export function compatibilityProblems(
  format: SchemaFormat,
  level: CompatibilityLevel,
  candidate: ParsedSchema,
  previous: readonly { version: number; schema: ParsedSchema }[],
): string[] {
  if (level === "NONE" || previous.length === 0) return [];
  const against = level.endsWith("_TRANSITIVE") ? previous : previous.slice(-1);
  const backward = level.startsWith("BACKWARD") || level.startsWith("FULL");
  const forward = level.startsWith("FORWARD") || level.startsWith("FULL");
  const problems: string[] = [];
  for (const { version, schema } of [...against].reverse()) {
    if (schema.schemaType !== candidate.schemaType) {
      problems.push(`version ${version} is a ${schema.schemaType} schema, the new one ${candidate.schemaType}`);
      continue;
    }
    if (backward) {
      for (const problem of format.readProblems(candidate, schema)) {
        problems.push(`BACKWARD against version ${version}: ${problem}`);
      }
    }
    if (forward) {
      for (const problem of format.readProblems(schema, candidate)) {
        problems.push(`FORWARD against version ${version}: ${problem}`);
      }
    }
  }
  return problems;
}
