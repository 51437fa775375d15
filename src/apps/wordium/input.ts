// Reading Wordium's request bodies and query strings: every field checked, and every bad one refused with the
// gateway's JSON error (400, SLUICE_VALIDATION_FAILED, naming the field).

import { validationFailed } from "../../gateway/errors.js";

export const DEFAULT_PAGE_SIZE = 20;
export const PAGE_SIZE_MAX = 100;
/** Cursors are sequence numbers; this many digits stay below PostgreSQL's bigint maximum. */
const CURSOR_PATTERN = /^[1-9][0-9]{0,17}$/;
const ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export type Fields = Record<string, unknown>;

/** The JSON object a request sent; anything else (a missing body, an array) is refused. */
export function objectBody(body: unknown): Fields {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw validationFailed("body", "the body must be a JSON object");
  }
  return body as Fields;
}

export function requiredText(fields: Fields, field: string, charsMin: number, charsMax: number): string {
  const value = fields[field];
  if (value === undefined || value === null) throw validationFailed(field, `${field} is required`);
  if (typeof value !== "string") throw validationFailed(field, `${field} must be a string`);
  const trimmed = value.trim();
  if (trimmed.length < charsMin || trimmed.length > charsMax) {
    throw validationFailed(field, `${field} must be ${charsMin} to ${charsMax} characters long`);
  }
  return trimmed;
}

/** One value of a query parameter; a parameter given twice is refused rather than guessed at. */
export function queryValue(query: unknown, field: string): string | undefined {
  const fields = (typeof query === "object" && query !== null ? query : {}) as Fields;
  const value = fields[field];
  if (value === undefined) return undefined;
  if (typeof value !== "string") throw validationFailed(field, `give ${field} once`);
  return value;
}

export interface PageQuery {
  limit: number;
  before: string | null;
}

export function readPageQuery(query: unknown): PageQuery {
  const rawLimit = queryValue(query, "limit");
  let limit = DEFAULT_PAGE_SIZE;
  if (rawLimit !== undefined) {
    limit = /^[0-9]{1,4}$/.test(rawLimit) ? Number(rawLimit) : 0;
    if (limit < 1 || limit > PAGE_SIZE_MAX) {
      throw validationFailed("limit", `limit must be an integer from 1 to ${PAGE_SIZE_MAX}`);
    }
  }
  const before = queryValue(query, "before") ?? null;
  if (before !== null && !CURSOR_PATTERN.test(before)) {
    throw validationFailed("before", "before must be a cursor from an earlier page (its nextCursor)");
  }
  return { limit, before };
}

/** An id in a path or body, lower-cased as the services store them. */
export function readId(field: string, value: unknown): string {
  if (typeof value !== "string" || !ID_PATTERN.test(value)) {
    throw validationFailed(field, `${field} must be an id (a UUID)`);
  }
  return value.toLowerCase();
}
