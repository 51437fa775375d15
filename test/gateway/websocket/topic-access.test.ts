// Per-topic access declared by apps: public topics, topics for signed-in users or one role, topics for services
// only, and "own-key" topics, where each user may subscribe only to the events keyed by their own user id — a
// private stream that resumes like any other.

import assert from "node:assert/strict";
import { test } from "node:test";

import { TokenService } from "../../../src/gateway/auth/tokens.js";
import {
  liveTopicAccess,
  topicAccessCheck,
  type LiveTopic,
  type WebSocketUser,
} from "../../../src/gateway/websocket/index.js";
import { InvalidArgumentError } from "../../../src/toolkit/errors.js";
import { startSystem, TestClient, uniqueTopic, type EventMessage } from "./fixture.js";

const SECRET = "a test secret that is long enough for HS256 signing";
const alice = { userId: "7d1c2a52-0d3f-4f55-9d7e-3f8f5b1e0a11", username: "alice", roles: [] as string[] };
const bob = { userId: "0b9f6f0e-3d1f-46e4-a9d6-8c1b0a2f7e22", username: "bob", roles: ["admin"] };
const tokenWithoutRoles: WebSocketUser = { userId: "x", username: "old-token" };

test("each access decides by the user, their roles and the key asked for", () => {
  const check = topicAccessCheck([
    { topic: "feed", access: "everyone" },
    { topic: "members", access: "signed-in" },
    { topic: "inbox", access: "own-key" },
    { topic: "audit", access: "role:admin" },
    { topic: "signups", access: "none" },
  ]);
  assert.equal(check("feed", null, null), true);
  assert.equal(check("feed", alice, "anything"), true);

  assert.deepEqual(check("members", null, null), {
    code: "SLUICE_UNAUTHORIZED",
    field: "topic",
    message: 'sign in to subscribe to topic "members": connect with a token or send { "type": "auth", "token": … }',
  });
  assert.equal(check("members", alice, null), true);

  assert.equal(check("inbox", alice, alice.userId), true);
  assert.equal((check("inbox", null, alice.userId) as { code: string }).code, "SLUICE_UNAUTHORIZED");
  for (const key of [bob.userId, null, alice.username, alice.userId.toUpperCase()]) {
    const refused = check("inbox", alice, key);
    assert.equal(typeof refused, "object", `key ${String(key)} is refused`);
    assert.equal((refused as { code: string }).code, "SLUICE_FORBIDDEN");
    assert.equal((refused as { field: string }).field, "key");
    assert.match((refused as { message: string }).message, new RegExp(alice.userId));
  }

  assert.equal(check("audit", bob, null), true);
  assert.equal((check("audit", alice, null) as { code: string }).code, "SLUICE_FORBIDDEN");
  assert.equal((check("audit", tokenWithoutRoles, null) as { code: string }).code, "SLUICE_FORBIDDEN");
  assert.equal((check("audit", null, null) as { code: string }).code, "SLUICE_UNAUTHORIZED");

  assert.equal((check("signups", bob, null) as { code: string }).code, "SLUICE_FORBIDDEN");
  for (const derived of ["inbox.retry.1", "inbox.retry.12", "inbox.dlt", "feed.dlt", "signups.retry.2"]) {
    assert.equal((check(derived, bob, bob.userId) as { code: string }).code, "SLUICE_FORBIDDEN", derived);
  }

  assert.equal(check("undeclared", null, null), true, "topics nobody declares keep the default");
  assert.equal(check("__consumer_offsets", bob, null), false);
  assert.equal(check("undeclared.dlt", null, null), true, "only declared topics' dead letters are held back");
  const closed = topicAccessCheck([{ topic: "feed", access: "everyone" }], () => false);
  assert.equal(closed("feed", null, null), true);
  assert.equal(closed("other", bob, null), false, "the fallback decides undeclared topics");
});

test("declarations are checked, naming the bad one; repeating one is fine, contradicting it is not", () => {
  const refusal = (field: string) => (error: unknown) =>
    error instanceof InvalidArgumentError && error.message.startsWith(`${field}:`);
  const bad = (declarations: unknown[]) => () => liveTopicAccess(declarations as LiveTopic[]);
  assert.throws(bad([{ topic: "a", access: "public" }]), refusal("liveTopics[0].access"));
  assert.throws(bad([{ topic: "a", access: "role:Admin" }]), refusal("liveTopics[0].access"));
  assert.throws(bad([{ topic: "a", access: "role:" }]), refusal("liveTopics[0].access"));
  assert.throws(bad([{ topic: "a b", access: "everyone" }]), refusal("liveTopics[0].topic"));
  assert.throws(bad([null]), refusal("liveTopics[0].topic"));
  assert.throws(
    bad([
      { topic: "a", access: "everyone" },
      { topic: "a", access: "own-key" },
    ]),
    (error: unknown) => refusal("liveTopics[1].access")(error) && /declared both/.test(String(error)),
  );
  const repeated = liveTopicAccess([
    { topic: "a", access: "own-key" },
    { topic: "a", access: "own-key" },
  ]);
  assert.deepEqual([...repeated], [["a", "own-key"]]);
});

