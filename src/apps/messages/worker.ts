// The worker: an idempotent (inbox) consumer of messages.saved that stores each message and, in the same
// transaction, adds a messages.stored event to the outbox, so that watchers learn the message is on the board.

import {
  addToOutbox,
  createConsumer,
  type DatabaseSession,
  type InboxConsumer,
  type TransportClient,
  type RetryOptions,
  type ToolkitLogger,
} from "../../toolkit/index.js";
import { insertMessage } from "./messages-sql.js";
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
