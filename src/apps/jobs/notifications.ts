// The notification service: an employer hears of each application to their jobs, an applicant of each change of
// their application's status, and a new user is welcomed. Each notification has the id of the event it came from,
// so a redelivery cannot notify twice; it is stored and, in the same transaction, sent to the recipient's private
// live stream (jobs-notifications, keyed by user id) through the outbox.

import type { FastifyPluginAsync } from "fastify";

import type { Auth } from "../../gateway/auth/auth.js";
import { notFound } from "../../gateway/errors.js";
import { addToOutbox, type Database, type Queryable } from "../../toolkit/index.js";
import { dataOf, notificationEvents, type ApplicationEventData, type UserEventData } from "./events.js";
import { pathId, queryBoolean, route, userOf } from "./http.js";

export const NOTIFICATIONS_PAGE_MAX = 100;

interface NotificationRow {
  id: string;
  user_id: string;
  kind: string;
  message: string;
  job_id: string | null;
  application_id: string | null;
  read: boolean;
  created_at: Date;
}

function notificationOf(row: NotificationRow) {
  return { ...row, created_at: row.created_at.toISOString() };
}

interface Notice {
  userId: string;
  kind: string;
  message: string;
  jobId: string | null;
  applicationId: string | null;
}

function noticeFor(topic: string, event: { event_type: string; data: { id: string; version: number } }): Notice | null {
  if (topic === "user-events" && event.event_type === "user_registered") {
    const user = dataOf<UserEventData>(event);
    return {
      userId: user.id,
      kind: "welcome",
      message: `Welcome to the jobs board, ${user.username}!`,
      jobId: null,
      applicationId: null,
    };
  }
  if (topic !== "application-events") return null;
  const application = dataOf<ApplicationEventData>(event);
  if (event.event_type === "application_submitted") {
    return {
      userId: application.employer_id,
      kind: "application_submitted",
      message: `${application.applicant_username} applied to "${application.job_title}"`,
      jobId: application.job_id,
      applicationId: application.id,
    };
  }
  if (event.event_type === "application_status_changed") {
    return {
      userId: application.applicant_id,
      kind: "application_status_changed",
      message: `Your application to "${application.job_title}" is now ${application.status}`,
      jobId: application.job_id,
      applicationId: application.id,
    };
  }
  return null;
}

/** Handles one consumed event: stores its notification, if it makes one, and sends it live. */
export async function notifyOf(
  tx: Queryable,
  event: { id: string; topic: string; value: { event_type: string; data: { id: string; version: number } } },
): Promise<void> {
  const notice = noticeFor(event.topic, event.value);
  if (notice === null) return;
  const { rows } = await tx.query<NotificationRow>(
    `INSERT INTO notifications (id, user_id, kind, message, job_id, application_id) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (id) DO NOTHING RETURNING *`,
    [event.id, notice.userId, notice.kind, notice.message, notice.jobId, notice.applicationId],
  );
  const row = rows[0];
  if (row === undefined) return;
  await addToOutbox(tx, notificationEvents, {
    id: row.id,
    user_id: row.user_id,
    kind: row.kind,
    message: row.message,
    created_at: row.created_at.toISOString(),
  });
}

export function notificationsRoutes(options: { db: Database; auth: Auth }): FastifyPluginAsync {
  const { db, auth } = options;
  return async (app) => {
    route(app, "GET", "/api/notifications/", [auth.requireUser], async (request) => {
      const unreadOnly = queryBoolean(request, "unread") === true;
      const userId = userOf(request).userId;
      const { rows } = await db.query<NotificationRow>(
        `SELECT * FROM notifications WHERE user_id = $1 ${unreadOnly ? "AND NOT read" : ""}
         ORDER BY created_at DESC LIMIT ${NOTIFICATIONS_PAGE_MAX}`,
        [userId],
      );
      const unread = await db.query<{ count: string | number }>(
        "SELECT count(*) AS count FROM notifications WHERE user_id = $1 AND NOT read",
        [userId],
      );
      return { count: rows.length, unread: Number(unread.rows[0]?.count ?? 0), results: rows.map(notificationOf) };
    });

    route(app, "POST", "/api/notifications/read/", [auth.requireUser], async (request) => {
      const result = await db.query("UPDATE notifications SET read = true WHERE user_id = $1 AND NOT read", [
        userOf(request).userId,
      ]);
      return { marked_read: result.rowCount ?? 0 };
    });

    route(app, "POST", "/api/notifications/:id/read/", [auth.requireUser], async (request) => {
      const id = pathId(request, "notification");
      const { rows } = await db.query<NotificationRow>(
        "UPDATE notifications SET read = true WHERE id = $1 AND user_id = $2 RETURNING *",
        [id, userOf(request).userId],
      );
      const row = rows[0];
      if (row === undefined) throw notFound(`no notification ${id} of yours`);
      return notificationOf(row);
    });
  };
}
