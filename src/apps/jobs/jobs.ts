// The job service: employers post jobs; anyone lists and reads them; only a job's owner changes or deletes it.
// Every change publishes a job event through the outbox. Listings are cached (cache.ts) and invalidated by each
// change and by the job events themselves, which reach every instance of the service.

import { randomUUID } from "node:crypto";

import type { FastifyPluginAsync } from "fastify";

import type { Auth } from "../../gateway/auth/auth.js";
import { notFound, validationFailed } from "../../gateway/errors.js";
import { addToOutbox, type Database, type Queryable } from "../../toolkit/index.js";
import type { ListingCache } from "./cache.js";
import { jobEvents, type JobEventData } from "./events.js";
import {
  bodyOf,
  created,
  EMPLOYER,
  forbidden,
  optionalBoolean,
  optionalText,
  pathId,
  queryBoolean,
  queryInteger,
  queryValue,
  requiredText,
  route,
  userOf,
} from "./http.js";

export const TITLE_CHARS_MAX = 200;
export const DESCRIPTION_CHARS_MAX = 10_000;
export const JOB_TEXT_CHARS_MAX = 200;
export const DEFAULT_PAGE_SIZE = 20;
export const PAGE_SIZE_MAX = 100;
export const PAGE_MAX = 10_000;

interface JobRow {
  id: string;
  employer_id: string;
  title: string;
  description: string;
  company: string;
  location: string;
  remote: boolean;
  version: number;
  created_at: Date;
  updated_at: Date;
}

