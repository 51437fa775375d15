// A small app for testing how `sluice up` runs apps: one service with its own schema, an HTTP role that writes
// through the outbox (with its relay) and a worker role that consumes what the relay publishes.

import { Type } from "@sinclair/typebox";

import type { AppImplementation, AppManifest, RoleContext } from "../../../src/apps/app.js";
import { addToOutbox, createConsumer, defineTopic, newEventId, type Database } from "../../../src/toolkit/index.js";

export const FIXTURE_SERVICE = "fixture-ledger";

const entryAdded = defineTopic({
  name: "fixture.entries",
  partitions: 2,
  schema: Type.Object({ label: Type.String({ minLength: 1, maxLength: 100 }) }),
  key: (entry) => entry.label,
});

function databaseOf(context: RoleContext): Database {
  if (context.database === null) throw new Error("the fixture's roles need their database");
  return context.database;
}

const implementation: AppImplementation = {
  topics: [{ name: entryAdded.name, partitions: entryAdded.partitions }],
  migrations: {
    [FIXTURE_SERVICE]: [{ component: "fixture", directory: new URL("./fixture-migrations/", import.meta.url) }],
  },
  async startRole(role, context) {
    const db = databaseOf(context);
    if (role === "fixture-api") {
      return {
        routes: async (app) => {
          app.post<{ Body: { label: string } }>("/api/entries", async (request, reply) => {
            const id = newEventId();
            const { label } = request.body;
            await db.transaction(async (tx) => {
              await tx.query("INSERT INTO entries (id, label) VALUES ($1, $2)", [id, label]);
              await addToOutbox(tx, entryAdded, { label }, { eventId: id });
            });
            return reply.code(202).send({ id });
          });
          app.get("/api/entries", async () => (await db.query("SELECT id, label FROM entries ORDER BY label")).rows);
          app.get("/api/registry", async () => ({ url: context.registryUrl }));
          app.get("/api/seen", async () => (await db.query("SELECT id, label FROM seen ORDER BY label")).rows);
        },
        components: [context.outboxRelay()],
      };
    }
    return {
      components: [
        createConsumer({
          client: context.kafka,
          db,
          groupId: "fixture-worker",
          topics: [entryAdded],
          name: "fixture-worker",
          sessionTimeoutMs: context.settings.workerSessionTimeoutMs,
          logger: context.logger,
          async handler(event, tx) {
            await tx.query("INSERT INTO seen (id, label) VALUES ($1, $2) ON CONFLICT DO NOTHING", [
              event.id,
              event.value.label,
            ]);
          },
        }),
      ],
    };
  },
};

export const fixtureApp: AppManifest = {
  name: "fixture",
  title: "Fixture",
  pagePath: "/api/entries",
  services: [{ name: FIXTURE_SERVICE }],
  roles: [
    { name: "fixture-api", description: "the fixture's API and relay", service: FIXTURE_SERVICE, http: true },
    { name: "fixture-worker", description: "the fixture's consumer", service: FIXTURE_SERVICE, http: false },
  ],
  load: async () => implementation,
};
