// Wordium's notifications service: it stores each user-notifications event as the recipient's notification (read
// or unread; the row's id is the event's, so a redelivery adds nothing), and writes administrators' broadcasts with
// their notification.broadcast event in one transaction. Browsers receive both live from the WebSocket gateway,
// which reads the same topics; this service keeps them for later reading.

import type { FastifyPluginAsync } from "fastify";

import { ADMIN_ROLE, type Auth } from "../../gateway/auth/auth.js";
import { unauthorized, validationFailed } from "../../gateway/errors.js";
import { addToOutbox, createConsumer, newEventId, type Database, type InboxConsumer } from "../../toolkit/index.js";
import { objectBody, readId, readPageQuery, requiredText } from "./input.js";
import { BROADCAST_MESSAGE_CHARS_MAX, broadcastTopic, userNotificationTopic } from "./topics.js";
import type { WordiumConsumerOptions } from "./consumer-options.js";

export const NOTIFICATIONS_CONSUMER_GROUP = "wordium-notifications";
/** Ids one POST /api/notifications/read may name. */
export const READ_IDS_MAX = 500;

/** The consumer's database and client, and any of the toolkit's consumer settings (tests shorten timings, add hooks). */
export type NotificationsConsumerOptions = WordiumConsumerOptions;

export function createNotificationsConsumer(options: NotificationsConsumerOptions): InboxConsumer {
  return createConsumer({
    ...options,
    groupId: NOTIFICATIONS_CONSUMER_GROUP,
    name: "wordium-notifications-consumer",
    topics: [userNotificationTopic],
    async handler(event, tx) {
      const notification = event.value;
      await tx.query(
        `INSERT INTO notifications (id, recipient_id, kind, actor_id, actor, created_at) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (id) DO NOTHING`,
        [
          event.id,
          notification.recipientId,
          notification.kind,
          notification.actorId,
          notification.actor,
          notification.createdAt,
        ],
      );
    },
  });
}

interface NotificationRow {
  id: string;
  kind: string;
  actor_id: string;
  actor: string;
  created_at: Date;
  read_at: Date | null;
}

function readIds(body: unknown): string[] | null {
  const fields = body === undefined || body === null ? {} : objectBody(body);
  const ids = fields.ids;
  if (ids === undefined) return null;
  if (!Array.isArray(ids) || ids.length > READ_IDS_MAX) {
    throw validationFailed("ids", `ids must be an array of at most ${READ_IDS_MAX} notification ids`);
  }
  return ids.map((id, index) => readId(`ids[${index}]`, id));
}

export function notificationsServiceRoutes(options: { db: Database; auth: Auth }): FastifyPluginAsync {
  const { db, auth } = options;
  const recipientOf = (user: { userId: string } | null): string => {
    if (user === null) throw unauthorized("sign in to read your notifications");
    return user.userId;
  };

  return async (app) => {
    app.get("/api/notifications", { preHandler: auth.requireUser }, async (request) => {
      const recipient = recipientOf(request.user);
      const { limit } = readPageQuery(request.query);
      const [list, unread] = await Promise.all([
        db.query<NotificationRow>(
          `SELECT id, kind, actor_id, actor, created_at, read_at FROM notifications
            WHERE recipient_id = $1 ORDER BY created_at DESC, id LIMIT $2`,
          [recipient, limit],
        ),
        db.query<{ count: string | number }>(
          "SELECT count(*) AS count FROM notifications WHERE recipient_id = $1 AND read_at IS NULL",
          [recipient],
        ),
      ]);
      return {
        notifications: list.rows.map((row) => ({
          id: row.id,
          kind: row.kind,
          actorId: row.actor_id,
          actor: row.actor,
          createdAt: row.created_at.toISOString(),
          read: row.read_at !== null,
        })),
        unread: Number(unread.rows[0]?.count ?? 0),
      };
    });

    app.post("/api/notifications/read", { preHandler: auth.requireUser }, async (request) => {
      const recipient = recipientOf(request.user);
      const ids = readIds(request.body);
      const marked =
        ids === null
          ? await db.query("UPDATE notifications SET read_at = now() WHERE recipient_id = $1 AND read_at IS NULL", [
              recipient,
            ])
          : await db.query(
              `UPDATE notifications SET read_at = now()
                WHERE recipient_id = $1 AND read_at IS NULL AND id = ANY($2::uuid[])`,
              [recipient, ids],
            );
      return { marked: marked.rowCount ?? 0 };
    });

    app.post("/api/notifications/broadcast", { preHandler: auth.requireRole(ADMIN_ROLE) }, async (request, reply) => {
      const sender = request.user;
      if (sender === null) throw unauthorized("sign in as an administrator to broadcast");
      const message = requiredText(objectBody(request.body), "message", 1, BROADCAST_MESSAGE_CHARS_MAX);
      const id = newEventId();
      const sentAt = new Date();
      await db.transaction(async (tx) => {
        await tx.query("INSERT INTO broadcasts (id, message, sent_by, sent_at) VALUES ($1, $2, $3, $4)", [
          id,
          message,
          sender.username,
          sentAt,
        ]);
        await addToOutbox(
          tx,
          broadcastTopic,
          { message, sentBy: sender.username, sentAt: sentAt.toISOString() },
          { eventId: id, time: sentAt },
        );
      });
      return reply.status(202).send({ id });
    });
  };
}
