// The message board as `sluice up` sees it: one service whose tables stay in the database's own schema, and the
// three roles it has always had, so that `--only api|worker|relay` and the deployments built on them keep working.

import type { AppManifest } from "../app.js";

export const MESSAGES_SERVICE = "messages";

export const messagesApp: AppManifest = {
  name: "messages",
  title: "Message board",
  pagePath: "/",
  services: [{ name: MESSAGES_SERVICE, usesDatabaseSchema: true }],
  roles: [
    {
      name: "api",
      description: "the message board's API, page and WebSocket gateway",
      service: MESSAGES_SERVICE,
      http: true,
    },
    {
      name: "worker",
      description: "stores accepted messages (an idempotent consumer)",
      service: MESSAGES_SERVICE,
      http: false,
    },
    { name: "relay", description: "publishes the message board's outbox", service: MESSAGES_SERVICE, http: false },
  ],
  load: () => import("./app.js").then((module) => module.messagesImplementation),
};
