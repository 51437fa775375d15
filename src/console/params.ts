// Reading the console API's query strings and bodies: each helper names the field at fault and the rule it broke,
// so a bad request is answered with 400 and a message that says what to send instead.

import { validationFailed } from "../gateway/errors.js";

export type Fields = Readonly<Record<string, unknown>>;

export const TOPIC_NAME_PATTERN = /^[A-Za-z0-9._-]{1,249}$/;

export function objectBody(body: unknown): Fields {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw validationFailed("body", "the body must be a JSON object");
  }
  return body as Fields;
}

export function optionalInteger(fields: Fields, field: string, min: number, max: number): number | undefined {
  const raw = fields[field];
  if (raw === undefined || raw === "") return undefined;
  const value = typeof raw === "string" && /^-?[0-9]+$/.test(raw) ? Number(raw) : raw;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min || value > max) {
    throw validationFailed(field, `${field} must be an integer from ${min} to ${max}`);
  }
  return value;
}

export function integerOr(fields: Fields, field: string, fallback: number, min: number, max: number): number {
  return optionalInteger(fields, field, min, max) ?? fallback;
}

export function optionalString(fields: Fields, field: string, charsMax: number): string | undefined {
  const value = fields[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw validationFailed(field, `${field} must be a string`);
  if (value.length > charsMax) throw validationFailed(field, `${field} must be at most ${charsMax} characters`);
  return value;
}

export function requiredString(fields: Fields, field: string, charsMax: number): string {
  const value = optionalString(fields, field, charsMax);
  if (value === undefined || value === "") throw validationFailed(field, `${field} is required`);
  return value;
}

export function optionalBoolean(fields: Fields, field: string): boolean | undefined {
  const value = fields[field];
  if (value === undefined || value === "") return undefined;
  if (value === true || value === "true") return true;
  if (value === false || value === "false") return false;
  throw validationFailed(field, `${field} must be true or false`);
}

export function topicName(value: unknown, field = "topic"): string {
  if (typeof value !== "string" || !TOPIC_NAME_PATTERN.test(value)) {
    throw validationFailed(field, `${field} must be 1 to 249 characters: letters, digits, '.', '_' or '-'`);
  }
  return value;
}

/** A timestamp as milliseconds since the epoch or an ISO 8601 date. */
export function optionalTimestamp(fields: Fields, field: string): number | undefined {
  const raw = fields[field];
  if (raw === undefined || raw === "") return undefined;
  if (typeof raw === "number" && Number.isSafeInteger(raw) && raw >= 0) return raw;
  if (typeof raw === "string") {
    const parsed = /^[0-9]+$/.test(raw) ? Number(raw) : Date.parse(raw);
    if (Number.isSafeInteger(parsed) && parsed >= 0) return parsed;
  }
  throw validationFailed(field, `${field} must be milliseconds since 1970 or an ISO 8601 time`);
}

export function stringRecord(fields: Fields, field: string, entriesMax: number): Record<string, string> {
  const value = fields[field];
  if (value === undefined || value === null) return {};
  if (typeof value !== "object" || Array.isArray(value)) {
    throw validationFailed(field, `${field} must be an object of string values`);
  }
  const entries = Object.entries(value as Fields);
  if (entries.length > entriesMax) throw validationFailed(field, `${field} may have at most ${entriesMax} entries`);
  for (const [name, entry] of entries) {
    if (typeof entry !== "string") throw validationFailed(`${field}.${name}`, `${field}.${name} must be a string`);
  }
  return Object.fromEntries(entries) as Record<string, string>;
}
