// The worker: an idempotent (inbox) consumer of messages.saved that stores each message and, in the same
// transaction, adds a messages.stored event to the outbox, so that watchers learn the message is on the board. The
// consumer hands it a partition's events a group at a time (groupHandler): one INSERT stores them all and one adds
// their events, rather than two statements per message; the one-event handler does the same work when a group
// fails and its events run one by one.

import {
  addEncodedToOutbox,
  addToOutbox,
  createConsumer,
  encodeEvent,
  type DatabaseSession,
  type InboxConsumer,
  type TransportClient,
  type RetryOptions,
  type ToolkitLogger,
} from "../../toolkit/index.js";
import { insertMessage, insertMessages } from "./messages-sql.js";
import { messageSavedTopic, messageStoredTopic } from "./topics.js";

export const MESSAGES_WORKER_GROUP_ID = "messages-worker";

export interface MessagesWorkerOptions {
  /** A Kafka client, or an AMQP one (RabbitMQ's task_queue). */
  client: TransportClient;
  db: DatabaseSession;
  groupId?: string;
  retry?: RetryOptions;
  /** Consumer session settings; tests that restart workers often shorten them. */
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  logger?: ToolkitLogger;
}

export function createMessagesWorker(options: MessagesWorkerOptions): InboxConsumer {
  return createConsumer({
    client: options.client,
    db: options.db,
    groupId: options.groupId ?? MESSAGES_WORKER_GROUP_ID,
    topics: [messageSavedTopic],
    name: "messages-worker",
    retry: options.retry,
    sessionTimeoutMs: options.sessionTimeoutMs,
    heartbeatIntervalMs: options.heartbeatIntervalMs,
    logger: options.logger,
    async groupHandler(events, tx) {
      const stored = await insertMessages(
        tx,
        events.map((event) => ({
          id: event.id,
          text: event.value.text,
          template: event.value.template,
          author: event.value.author,
          acceptedAt: event.value.acceptedAt,
        })),
      );
      // Messages stored by an earlier delivery (which also announced them) are not returned.
      const traceOf = new Map(events.map((event) => [event.id, event.traceparent]));
      const announcements = await Promise.all(
        stored.map((message) =>
          encodeEvent(
            messageStoredTopic,
            { messageId: message.id, cursor: message.cursor, storedAt: message.storedAt },
            { parentTraceparent: traceOf.get(message.id) ?? null },
          ),
        ),
      );
      await addEncodedToOutbox(tx, announcements);
    },
    async handler(event, tx) {
      const stored = await insertMessage(tx, {
        id: event.id,
        text: event.value.text,
        template: event.value.template,
        author: event.value.author,
        acceptedAt: event.value.acceptedAt,
      });
      // Null means the message was stored by an earlier delivery, which also announced it.
      if (stored === null) return;
      await addToOutbox(tx, messageStoredTopic, {
        messageId: stored.id,
        cursor: stored.cursor,
        storedAt: stored.storedAt,
      });
    },
  });
}
