// The search service: its own full-text index (PostgreSQL tsvector with GIN indexes, on PGlite and on a server),
// fed only by job and user events. Each row keeps the version of the newest event applied, so an older event
// arriving late changes nothing; a deleted job stays as a tombstone that no older event can bring back. Queries
// match word prefixes ("engin" finds "engineer"), rank title over company and location over description, and
// highlight the matched words.

import type { FastifyPluginAsync } from "fastify";

import { validationFailed } from "../../gateway/errors.js";
import type { Database, Queryable } from "../../toolkit/index.js";
import { dataOf, type JobEventData, type UserEventData } from "./events.js";
import { queryInteger, queryValue, route } from "./http.js";

export const SEARCH_QUERY_CHARS_MAX = 200;
export const SEARCH_TERMS_MAX = 16;
export const DEFAULT_SEARCH_LIMIT = 20;
export const SEARCH_LIMIT_MAX = 100;
/** ts_headline marks matches with these; the answer's `highlight` is HTML with <mark> around them. */
const MATCH_START = "\u0001";
const MATCH_STOP = "\u0002";

interface VersionedEvent {
  event_type: string;
  data: { id: string; version: number };
}

export async function indexJobEvent(tx: Queryable, event: VersionedEvent): Promise<void> {
  const data = dataOf<JobEventData>(event);
  if (event.event_type === "job_deleted") {
    await tx.query(
      `INSERT INTO search_jobs (id, version, deleted) VALUES ($1, $2, true)
       ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version, deleted = true, title = '', description = '',
         company = '', location = ''
       WHERE search_jobs.version < EXCLUDED.version`,
      [data.id, data.version],
    );
    return;
  }
  await tx.query(
    `INSERT INTO search_jobs (id, version, deleted, employer_id, title, description, company, location, remote, created_at)
     VALUES ($1, $2, false, $3, $4, $5, $6, $7, $8, $9)
     ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version, employer_id = EXCLUDED.employer_id,
       title = EXCLUDED.title, description = EXCLUDED.description, company = EXCLUDED.company,
       location = EXCLUDED.location, remote = EXCLUDED.remote, created_at = EXCLUDED.created_at
     WHERE search_jobs.version < EXCLUDED.version`,
    [
      data.id,
      data.version,
      data.employer_id,
      data.title,
      data.description,
      data.company ?? "",
      data.location ?? "",
      data.remote === true,
      data.created_at ?? null,
    ],
  );
}

export async function indexUserEvent(tx: Queryable, event: VersionedEvent): Promise<void> {
  const data = dataOf<UserEventData>(event);
  await tx.query(
    `INSERT INTO search_users (id, version, username, user_type, first_name, last_name, bio, location)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
     ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version, username = EXCLUDED.username,
       user_type = EXCLUDED.user_type, first_name = EXCLUDED.first_name, last_name = EXCLUDED.last_name,
       bio = EXCLUDED.bio, location = EXCLUDED.location
     WHERE search_users.version < EXCLUDED.version`,
    [
      data.id,
      data.version,
      data.username,
      data.user_type,
      data.first_name ?? "",
      data.last_name ?? "",
      data.bio ?? "",
      data.location ?? "",
    ],
  );
}

/** The words of a query as a prefix tsquery ("senior engin" → "senior:* & engin:*"), or null when it has none. */
export function prefixQuery(text: string): string | null {
  const words = (text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []).slice(0, SEARCH_TERMS_MAX);
  return words.length === 0 ? null : words.map((word) => `${word}:*`).join(" & ");
}

const HTML_ESCAPES: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** ts_headline's marked text as safe HTML: the text escaped, the matches in <mark>. */
export function highlightHtml(marked: string): string {
  return marked
    .replace(/[&<>"']/g, (char) => HTML_ESCAPES[char] ?? char)
    .replaceAll(MATCH_START, "<mark>")
    .replaceAll(MATCH_STOP, "</mark>");
}

const HEADLINE_OPTIONS = `StartSel=${MATCH_START}, StopSel=${MATCH_STOP}, MaxWords=30, MinWords=10, MaxFragments=2`;

export function searchRoutes(options: { db: Database }): FastifyPluginAsync {
  const { db } = options;
  return async (app) => {
    route(app, "GET", "/api/search/", [], async (request) => {
      const text = queryValue(request, "q") ?? "";
      if (text.length > SEARCH_QUERY_CHARS_MAX) {
        throw validationFailed("q", `q is longer than ${SEARCH_QUERY_CHARS_MAX} characters`);
      }
      const type = queryValue(request, "type") ?? "jobs";
      if (type !== "jobs" && type !== "users") throw validationFailed("type", "type must be jobs or users");
      const limit = queryInteger(request, "limit", DEFAULT_SEARCH_LIMIT, 1, SEARCH_LIMIT_MAX);
      const query = prefixQuery(text);
      if (type === "jobs") {
        const { rows } =
          query === null
            ? await db.query<Record<string, unknown>>(
                `SELECT id, employer_id, title, description, company, location, remote, created_at, version,
                   0 AS rank, '' AS highlight
                 FROM search_jobs WHERE NOT deleted ORDER BY created_at DESC NULLS LAST LIMIT $1`,
                [limit],
              )
            : await db.query<Record<string, unknown>>(
                `SELECT id, employer_id, title, description, company, location, remote, created_at, version,
                   ts_rank(document, q) AS rank,
                   ts_headline('english', title || ' — ' || description, q, $3) AS highlight
                 FROM search_jobs, to_tsquery('english', $1) AS q
                 WHERE NOT deleted AND document @@ q ORDER BY rank DESC, created_at DESC LIMIT $2`,
                [query, limit, HEADLINE_OPTIONS],
              );
        return { type, query: text, count: rows.length, results: rows.map(present) };
      }
      const { rows } =
        query === null
          ? await db.query<Record<string, unknown>>(
              `SELECT id, username, user_type, first_name, last_name, bio, location, version, 0 AS rank, '' AS highlight
               FROM search_users ORDER BY username LIMIT $1`,
              [limit],
            )
          : await db.query<Record<string, unknown>>(
              `SELECT id, username, user_type, first_name, last_name, bio, location, version,
                 ts_rank(document, q) AS rank,
                 ts_headline('simple', username || ' ' || first_name || ' ' || last_name || ' — ' || bio, q, $3) AS highlight
               FROM search_users, to_tsquery('simple', $1) AS q
               WHERE document @@ q OR document @@ to_tsquery('english', $1)
               ORDER BY rank DESC, username LIMIT $2`,
              [query, limit, HEADLINE_OPTIONS],
            );
      return { type, query: text, count: rows.length, results: rows.map(present) };
    });
  };
}

function present(row: Record<string, unknown>) {
  const result: Record<string, unknown> = {
    ...row,
    rank: Number(row.rank),
    highlight: highlightHtml(String(row.highlight)),
  };
  if (row.created_at instanceof Date) result.created_at = row.created_at.toISOString();
  return result;
}