test("an own-key topic is a private stream: each user gets only their own events, also when resuming", async (t) => {
  const tokens = await TokenService.create({ secret: SECRET });
  const inbox = uniqueTopic("inbox");
  const feed = uniqueTopic("feed");
  const system = await startSystem(t, {
    verifyToken: (token) => tokens.verify(token),
    allowTopic: topicAccessCheck([
      { topic: inbox, access: "own-key" },
      { topic: feed, access: "signed-in" },
    ]),
  });
  await system.createTopic(inbox, 2);
  await system.createTopic(feed);
  const aliceToken = (await tokens.issue({ ...alice, roles: [] })).token;
  const bobToken = (await tokens.issue({ ...bob, roles: [] })).token;

  const anonymous = await TestClient.open(t, system.url);
  anonymous.send({ type: "subscribe", topic: inbox, key: alice.userId, id: 1 });
  const unauthorized = await anonymous.waitForType("error", 1);
  assert.equal(unauthorized.code, "SLUICE_UNAUTHORIZED");
  anonymous.send({ type: "subscribe", topic: feed, id: 2 });
  assert.equal((await anonymous.waitForType("error", 2)).code, "SLUICE_UNAUTHORIZED");

  const asBob = await TestClient.open(t, `${system.url}?token=${bobToken}`);
  asBob.send({ type: "subscribe", topic: inbox, key: alice.userId, id: 3 });
  const forbidden = await asBob.waitForType("error", 3);
  assert.deepEqual(
    { code: forbidden.code, field: forbidden.field, topic: forbidden.topic },
    { code: "SLUICE_FORBIDDEN", field: "key", topic: inbox },
  );
  asBob.send({ type: "subscribe", topic: inbox, id: 4 });
  assert.equal((await asBob.waitForType("error", 4)).field, "key", "without a key bob would see everyone's");
  await asBob.subscribe({ topic: inbox, key: bob.userId });

  const asAlice = await TestClient.open(t, `${system.url}?token=${aliceToken}`);
  const subscribed = await asAlice.subscribe({ topic: inbox, key: alice.userId });
  await asAlice.subscribe({ topic: feed });

  const toAlice = (text: string) => ({ key: alice.userId, value: JSON.stringify({ text }) });
  const toBob = (text: string) => ({ key: bob.userId, value: JSON.stringify({ text }) });
  await system.produce(inbox, [toAlice("a1"), toBob("b1"), toAlice("a2"), toBob("b2")]);
  const aliceEvents = await asAlice.waitForEvents(inbox, 2);
  assert.deepEqual(
    aliceEvents.map((event) => event.value),
    [{ text: "a1" }, { text: "a2" }],
  );
  assert.deepEqual(
    (await asBob.waitForEvents(inbox, 2)).map((event) => event.value),
    [{ text: "b1" }, { text: "b2" }],
  );
  await asAlice.roundTrip();
  assert.equal(asAlice.events(inbox).length, 2, "alice never receives bob's events");

  // Alice goes away, misses events of both users, and comes back resuming from the last offset she saw.
  const lastSeen: Record<string, number> = {};
  for (const [partition, next] of Object.entries(subscribed.offsets as Record<string, number>)) {
    lastSeen[partition] = next - 1;
  }
  for (const event of aliceEvents) lastSeen[String(event.partition)] = event.offset;
  asAlice.ws.close();
  await asAlice.closed;
  await system.produce(inbox, [toBob("b3"), toAlice("a3"), toAlice("a4")]);
  await asBob.waitForEvents(inbox, 3);

  const back = await TestClient.open(t, system.url, ["sluice.v1", `sluice.token.${aliceToken}`]);
  back.send({ type: "subscribe", topic: inbox, key: bob.userId, resume: lastSeen, id: "sneaky" });
  assert.equal((await back.waitForType("error", "sneaky")).code, "SLUICE_FORBIDDEN", "a resume is checked too");
  await back.subscribe({ topic: inbox, key: alice.userId, resume: lastSeen });
  const resumed = await back.waitForEvents(inbox, 2);
  assert.deepEqual(
    resumed.map((event: EventMessage) => event.value),
    [{ text: "a3" }, { text: "a4" }],
  );
  await back.roundTrip();
  assert.equal(back.events(inbox).length, 2, "exactly what she missed, and only hers");
});

test("a role topic is served to users whose token grants the role, and a none topic to nobody", async (t) => {
  const tokens = await TokenService.create({ secret: SECRET });
  const audit = uniqueTopic("audit");
  const internal = uniqueTopic("internal");
  const system = await startSystem(t, {
    verifyToken: (token) => tokens.verify(token),
    allowTopic: topicAccessCheck([
      { topic: audit, access: "role:admin" },
      { topic: internal, access: "none" },
    ]),
  });
  await system.createTopic(audit);
  await system.createTopic(internal);
  await system.createTopic(`${audit}.dlt`);

  const admin = await TestClient.open(t, `${system.url}?token=${(await tokens.issue(bob)).token}`);
  const member = await TestClient.open(t, `${system.url}?token=${(await tokens.issue(alice)).token}`);
  await admin.subscribe({ topic: audit });
  member.send({ type: "subscribe", topic: audit, id: 1 });
  const refused = await member.waitForType("error", 1);
  assert.equal(refused.code, "SLUICE_FORBIDDEN");
  assert.match(String(refused.message), /"admin" role/);
  for (const [index, topic] of [internal, `${audit}.dlt`].entries()) {
    admin.send({ type: "subscribe", topic, id: `none-${index}` });
    assert.equal((await admin.waitForType("error", `none-${index}`)).code, "SLUICE_FORBIDDEN", topic);
  }
  await system.produce(audit, [{ value: '{"who":"bob"}' }]);
  assert.deepEqual((await admin.waitForEvents(audit, 1))[0]?.value, { who: "bob" });
});
