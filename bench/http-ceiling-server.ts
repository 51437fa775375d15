// The ceiling servers of `bench:http -- --ceiling`, each in a process of its own so that its CPU time is its alone:
// a bare Fastify app (no logging, hooks, metrics or auth) with POST /api/messages, which checks the body with the
// message board's own readMessageBody and answers 202 with the board's answer, and
//   --mode bare     without any database;
//   --mode gateway  the same route on Sluice's gateway (createGateway: its request id, hooks, logging check and
//                   metrics), without any database: what the gateway adds to a request;
//   --mode insert   after one group-committed multi-row INSERT per group into a table on the PostgreSQL server
//                   (--database-url, --schema), through the toolkit's GroupCommit and the store, as the board's API
//                   writes its outbox (one statement per group, without BEGIN and COMMIT).
// Prints its URL on stdout once it listens; ends on SIGTERM.

import { randomUUID } from "node:crypto";

import Fastify, { type FastifyInstance } from "fastify";
import { pino } from "pino";

import { readMessageBody, DEFAULT_MESSAGE_TEXT_CHARS_MAX, type MessageInput } from "../src/apps/messages/message.js";
import { createGateway } from "../src/gateway/server.js";
import { openDatabase, type Database } from "../src/store/index.js";
import { GroupCommit } from "../src/toolkit/group-commit.js";

const args = process.argv.slice(2);
function argument(name: string): string | null {
  const index = args.indexOf(name);
  return index < 0 ? null : (args[index + 1] ?? null);
}

const mode = argument("--mode");
if (mode !== "bare" && mode !== "gateway" && mode !== "insert") throw new Error("--mode is bare, gateway or insert");

const TABLE_SQL =
  "CREATE TABLE IF NOT EXISTS ceiling_posts (id uuid PRIMARY KEY, body text NOT NULL, template text NOT NULL, accepted_at timestamptz NOT NULL)";
const INSERT_SQL =
  "INSERT INTO ceiling_posts (id, body, template, accepted_at) " +
  "SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::timestamptz[])";

interface Post {
  id: string;
  input: MessageInput;
  acceptedAt: string;
}

async function openGroup(): Promise<{ db: Database; group: GroupCommit<Post, void> }> {
  const url = argument("--database-url");
  const schema = argument("--schema");
  if (url === null || schema === null) throw new Error("--mode insert needs --database-url and --schema");
  const db = await openDatabase({ url, schema, migrate: false });
  await db.exec(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
  await db.exec(TABLE_SQL);
  const group = new GroupCommit<Post, void>({
    db,
    name: "ceiling",
    oneStatement: true,
    write: async (target, posts) => {
      await target.query(INSERT_SQL, [
        posts.map((post) => post.id),
        posts.map((post) => post.input.text),
        posts.map((post) => post.input.template),
        posts.map((post) => post.acceptedAt),
      ]);
      return posts.map(() => ({ ok: true, value: undefined }));
    },
  });
  return { db, group };
}

const store = mode === "insert" ? await openGroup() : null;
function postRoute(app: FastifyInstance): void {
  app.post("/api/messages", async (request, reply) => {
    const input = readMessageBody(request.body, DEFAULT_MESSAGE_TEXT_CHARS_MAX);
    const post: Post = { id: input.id ?? randomUUID(), input, acceptedAt: new Date().toISOString() };
    if (store !== null) await store.group.submit(post);
    return reply
      .status(202)
      .header("location", `/api/messages/${post.id}`)
      .send({ id: post.id, status: "accepted", acceptedAt: post.acceptedAt });
  });
}

let close: () => Promise<void>;
if (mode === "gateway") {
  // At warn, as `sluice up` logs by default.
  const gateway = await createGateway({ host: "127.0.0.1", port: 0, logger: pino({ level: "warn" }) });
  await gateway.register(async (app) => postRoute(app));
  console.log(await gateway.listen());
  close = () => gateway.close();
} else {
  const app = Fastify({ logger: false });
  postRoute(app);
  console.log(await app.listen({ host: "127.0.0.1", port: 0 }));
  close = () => app.close();
}
process.once("SIGTERM", () => {
  void (async () => {
    await close();
    await store?.group.close();
    await store?.db.close();
    process.exit(0);
  })();
});
