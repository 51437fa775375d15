// Wordium end to end through `sluice up --apps wordium`: signups become profiles, follows reach the followed user's
// private live stream, posts reach followers live and count once, broadcasts reach everyone, and bad input is a
// JSON 4xx.

import assert from "node:assert/strict";
import { test } from "node:test";

import { postCreatedTopic, userSignedUpTopic } from "../../../src/apps/wordium/topics.js";
import { USERS_CONSUMER_GROUP } from "../../../src/apps/wordium/users-service.js";
import { openDatabase } from "../../../src/store/index.js";
import { eventually } from "../../helpers/broker.js";
import { TestClient } from "../../gateway/websocket/fixture.js";
import {
  ADMIN,
  bearer,
  caughtUp,
  profileOnceConsumed,
  publishAgain,
  request,
  signup,
  startWordium,
} from "./harness.js";

const TIMEOUT_MS = 180_000;

function socketAs(t: Parameters<typeof TestClient.open>[0], ws: string, token: string): Promise<TestClient> {
  return TestClient.open(t, ws, ["sluice.v1", `sluice.token.${token}`]);
}

test("signup, follow, post and broadcast, live over the WebSocket gateway", { timeout: TIMEOUT_MS }, async (t) => {
  const wordium = await startWordium(t);
  const { url } = wordium;

  const ada = await signup(url, "ada");
  const grace = await signup(url, "grace");
  const linus = await signup(url, "linus");
  const adaProfile = await profileOnceConsumed(url, "ada");
  assert.deepEqual(
    { ...adaProfile, joinedAt: undefined },
    { userId: ada.user.id, username: "ada", joinedAt: undefined, postCount: 0, followers: 0, following: 0 },
  );
  await profileOnceConsumed(url, "grace");
  await profileOnceConsumed(url, "linus");

  // Each user's notifications are a private stream: their own key only.
  const graceSocket = await socketAs(t, wordium.ws, grace.token);
  const linusSocket = await socketAs(t, wordium.ws, linus.token);
  await graceSocket.subscribe({ topic: "user-notifications", key: grace.user.id });
  await linusSocket.subscribe({ topic: "user-notifications", key: linus.user.id });
  linusSocket.send({ type: "subscribe", id: "spy", topic: "user-notifications", key: grace.user.id });
  assert.equal((await linusSocket.waitForType("error", "spy")).code, "SLUICE_FORBIDDEN");
  const adaSocket = await socketAs(t, wordium.ws, ada.token);
  await adaSocket.subscribe({ topic: "post.created" });
  await adaSocket.subscribe({ topic: "notification.broadcast" });
  await graceSocket.subscribe({ topic: "notification.broadcast" });

  const follow = await request(`${url}/api/users/grace/follow`, { method: "POST", headers: bearer(ada.token) });
  assert.equal(follow.status, 200, JSON.stringify(follow.body));
  const again = await request(`${url}/api/users/grace/follow`, { method: "POST", headers: bearer(ada.token) });
  assert.equal(again.status, 200, "following again is not an error");
  const [followed] = await graceSocket.waitForEvents("user-notifications", 1, 30_000);
  assert.deepEqual(
    { ...(followed?.value as Record<string, unknown>), createdAt: undefined },
    { recipientId: grace.user.id, kind: "followed", actorId: ada.user.id, actor: "ada", createdAt: undefined },
  );
  await linusSocket.roundTrip();
  assert.equal(linusSocket.events("user-notifications").length, 0, "nobody else hears of it");

  // grace's page loses its connection; linus follows her meanwhile; reconnecting with the last offset she saw, she
  // gets what she missed (the gateway's resume).
  graceSocket.ws.terminate();
  const linusFollows = await request(`${url}/api/users/grace/follow`, { method: "POST", headers: bearer(linus.token) });
  assert.equal(linusFollows.status, 200);
  const graceAgain = await socketAs(t, wordium.ws, grace.token);
  await graceAgain.subscribe({
    topic: "user-notifications",
    key: grace.user.id,
    resume: { [String(followed?.partition)]: followed?.offset },
  });
  const [missed] = await graceAgain.waitForEvents("user-notifications", 1, 30_000);
  assert.equal((missed?.value as { actor: string }).actor, "linus");
  await graceAgain.subscribe({ topic: "notification.broadcast" });

  const graceNow = await profileOnceConsumed(url, "grace", (profile) => profile.followers === 2);
  assert.equal(graceNow.following, 0);
  assert.equal((await profileOnceConsumed(url, "ada")).following, 1);

  // The notifications service stores each for grace, once, however often she was followed by the same person.
  interface Stored {
    notifications: Array<{ id: string; actor: string; read: boolean }>;
    unread: number;
  }
  const listNotifications = async (): Promise<Stored> => {
    const listed = await request(`${url}/api/notifications`, { headers: bearer(grace.token) });
    assert.equal(listed.status, 200, JSON.stringify(listed.body));
    return listed.body as Stored;
  };
  assert.ok(await eventually(async () => (await listNotifications()).notifications.length >= 2, 30_000, 50));
  const stored = await listNotifications();
  assert.deepEqual(stored.notifications.map((notification) => notification.actor).sort(), ["ada", "linus"]);
  assert.equal(stored.unread, 2);
  const read = await request(`${url}/api/notifications/read`, {
    method: "POST",
    json: {},
    headers: bearer(grace.token),
  });
  assert.deepEqual(read.body, { marked: 2 });
  assert.equal((await listNotifications()).unread, 0);

  // grace posts: ada, watching posts, sees it live; grace's count goes up once, also when the event comes again.
  const posted = await request(`${url}/api/posts`, {
    json: { title: "On compilers", body: "A compiler is a program that translates." },
    headers: bearer(grace.token),
  });
  assert.equal(posted.status, 202, JSON.stringify(posted.body));
  const postId = (posted.body as { id: string }).id;
  const [alert] = await adaSocket.waitForEvents("post.created", 1, 30_000);
  const alertValue = alert?.value as { postId: string; author: string; title: string; createdAt: string };
  assert.equal(alertValue.postId, postId);
  assert.equal(alertValue.author, "grace");
  await profileOnceConsumed(url, "grace", (profile) => profile.postCount === 1);
  const post = await request(`${url}/api/posts/${postId}`);
  assert.equal((post.body as { title: string }).title, "On compilers");
  const byGrace = (await request(`${url}/api/posts?author=grace&limit=5`)).body as { posts: Array<{ id: string }> };
  assert.deepEqual(
    byGrace.posts.map((p) => p.id),
    [postId],
  );

  // The same post.created event twice more (as a redelivery would), and once under a new id (as one the inbox
  // forgot): the count stays 1. Then one more real post shows the consumer has read past them.
  const redelivered = {
    postId,
    authorId: grace.user.id,
    author: "grace",
    title: "On compilers",
    excerpt: "A compiler",
    createdAt: alertValue.createdAt,
  };
  await publishAgain(wordium.kafka, postCreatedTopic, redelivered, alert?.headers["sluice-event-id"] as string, 2);
  await publishAgain(wordium.kafka, postCreatedTopic, redelivered, "00000000-0000-4000-8000-000000000001", 1);
  const second = await request(`${url}/api/posts`, {
    json: { title: "Second", body: "Another one." },
    headers: bearer(grace.token),
  });
  assert.equal(second.status, 202);
  const graceAfter = await profileOnceConsumed(url, "grace", (profile) => profile.postCount >= 2);
  assert.equal(graceAfter.postCount, 2, "each post counted exactly once");

  // Broadcasts: refused for a non-admin, delivered to every connected client for the admin.
  const refused = await request(`${url}/api/notifications/broadcast`, {
    json: { message: "hello" },
    headers: bearer(ada.token),
  });
  assert.equal(refused.status, 403);
  assert.equal((refused.body as { error: string }).error, "SLUICE_FORBIDDEN");
  const admin = await signup(url, ADMIN);
  const sent = await request(`${url}/api/notifications/broadcast`, {
    json: { message: "Maintenance at noon" },
    headers: bearer(admin.token),
  });
  assert.equal(sent.status, 202, JSON.stringify(sent.body));
  for (const socket of [adaSocket, graceAgain]) {
    const [broadcast] = await socket.waitForEvents("notification.broadcast", 1, 30_000);
    assert.equal((broadcast?.value as { message: string }).message, "Maintenance at noon");
  }
});

