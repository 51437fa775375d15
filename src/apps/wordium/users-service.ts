// Wordium's users service: profiles (created by consuming user.auth.signup), post counts (by consuming
// post.created) and follows (the follow API, each new follow with its user-notifications event in one transaction).
// Its consumer is an inbox consumer, so a redelivered event has no second effect; the tables guard the same way,
// so an event delivered again after the inbox forgot it still creates no second profile or count.

import type { FastifyPluginAsync } from "fastify";

import type { Auth } from "../../gateway/auth/auth.js";
import { GatewayError, GatewayErrorCode, notFound, unauthorized, validationFailed } from "../../gateway/errors.js";
import { addToOutbox, createConsumer, type Database, type InboxConsumer, type Queryable } from "../../toolkit/index.js";
import {
  postCreatedTopic,
  userNotificationTopic,
  userSignedUpTopic,
  type PostCreated,
  type UserSignedUp,
} from "./topics.js";
import type { WordiumConsumerOptions } from "./consumer-options.js";

export const USERS_CONSUMER_GROUP = "wordium-users";
/** Follow lists are short on the page; a longer one is cut here. */
export const FOLLOWING_LIST_MAX = 1_000;
const USERNAME_IN_PATH = /^[A-Za-z0-9][A-Za-z0-9_.-]{2,31}$/;

export interface Profile {
  userId: string;
  username: string;
  joinedAt: string;
  postCount: number;
  followers: number;
  following: number;
}

interface ProfileRow {
  user_id: string;
  username: string;
  joined_at: Date;
  post_count: string | number | null;
  followers: string | number;
  following: string | number;
}

async function selectProfile(db: Queryable, username: string): Promise<Profile | null> {
  const { rows } = await db.query<ProfileRow>(
    `SELECT p.user_id, p.username, p.joined_at, c.post_count,
            (SELECT count(*) FROM follows f WHERE f.followee_id = p.user_id) AS followers,
            (SELECT count(*) FROM follows f WHERE f.follower_id = p.user_id) AS following
       FROM profiles p LEFT JOIN post_counts c ON c.user_id = p.user_id
      WHERE lower(p.username) = lower($1)`,
    [username],
  );
  const row = rows[0];
  if (row === undefined) return null;
  return {
    userId: row.user_id,
    username: row.username,
    joinedAt: row.joined_at.toISOString(),
    postCount: Number(row.post_count ?? 0),
    followers: Number(row.followers),
    following: Number(row.following),
  };
}

async function createProfile(tx: Queryable, signup: UserSignedUp): Promise<void> {
  await tx.query(
    "INSERT INTO profiles (user_id, username, joined_at) VALUES ($1, $2, $3) ON CONFLICT (user_id) DO NOTHING",
    [signup.userId, signup.username, signup.signedUpAt],
  );
}

async function countPost(tx: Queryable, post: PostCreated): Promise<void> {
  const counted = await tx.query(
    "INSERT INTO counted_posts (post_id, author_id) VALUES ($1, $2) ON CONFLICT (post_id) DO NOTHING RETURNING post_id",
    [post.postId, post.authorId],
  );
  if (counted.rows.length === 0) return;
  await tx.query(
    `INSERT INTO post_counts (user_id, post_count) VALUES ($1, 1)
     ON CONFLICT (user_id) DO UPDATE SET post_count = post_counts.post_count + 1`,
    [post.authorId],
  );
}

/** The consumer's database and client, and any of the toolkit's consumer settings (tests shorten timings, add hooks). */
export type UsersConsumerOptions = WordiumConsumerOptions;

export function createUsersConsumer(options: UsersConsumerOptions): InboxConsumer {
  return createConsumer({
    ...options,
    groupId: USERS_CONSUMER_GROUP,
    name: "wordium-users-consumer",
    topics: [userSignedUpTopic, postCreatedTopic],
    async handler(event, tx) {
      if (event.topic === userSignedUpTopic.name) await createProfile(tx, event.value as UserSignedUp);
      else await countPost(tx, event.value as PostCreated);
    },
  });
}

function readUsername(value: string): string {
  if (!USERNAME_IN_PATH.test(value)) throw validationFailed("username", "username must be a Wordium username");
  return value;
}

export function usersServiceRoutes(options: { db: Database; auth: Auth }): FastifyPluginAsync {
  const { db, auth } = options;
  const signedIn = (user: { userId: string; username: string } | null) => {
    if (user === null) throw unauthorized("sign in first");
    return user;
  };
  const profileOr404 = async (db: Queryable, username: string): Promise<Profile> => {
    const profile = await selectProfile(db, readUsername(username));
    // A profile exists once the users service has consumed the signup; until then the user is not known here.
    if (profile === null) throw notFound(`no profile "${username}" (a new account's profile appears within moments)`);
    return profile;
  };

  return async (app) => {
    app.get<{ Params: { username: string } }>("/api/users/:username", async (request) =>
      profileOr404(db, request.params.username),
    );

    app.get<{ Params: { username: string } }>("/api/users/:username/following", async (request) => {
      const profile = await profileOr404(db, request.params.username);
      const { rows } = await db.query<{ user_id: string; username: string }>(
        `SELECT p.user_id, p.username FROM follows f JOIN profiles p ON p.user_id = f.followee_id
          WHERE f.follower_id = $1 ORDER BY lower(p.username) LIMIT $2`,
        [profile.userId, FOLLOWING_LIST_MAX],
      );
      return { following: rows.map((row) => ({ userId: row.user_id, username: row.username })) };
    });

    app.post<{ Params: { username: string } }>(
      "/api/users/:username/follow",
      { preHandler: auth.requireUser },
      async (request) => {
        const follower = signedIn(request.user);
        const followee = await profileOr404(db, request.params.username);
        if (followee.userId === follower.userId) {
          throw new GatewayError(GatewayErrorCode.CONFLICT, "you cannot follow yourself", { field: "username" });
        }
        const followedAt = new Date();
        await db.transaction(async (tx) => {
          const added = await tx.query(
            `INSERT INTO follows (follower_id, follower_name, followee_id, followed_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT DO NOTHING RETURNING follower_id`,
            [follower.userId, follower.username, followee.userId, followedAt],
          );
          // Following again changes nothing and tells nobody a second time.
          if (added.rows.length === 0) return;
          await addToOutbox(
            tx,
            userNotificationTopic,
            {
              recipientId: followee.userId,
              kind: "followed",
              actorId: follower.userId,
              actor: follower.username,
              createdAt: followedAt.toISOString(),
            },
            { time: followedAt },
          );
        });
        return { following: true, username: followee.username };
      },
    );

    app.delete<{ Params: { username: string } }>(
      "/api/users/:username/follow",
      { preHandler: auth.requireUser },
      async (request) => {
        const follower = signedIn(request.user);
        const followee = await profileOr404(db, request.params.username);
        await db.query("DELETE FROM follows WHERE follower_id = $1 AND followee_id = $2", [
          follower.userId,
          followee.userId,
        ]);
        return { following: false, username: followee.username };
      },
    );
  };
}
