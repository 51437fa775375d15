// Wordium's roles, one per service: each mounts its part of the API and runs its outbox relay, and the users and
// notifications roles run their consumers. The auth role also serves the page.

import type { Auth } from "../../gateway/auth/auth.js";
import { webDirectory, webPage } from "../../gateway/static-files.js";
import type { Database } from "../../toolkit/index.js";
import type { AppImplementation, AppMigrations, RoleContext, RoleParts } from "../app.js";
import { authServiceRoutes } from "./auth-service.js";
import { AUTH_SERVICE, NOTIFICATIONS_SERVICE, POSTS_SERVICE, USERS_SERVICE } from "./manifest.js";
import { createNotificationsConsumer, notificationsServiceRoutes } from "./notifications-service.js";
import { postsServiceRoutes } from "./posts-service.js";
import { WORDIUM_TOPICS } from "./topics.js";
import { createUsersConsumer, usersServiceRoutes } from "./users-service.js";

export function wordiumMigrations(directory: "auth" | "users" | "posts" | "notifications"): AppMigrations[] {
  return [{ component: `wordium-${directory}`, directory: new URL(`./migrations/${directory}/`, import.meta.url) }];
}

function needs(context: RoleContext): { db: Database; auth: Auth } {
  if (context.database === null) throw new Error(`role ${context.role} needs its service's database`);
  if (context.auth === null || context.auth.mode === "off") {
    throw new Error(`role ${context.role} needs accounts and tokens: run it with an auth mode other than "off"`);
  }
  return { db: context.database, auth: context.auth };
}

const PAGE_FILES = {
  "/": "index.html",
  "/wordium.css": "wordium.css",
  "/wordium.js": "wordium.js",
};

export const wordiumImplementation: AppImplementation = {
  topics: WORDIUM_TOPICS.map((topic) => ({ name: topic.name, partitions: topic.partitions })),
  migrations: {
    [AUTH_SERVICE]: wordiumMigrations("auth"),
    [USERS_SERVICE]: wordiumMigrations("users"),
    [POSTS_SERVICE]: wordiumMigrations("posts"),
    [NOTIFICATIONS_SERVICE]: wordiumMigrations("notifications"),
  },
  async startRole(role: string, context: RoleContext): Promise<RoleParts> {
    const { db, auth } = needs(context);
    const consumerSettings = {
      client: context.kafka,
      db,
      sessionTimeoutMs: context.settings.workerSessionTimeoutMs,
      logger: context.logger,
    };
    switch (role) {
      case AUTH_SERVICE: {
        const api = authServiceRoutes({ db, auth, adminUsers: context.settings.adminUsers });
        const page = webPage(webDirectory("wordium"), PAGE_FILES);
        return {
          routes: async (app) => {
            await app.register(page);
            await app.register(api);
          },
          components: [context.outboxRelay()],
        };
      }
      case USERS_SERVICE:
        return {
          routes: usersServiceRoutes({ db, auth }),
          components: [createUsersConsumer(consumerSettings), context.outboxRelay()],
        };
      case POSTS_SERVICE:
        return { routes: postsServiceRoutes({ db, auth }), components: [context.outboxRelay()] };
      case NOTIFICATIONS_SERVICE:
        return {
          routes: notificationsServiceRoutes({ db, auth }),
          components: [createNotificationsConsumer(consumerSettings), context.outboxRelay()],
        };
      default:
        throw new Error(`Wordium has no role "${role}"`);
    }
  },
};