test("a signup event delivered twice makes one profile", { timeout: TIMEOUT_MS }, async (t) => {
  const wordium = await startWordium(t);
  const { url } = wordium;
  const ada = await signup(url, "ada");
  await profileOnceConsumed(url, "ada");
  const joinedAt = (await profileOnceConsumed(url, "ada")) as unknown as { joinedAt: string };
  // The same signup twice under one event id (a redelivery), then under another (one the inbox forgot), each
  // claiming a later signup time.
  const again = {
    userId: ada.user.id,
    username: "ada",
    email: "ada@example.com",
    signedUpAt: new Date().toISOString(),
  };
  await publishAgain(wordium.kafka, userSignedUpTopic, again, "00000000-0000-4000-8000-0000000000aa", 2);
  await publishAgain(wordium.kafka, userSignedUpTopic, again, "00000000-0000-4000-8000-0000000000bb", 1);
  await caughtUp(wordium.kafka, USERS_CONSUMER_GROUP, userSignedUpTopic.name);
  await wordium.system.stop();
  const database = await openDatabase({ dataDir: `${wordium.dataDir}/pglite`, migrate: false });
  try {
    const { rows } = await database.query<{ joined_at: Date }>(
      "SELECT joined_at FROM wordium_users.profiles WHERE user_id = $1",
      [ada.user.id],
    );
    assert.equal(rows.length, 1, "one profile");
    assert.equal(rows[0]?.joined_at.toISOString(), joinedAt.joinedAt, "the first signup's");
    const inbox = await database.query("SELECT 1 FROM wordium_users.sluice_inbox WHERE event_id = ANY($1::text[])", [
      ["00000000-0000-4000-8000-0000000000aa", "00000000-0000-4000-8000-0000000000bb"],
    ]);
    assert.equal(inbox.rowCount, 2, "the users consumer did read both");
  } finally {
    await database.close();
  }
});

