// Wordium's posts service: a post and its post.created event are written in one transaction (the event through the
// outbox), so writing keeps working while the users and notifications services, or the broker, are down; they catch
// up from the topic when they are back.

import type { FastifyPluginAsync } from "fastify";

import type { Auth } from "../../gateway/auth/auth.js";
import { notFound, unauthorized, validationFailed } from "../../gateway/errors.js";
import { addToOutbox, newEventId, type Database } from "../../toolkit/index.js";
import { objectBody, queryValue, readId, readPageQuery, requiredText } from "./input.js";
import { POST_EXCERPT_CHARS_MAX, POST_TITLE_CHARS_MAX, postCreatedTopic } from "./topics.js";

export const POST_BODY_CHARS_MAX = 20_000;
const AUTHOR_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{2,31}$/;

export interface Post {
  id: string;
  authorId: string;
  author: string;
  title: string;
  body: string;
  createdAt: string;
  /** The post's place in the order; `?before=<cursor>` lists the posts written before it. */
  cursor: string;
}

interface PostRow {
  id: string;
  seq: string | number;
  author_id: string;
  author: string;
  title: string;
  body: string;
  created_at: Date;
}

const COLUMNS = "id, seq, author_id, author, title, body, created_at";

function toPost(row: PostRow): Post {
  return {
    id: row.id,
    authorId: row.author_id,
    author: row.author,
    title: row.title,
    body: row.body,
    createdAt: row.created_at.toISOString(),
    cursor: String(row.seq),
  };
}

export function postsServiceRoutes(options: { db: Database; auth: Auth }): FastifyPluginAsync {
  const { db, auth } = options;
  return async (app) => {
    app.post("/api/posts", { preHandler: auth.requireUser }, async (request, reply) => {
      const user = request.user;
      if (user === null) throw unauthorized("sign in to write a post");
      const fields = objectBody(request.body);
      const title = requiredText(fields, "title", 1, POST_TITLE_CHARS_MAX);
      const body = requiredText(fields, "body", 1, POST_BODY_CHARS_MAX);
      const id = newEventId();
      const createdAt = new Date();
      await db.transaction(async (tx) => {
        await tx.query(
          "INSERT INTO posts (id, author_id, author, title, body, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
          [id, user.userId, user.username, title, body, createdAt],
        );
        await addToOutbox(
          tx,
          postCreatedTopic,
          {
            postId: id,
            authorId: user.userId,
            author: user.username,
            title,
            excerpt: body.slice(0, POST_EXCERPT_CHARS_MAX),
            createdAt: createdAt.toISOString(),
          },
          { time: createdAt },
        );
      });
      return reply.status(202).header("location", `api/posts/${id}`).send({ id });
    });

    app.get("/api/posts", async (request) => {
      const { limit, before } = readPageQuery(request.query);
      const author = queryValue(request.query, "author") ?? null;
      if (author !== null && !AUTHOR_PATTERN.test(author)) {
        throw validationFailed("author", "author must be a Wordium username");
      }
      const conditions: string[] = [];
      const values: unknown[] = [];
      if (author !== null) {
        values.push(author);
        conditions.push(`lower(author) = lower($${values.length})`);
      }
      if (before !== null) {
        values.push(before);
        conditions.push(`seq < $${values.length}`);
      }
      values.push(limit + 1);
      const where = conditions.length === 0 ? "" : `WHERE ${conditions.join(" AND ")}`;
      // One row more than asked shows whether another page follows.
      const { rows } = await db.query<PostRow>(
        `SELECT ${COLUMNS} FROM posts ${where} ORDER BY seq DESC LIMIT $${values.length}`,
        values,
      );
      const posts = rows.slice(0, limit).map(toPost);
      const last = posts[posts.length - 1];
      return { posts, nextCursor: rows.length > limit && last !== undefined ? last.cursor : null };
    });

    app.get<{ Params: { id: string } }>("/api/posts/:id", async (request) => {
      const id = readId("id", request.params.id);
      const { rows } = await db.query<PostRow>(`SELECT ${COLUMNS} FROM posts WHERE id = $1`, [id]);
      const row = rows[0];
      if (row === undefined) throw notFound(`no post ${id}`);
      return toPost(row);
    });
  };
}