export function jobOf(row: JobRow): JobEventData {
  return {
    id: row.id,
    version: row.version,
    employer_id: row.employer_id,
    title: row.title,
    description: row.description,
    company: row.company,
    location: row.location,
    remote: row.remote,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}

const JOB_FIELDS = ["title", "description", "company", "location", "remote"] as const;

async function selectJob(q: Queryable, id: string): Promise<JobRow | null> {
  return (await q.query<JobRow>("SELECT * FROM jobs WHERE id = $1", [id])).rows[0] ?? null;
}

export interface JobsServiceOptions {
  db: Database;
  auth: Auth;
  cache: ListingCache;
  /**
   * Called after each commit that added a job event to the outbox: wakes the service's relay at once, in the process,
   * rather than when the database's notification arrives (PGlite's is handed over on a later turn of the event loop).
   */
  eventsCommitted: () => void;
}

export function jobsRoutes(options: JobsServiceOptions): FastifyPluginAsync {
  const { db, auth, cache, eventsCommitted } = options;

  /** The job, when the caller owns it: 404 for no such job, 403 for someone else's. */
  const ownedJob = async (q: Queryable, id: string, userId: string): Promise<JobRow> => {
    const job = await selectJob(q, id);
    if (job === null) throw notFound(`no job ${id}`);
    if (job.employer_id !== userId) throw forbidden("only the employer who posted this job may change it");
    return job;
  };

  return async (app) => {
    route(app, "POST", "/api/jobs/", [auth.requireRole(EMPLOYER)], async (request, reply) => {
      const fields = bodyOf(request, JOB_FIELDS);
      const values = [
        randomUUID(),
        userOf(request).userId,
        requiredText(fields, "title", TITLE_CHARS_MAX),
        requiredText(fields, "description", DESCRIPTION_CHARS_MAX),
        optionalText(fields, "company", JOB_TEXT_CHARS_MAX) ?? "",
        optionalText(fields, "location", JOB_TEXT_CHARS_MAX) ?? "",
        optionalBoolean(fields, "remote") ?? false,
      ];
      const job = await db.transaction(async (tx) => {
        const { rows } = await tx.query<JobRow>(
          `INSERT INTO jobs (id, employer_id, title, description, company, location, remote)
           VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *`,
          values,
        );
        const data = jobOf(rows[0] as JobRow);
        await addToOutbox(tx, jobEvents, { event_type: "job_created", data });
        return data;
      });
      eventsCommitted();
      await cache.invalidate();
      return created(reply, job);
    });

    route(app, "GET", "/api/jobs/", [], async (request, reply) => {
      const page = queryInteger(request, "page", 1, 1, PAGE_MAX);
      const pageSize = queryInteger(request, "page_size", DEFAULT_PAGE_SIZE, 1, PAGE_SIZE_MAX);
      const employer = queryValue(request, "employer");
      const location = queryValue(request, "location");
      const remote = queryBoolean(request, "remote");
      if (location !== undefined && location.length > JOB_TEXT_CHARS_MAX) {
        throw validationFailed("location", `location is longer than ${JOB_TEXT_CHARS_MAX} characters`);
      }
      const query = JSON.stringify([page, pageSize, employer ?? null, location ?? null, remote ?? null]);
      // A client that asks for a fresh answer (Cache-Control: no-cache) gets one, which also refreshes the cache.
      const fresh = /no-cache/i.test(request.headers["cache-control"] ?? "");
      const cached = fresh ? { ...(await cache.get(query)), body: null } : await cache.get(query);
      if (cached.body !== null) {
        return reply.header("x-cache", "hit").type("application/json; charset=utf-8").send(cached.body);
      }
      const conditions: string[] = [];
      const parameters: unknown[] = [];
      if (employer !== undefined && employer !== "") {
        parameters.push(employer);
        conditions.push(`employer_id = $${parameters.length}`);
      }
      if (location !== undefined && location !== "") {
        parameters.push(`%${location.replace(/[\\%_]/g, "\\$&")}%`);
        conditions.push(`location ILIKE $${parameters.length}`);
      }
      if (remote !== undefined) {
        parameters.push(remote);
        conditions.push(`remote = $${parameters.length}`);
      }
      const where = conditions.length === 0 ? "" : `WHERE ${conditions.join(" AND ")}`;
      const count = await db.query<{ count: string | number }>(
        `SELECT count(*) AS count FROM jobs ${where}`,
        parameters,
      );
      const rows = await db.query<JobRow>(
        `SELECT * FROM jobs ${where} ORDER BY created_at DESC, id LIMIT ${pageSize} OFFSET ${(page - 1) * pageSize}`,
        parameters,
      );
      const body = JSON.stringify({
        count: Number(count.rows[0]?.count ?? 0),
        page,
        page_size: pageSize,
        results: rows.rows.map(jobOf),
      });
      await cache.put(cached.generation, query, body);
      return reply.header("x-cache", "miss").type("application/json; charset=utf-8").send(body);
    });

    route(app, "GET", "/api/jobs/:id/", [], async (request) => {
      const id = pathId(request, "job");
      const job = await selectJob(db, id);
      if (job === null) throw notFound(`no job ${id}`);
      return jobOf(job);
    });

    route(app, "PATCH", "/api/jobs/:id/", [auth.requireUser], async (request) => {
      const id = pathId(request, "job");
      const fields = bodyOf(request, JOB_FIELDS);
      const changes: Array<[string, unknown]> = [];
      const title = optionalText(fields, "title", TITLE_CHARS_MAX);
      const description = optionalText(fields, "description", DESCRIPTION_CHARS_MAX);
      if (title === "") throw validationFailed("title", "title must not be empty");
      if (description === "") throw validationFailed("description", "description must not be empty");
      if (title !== undefined) changes.push(["title", title]);
      if (description !== undefined) changes.push(["description", description]);
      for (const field of ["company", "location"] as const) {
        const value = optionalText(fields, field, JOB_TEXT_CHARS_MAX);
        if (value !== undefined) changes.push([field, value]);
      }
      const remote = optionalBoolean(fields, "remote");
      if (remote !== undefined) changes.push(["remote", remote]);
      if (changes.length === 0) throw validationFailed("(body)", `send at least one of ${JOB_FIELDS.join(", ")}`);
      const userId = userOf(request).userId;
      const job = await db.transaction(async (tx) => {
        await ownedJob(tx, id, userId);
        const sets = changes.map(([field], index) => `${field} = $${index + 2}`).join(", ");
        const { rows } = await tx.query<JobRow>(
          `UPDATE jobs SET ${sets}, version = version + 1, updated_at = now() WHERE id = $1 RETURNING *`,
          [id, ...changes.map(([, value]) => value)],
        );
        const data = jobOf(rows[0] as JobRow);
        await addToOutbox(tx, jobEvents, { event_type: "job_updated", data });
        return data;
      });
      eventsCommitted();
      await cache.invalidate();
      return job;
    });

    route(app, "DELETE", "/api/jobs/:id/", [auth.requireUser], async (request, reply) => {
      const id = pathId(request, "job");
      const userId = userOf(request).userId;
      await db.transaction(async (tx) => {
        const job = await ownedJob(tx, id, userId);
        await tx.query("DELETE FROM jobs WHERE id = $1", [id]);
        const data = { id, version: job.version + 1, employer_id: job.employer_id };
        await addToOutbox(tx, jobEvents, { event_type: "job_deleted", data });
      });
      eventsCommitted();
      await cache.invalidate();
      return reply.status(204).send();
    });
  };
}
