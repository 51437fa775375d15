// The analytics service: every event of the three topics, recorded once by its event id (a redelivery adds
// nothing, and arrival order changes no count), and the summary the page charts: totals and per-hour counts by
// event type, applications per job and the application funnel.

import type { FastifyPluginAsync } from "fastify";

import type { Database, Queryable } from "../../toolkit/index.js";
import { dataOf, type ApplicationEventData } from "./events.js";
import { queryInteger, route } from "./http.js";

export const DEFAULT_SUMMARY_HOURS = 24;
export const SUMMARY_HOURS_MAX = 24 * 31;
export const TOP_JOBS_MAX = 20;

export async function recordEvent(
  tx: Queryable,
  event: {
    id: string;
    topic: string;
    time: Date;
    value: { event_type: string; data: { id: string; version: number } };
  },
): Promise<void> {
  const application = event.topic === "application-events" ? dataOf<ApplicationEventData>(event.value) : null;
  const jobId = event.topic === "job-events" ? event.value.data.id : (application?.job_id ?? null);
  await tx.query(
    `INSERT INTO analytics_events (event_id, topic, event_type, occurred_at, entity_id, job_id, job_title, status)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (event_id) DO NOTHING`,
    [
      event.id,
      event.topic,
      event.value.event_type,
      event.time,
      event.value.data.id,
      jobId,
      application?.job_title ?? null,
      application?.status ?? null,
    ],
  );
}

const count = (value: unknown): number => Number(value ?? 0);

export function analyticsRoutes(options: { db: Database }): FastifyPluginAsync {
  const { db } = options;
  return async (app) => {
    route(app, "GET", "/api/analytics/summary/", [], async (request) => {
      const hours = queryInteger(request, "hours", DEFAULT_SUMMARY_HOURS, 1, SUMMARY_HOURS_MAX);
      const totals = await db.query<{ event_type: string; count: unknown }>(
        "SELECT event_type, count(*) AS count FROM analytics_events GROUP BY event_type ORDER BY event_type",
      );
      const perHour = await db.query<{ hour: Date; event_type: string; count: unknown }>(
        `SELECT date_trunc('hour', occurred_at) AS hour, event_type, count(*) AS count FROM analytics_events
         WHERE occurred_at >= now() - make_interval(hours => $1::int)
         GROUP BY 1, 2 ORDER BY 1, 2`,
        [hours],
      );
      const perJob = await db.query<{ job_id: string; job_title: string; count: unknown }>(
        `SELECT job_id, max(job_title) AS job_title, count(*) AS count FROM analytics_events
         WHERE event_type = 'application_submitted' GROUP BY job_id ORDER BY count(*) DESC, job_id LIMIT ${TOP_JOBS_MAX}`,
      );
      // Each application counts once per stage it reached, whatever order its events came in.
      const funnel = await db.query<{ submitted: unknown; reviewed: unknown; accepted: unknown; rejected: unknown }>(
        `SELECT count(DISTINCT entity_id) FILTER (WHERE event_type = 'application_submitted') AS submitted,
           count(DISTINCT entity_id) FILTER (WHERE status IN ('reviewed', 'accepted', 'rejected')) AS reviewed,
           count(DISTINCT entity_id) FILTER (WHERE status = 'accepted') AS accepted,
           count(DISTINCT entity_id) FILTER (WHERE status = 'rejected') AS rejected
         FROM analytics_events WHERE topic = 'application-events'`,
      );
      const stages = funnel.rows[0];
      return {
        total_events: totals.rows.reduce((sum, row) => sum + count(row.count), 0),
        totals: Object.fromEntries(totals.rows.map((row) => [row.event_type, count(row.count)])),
        per_hour: perHour.rows.map((row) => ({
          hour: new Date(row.hour).toISOString(),
          event_type: row.event_type,
          count: count(row.count),
        })),
        applications_per_job: perJob.rows.map((row) => ({
          job_id: row.job_id,
          job_title: row.job_title,
          applications: count(row.count),
        })),
        funnel: {
          submitted: count(stages?.submitted),
          reviewed: count(stages?.reviewed),
          accepted: count(stages?.accepted),
          rejected: count(stages?.rejected),
        },
      };
    });
  };
}
