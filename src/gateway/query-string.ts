// Parses a URL's query string strictly: Fastify's default parser keeps malformed percent-encoding (`%E0%A4`) as
// literal text, while a malformed path answers 400. Here both answer 400, so a broken URL never stores garbage.

import { GatewayError, GatewayErrorCode } from "./errors.js";

export type QueryValues = Record<string, string | string[]>;

const malformedQueries = new WeakSet<object>();

function decodeComponent(text: string): string | null {
  try {
    return decodeURIComponent(text.replace(/\+/g, " "));
  } catch {
    return null;
  }
}

/**
 * Splits `a=1&b=2&a=3` into { a: ["1", "3"], b: "2" }. It never throws (the router calls it while routing); a query
 * with malformed percent-encoding is remembered, and rejectMalformedQuery refuses it once the request exists.
 */
export function parseQueryString(query: string): QueryValues {
  const values: QueryValues = Object.create(null) as QueryValues;
  if (query === "") return values;
  let malformed = false;
  for (const pair of query.split("&")) {
    if (pair === "") continue;
    const equalsIndex = pair.indexOf("=");
    const name = decodeComponent(equalsIndex === -1 ? pair : pair.slice(0, equalsIndex));
    const value = decodeComponent(equalsIndex === -1 ? "" : pair.slice(equalsIndex + 1));
    if (name === null || value === null) {
      malformed = true;
      continue;
    }
    const existing = values[name];
    if (existing === undefined) values[name] = value;
    else if (Array.isArray(existing)) existing.push(value);
    else values[name] = [existing, value];
  }
  if (malformed) malformedQueries.add(values);
  return values;
}

/** Throws the same 400 a malformed path gets when the request's query string was malformed. */
export function rejectMalformedQuery(query: unknown): void {
  if (typeof query === "object" && query !== null && malformedQueries.has(query)) {
    throw new GatewayError(GatewayErrorCode.BAD_REQUEST, "the URL is not valid: check its percent-encoding");
  }
}
