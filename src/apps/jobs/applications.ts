// The application service: job seekers apply to jobs (one application per job and person), employers review the
// applications to their own jobs and change their status. It learns which jobs exist, who owns them and whether
// they were deleted from job events alone (known_jobs), never from the job service's tables.

import { randomUUID } from "node:crypto";

import type { FastifyPluginAsync } from "fastify";

import type { Auth } from "../../gateway/auth/auth.js";
import { notFound, validationFailed } from "../../gateway/errors.js";
import { addToOutbox, type Database, type Queryable } from "../../toolkit/index.js";
import { applicationEvents, dataOf, type ApplicationEventData, type JobEventData } from "./events.js";
import {
  bodyOf,
  conflict,
  created,
  EMPLOYER,
  forbidden,
  JOB_SEEKER,
  optionalText,
  pathId,
  queryValue,
  requiredText,
  route,
  userOf,
  userTypeOf,
} from "./http.js";

export const COVER_LETTER_CHARS_MAX = 5_000;
export const REVIEW_STATUSES = ["reviewed", "accepted", "rejected"] as const;
export const APPLICATIONS_PAGE_MAX = 200;
const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface ApplicationRow {
  id: string;
  job_id: string;
  job_title: string;
  employer_id: string;
  applicant_id: string;
  applicant_username: string;
  cover_letter: string;
  status: string;
  version: number;
  created_at: Date;
  updated_at: Date;
}

function applicationOf(row: ApplicationRow) {
  return {
    id: row.id,
    job_id: row.job_id,
    job_title: row.job_title,
    employer_id: row.employer_id,
    applicant_id: row.applicant_id,
    applicant_username: row.applicant_username,
    cover_letter: row.cover_letter,
    status: row.status,
    version: row.version,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}

function eventData(row: ApplicationRow, previousStatus?: string): ApplicationEventData {
  const data: ApplicationEventData = {
    id: row.id,
    version: row.version,
    job_id: row.job_id,
    job_title: row.job_title,
    employer_id: row.employer_id,
    applicant_id: row.applicant_id,
    applicant_username: row.applicant_username,
    status: row.status,
  };
  if (previousStatus !== undefined) data.previous_status = previousStatus;
  return data;
}

/** Keeps known_jobs up to date from one job event; an event older than what is known changes nothing. */
export async function rememberJob(tx: Queryable, eventType: string, data: JobEventData): Promise<void> {
  await tx.query(
    `INSERT INTO known_jobs (id, employer_id, title, deleted, version) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (id) DO UPDATE SET
       employer_id = EXCLUDED.employer_id,
       title = CASE WHEN EXCLUDED.deleted THEN known_jobs.title ELSE EXCLUDED.title END,
       deleted = EXCLUDED.deleted, version = EXCLUDED.version
     WHERE known_jobs.version < EXCLUDED.version`,
    [data.id, data.employer_id, data.title ?? "", eventType === "job_deleted", data.version],
  );
}

export function jobEventForApplications(
  tx: Queryable,
  event: { event_type: string; data: { id: string; version: number } },
) {
  return rememberJob(tx, event.event_type, dataOf<JobEventData>(event));
}

export interface ApplicationsServiceOptions {
  db: Database;
  auth: Auth;
}

export function applicationsRoutes(options: ApplicationsServiceOptions): FastifyPluginAsync {
  const { db, auth } = options;
  return async (app) => {
    route(app, "POST", "/api/applications/", [auth.requireRole(JOB_SEEKER)], async (request, reply) => {
      const fields = bodyOf(request, ["job_id", "cover_letter"]);
      const jobId = requiredText(fields, "job_id", 64);
      if (!UUID_PATTERN.test(jobId)) throw validationFailed("job_id", "job_id must be a job's id");
      const coverLetter = optionalText(fields, "cover_letter", COVER_LETTER_CHARS_MAX) ?? "";
      const user = userOf(request);
      const application = await db.transaction(async (tx) => {
        const job = (
          await tx.query<{ employer_id: string; title: string; deleted: boolean }>(
            "SELECT employer_id, title, deleted FROM known_jobs WHERE id = $1",
            [jobId.toLowerCase()],
          )
        ).rows[0];
        if (job === undefined || job.deleted) {
          throw notFound(
            `job ${jobId} is not open for applications (a job posted this moment may take a moment to arrive)`,
          );
        }
        const inserted = await tx.query<ApplicationRow>(
          `INSERT INTO applications (id, job_id, job_title, employer_id, applicant_id, applicant_username, cover_letter, status)
           VALUES ($1, $2, $3, $4, $5, $6, $7, 'submitted')
           ON CONFLICT (job_id, applicant_id) DO NOTHING RETURNING *`,
          [randomUUID(), jobId.toLowerCase(), job.title, job.employer_id, user.userId, user.username, coverLetter],
        );
        const row = inserted.rows[0];
        if (row === undefined) throw conflict("you have already applied to this job", "job_id");
        await addToOutbox(tx, applicationEvents, { event_type: "application_submitted", data: eventData(row) });
        return row;
      });
      return created(reply, applicationOf(application));
    });

    route(app, "GET", "/api/applications/", [auth.requireUser], async (request) => {
      const user = userOf(request);
      const jobId = queryValue(request, "job_id");
      const column = userTypeOf(user) === EMPLOYER ? "employer_id" : "applicant_id";
      const parameters: unknown[] = [user.userId];
      let where = `${column} = $1`;
      if (jobId !== undefined && jobId !== "") {
        parameters.push(jobId.toLowerCase());
        where += " AND job_id = $2";
      }
      const { rows } = await db.query<ApplicationRow>(
        `SELECT * FROM applications WHERE ${where} ORDER BY created_at DESC LIMIT ${APPLICATIONS_PAGE_MAX}`,
        parameters,
      );
      return { count: rows.length, results: rows.map(applicationOf) };
    });

    route(app, "GET", "/api/applications/:id/", [auth.requireUser], async (request) => {
      const id = pathId(request, "application");
      const row = (await db.query<ApplicationRow>("SELECT * FROM applications WHERE id = $1", [id])).rows[0];
      const userId = userOf(request).userId;
      if (row === undefined || (row.applicant_id !== userId && row.employer_id !== userId)) {
        throw notFound(`no application ${id} of yours`);
      }
      return applicationOf(row);
    });

    route(app, "PATCH", "/api/applications/:id/", [auth.requireUser], async (request) => {
      const id = pathId(request, "application");
      const status = requiredText(bodyOf(request, ["status"]), "status", 32);
      if (!(REVIEW_STATUSES as readonly string[]).includes(status)) {
        throw validationFailed("status", `status must be one of ${REVIEW_STATUSES.join(", ")}`);
      }
      const userId = userOf(request).userId;
      const row = await db.transaction(async (tx) => {
        const current = (await tx.query<ApplicationRow>("SELECT * FROM applications WHERE id = $1 FOR UPDATE", [id]))
          .rows[0];
        if (current === undefined) throw notFound(`no application ${id}`);
        if (current.employer_id !== userId) {
          throw forbidden("only the employer who posted the job may change an application's status");
        }
        if (current.status === status) return current;
        const updated = await tx.query<ApplicationRow>(
          "UPDATE applications SET status = $2, version = version + 1, updated_at = now() WHERE id = $1 RETURNING *",
          [id, status],
        );
        const next = updated.rows[0] as ApplicationRow;
        await addToOutbox(tx, applicationEvents, {
          event_type: "application_status_changed",
          data: eventData(next, current.status),
        });
        return next;
      });
      return applicationOf(row);
    });
  };
}
