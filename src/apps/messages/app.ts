// The message board's roles: the API (routes), the worker (an idempotent consumer) and the relay of its outbox.

import type { AppImplementation, RoleContext, RoleParts } from "../app.js";
import { MESSAGES_SERVICE } from "./manifest.js";
import { MESSAGES_MIGRATIONS_COMPONENT, MESSAGES_MIGRATIONS_DIR } from "./migrations.js";
import { messageBoardRoutes } from "./routes.js";
import { MESSAGE_TOPICS, messageSavedTopic } from "./topics.js";
import { createMessagesWorker } from "./worker.js";

/** The RabbitMQ queue messages.saved becomes with `sluice up --transport amqp://…`, as in the original system. */
export const MESSAGES_TASK_QUEUE = "task_queue";

/** Heartbeats go out five times per session timeout, and never more often than every 100 ms. */
const HEARTBEATS_PER_SESSION = 5;
const HEARTBEAT_INTERVAL_MS_MIN = 100;

function databaseOf(context: RoleContext) {
  if (context.database === null) throw new Error(`role ${context.role} needs the message board's database`);
  return context.database;
}

export const messagesImplementation: AppImplementation = {
  topics: MESSAGE_TOPICS.map((topic) => ({ name: topic.name, partitions: topic.partitions })),
  // The work queue of the original save/view system; messages.stored, which the page watches live, stays on the broker.
  amqpQueues: { [messageSavedTopic.name]: MESSAGES_TASK_QUEUE },
  migrations: {
    [MESSAGES_SERVICE]: [{ component: MESSAGES_MIGRATIONS_COMPONENT, directory: MESSAGES_MIGRATIONS_DIR }],
  },
  async startRole(role: string, context: RoleContext): Promise<RoleParts> {
    switch (role) {
      case "api":
        return {
          routes: messageBoardRoutes({
            db: databaseOf(context),
            requireAuth: context.auth?.requireAuth ?? null,
            textCharsMax: context.settings.messageTextCharsMax,
            groupCommitBatchMax: context.settings.groupCommitBatchMax,
            groupCommitWaitMs: context.settings.groupCommitWaitMs,
          }),
        };
      case "worker": {
        const sessionTimeoutMs = context.settings.workerSessionTimeoutMs;
        const worker = createMessagesWorker({
          client: context.transport,
          db: databaseOf(context),
          sessionTimeoutMs,
          heartbeatIntervalMs: Math.max(
            HEARTBEAT_INTERVAL_MS_MIN,
            Math.floor(sessionTimeoutMs / HEARTBEATS_PER_SESSION),
          ),
          logger: context.logger,
        });
        return { components: [worker] };
      }
      case "relay":
        return { components: [context.outboxRelay()] };
      default:
        throw new Error(`the message board has no role "${role}"`);
    }
  },
};