test("bad input is refused with JSON 4xx errors", { timeout: TIMEOUT_MS }, async (t) => {
  const { url } = await startWordium(t);
  const cases: Array<[string, { method?: string; json?: unknown; headers?: Record<string, string> }, number, string]> =
    [
      ["/api/auth/signup", { json: { username: "ada", email: "ada@example.com" } }, 400, "password"],
      [
        "/api/auth/signup",
        { json: { username: "a", email: "ada@example.com", password: "long enough" } },
        400,
        "username",
      ],
      ["/api/auth/signup", { json: { username: "ada", email: "nope", password: "long enough" } }, 400, "email"],
      ["/api/auth/signup", { json: { username: "ada", email: "ada@example.com", password: "short" } }, 400, "password"],
      ["/api/posts", { json: { title: "x", body: "y" } }, 401, ""],
      ["/api/posts?limit=0", { method: "GET" }, 400, "limit"],
      ["/api/posts?before=abc", { method: "GET" }, 400, "before"],
      ["/api/posts/not-an-id", { method: "GET" }, 400, "id"],
      ["/api/posts/00000000-0000-4000-8000-000000000000", { method: "GET" }, 404, ""],
      ["/api/users/nobody-here", { method: "GET" }, 404, ""],
      ["/api/users/ab", { method: "GET" }, 400, "username"],
      ["/api/notifications", { method: "GET" }, 401, ""],
      ["/api/notifications/broadcast", { json: { message: "hi" } }, 401, ""],
    ];
  for (const [path, init, status, field] of cases) {
    const response = await request(`${url}${path}`, init);
    assert.equal(response.status, status, `${path}: ${JSON.stringify(response.body)}`);
    const body = response.body as { error: string; message: string; field?: string };
    assert.match(body.error, /^SLUICE_/, path);
    assert.equal(typeof body.message, "string");
    if (field !== "") assert.equal(body.field, field, path);
  }

  const ada = await signup(url, "ada");
  const taken = await request(`${url}/api/auth/signup`, {
    json: { username: "ADA", email: "other@example.com", password: "long enough" },
  });
  assert.equal(taken.status, 409);
  assert.equal((taken.body as { field: string }).field, "username");
  const wrong = await request(`${url}/api/auth/login`, { json: { username: "ada", password: "not the password" } });
  assert.equal(wrong.status, 401);
  const login = await request(`${url}/api/auth/login`, {
    json: { username: "ada", password: "correct horse battery" },
  });
  assert.equal(login.status, 200);
  assert.equal((login.body as { user: { id: string } }).user.id, ada.user.id);
  const noTitle = await request(`${url}/api/posts`, { json: { body: "text" }, headers: bearer(ada.token) });
  assert.equal(noTitle.status, 400);
  assert.equal((noTitle.body as { field: string }).field, "title");
  await profileOnceConsumed(url, "ada");
  const self = await request(`${url}/api/users/ada/follow`, { method: "POST", headers: bearer(ada.token) });
  assert.equal(self.status, 409);
});
