import assert from "node:assert/strict";
import { createServer } from "node:http";
import { test } from "node:test";

import { TokenService } from "../../../src/gateway/auth/tokens.js";
import {
  attachWebSocketGateway,
  SLUICE_SUBPROTOCOL,
  TOKEN_SUBPROTOCOL_PREFIX,
  WebSocketCloseCode,
} from "../../../src/gateway/websocket/index.js";
import { InvalidArgumentError } from "../../../src/toolkit/errors.js";
import { createKafkaClient } from "../../../src/toolkit/kafka/connection.js";
import { startSystem, TestClient, uniqueTopic } from "./fixture.js";

const SECRET = "a test secret that is long enough for HS256 signing";
const alice = { userId: "u-alice", username: "alice", roles: [] };
const bob = { userId: "u-bob", username: "bob", roles: [] };

async function tokensFor() {
  const tokens = await TokenService.create({ secret: SECRET });
  return {
    tokens,
    verifyToken: (token: string) => tokens.verify(token),
    aliceToken: (await tokens.issue(alice)).token,
    bobToken: (await tokens.issue(bob)).token,
  };
}

test("with authentication required, a client subscribes only after presenting a valid token", async (t) => {
  const { verifyToken, aliceToken } = await tokensFor();
  const system = await startSystem(t, { verifyToken, authRequired: true });
  const topic = uniqueTopic();
  await system.createTopic(topic);

  const client = await TestClient.open(t, system.url);
  assert.deepEqual(await client.waitForType("welcome"), { type: "welcome", user: null, authRequired: true });
  client.send({ type: "subscribe", topic, id: "early" });
  const refused = await client.waitForType("error", "early");
  assert.equal(refused.code, "SLUICE_UNAUTHORIZED");

  client.send({ type: "auth", token: aliceToken, id: "login" });
  assert.deepEqual(await client.waitForType("authenticated", "login"), {
    type: "authenticated",
    user: alice,
    id: "login",
  });
  await client.subscribe({ topic });
  await system.produce(topic, [{ value: '{"hello":"alice"}' }]);
  assert.deepEqual((await client.waitForEvents(topic, 1))[0]?.value, { hello: "alice" });
});

test("a token is accepted in the ?token= query and as a sluice.token.<JWT> subprotocol", async (t) => {
  const { verifyToken, aliceToken, bobToken } = await tokensFor();
  const system = await startSystem(t, { verifyToken, authRequired: true });

  const byQuery = await TestClient.open(t, `${system.url}?token=${encodeURIComponent(aliceToken)}`);
  assert.deepEqual((await byQuery.waitForType("welcome")).user, alice);

  const byProtocol = await TestClient.open(t, system.url, [
    SLUICE_SUBPROTOCOL,
    `${TOKEN_SUBPROTOCOL_PREFIX}${bobToken}`,
  ]);
  assert.deepEqual((await byProtocol.waitForType("welcome")).user, bob);
  assert.equal(byProtocol.ws.protocol, SLUICE_SUBPROTOCOL, "the token is never echoed back as the subprotocol");
});

test("a refused token gets an error and the connection is closed with 4001", async (t) => {
  const { verifyToken } = await tokensFor();
  const other = await TokenService.create({ secret: "another secret, also long enough for HS256" });
  const forged = (await other.issue(alice)).token;
  const system = await startSystem(t, { verifyToken, authRequired: false });

  const atConnect = await TestClient.open(t, `${system.url}?token=${encodeURIComponent(forged)}`);
  const error = await atConnect.waitForType("error");
  assert.equal(error.code, "SLUICE_UNAUTHORIZED");
  assert.equal(error.field, "token");
  assert.deepEqual(await atConnect.closed, { code: WebSocketCloseCode.UNAUTHORIZED, reason: "unauthorized" });

  const byMessage = await TestClient.open(t, system.url);
  assert.deepEqual((await byMessage.waitForType("welcome")).user, null, "anonymous is fine when auth is optional");
  byMessage.send({ type: "auth", token: "not.a.jwt", id: 3 });
  assert.equal((await byMessage.waitForType("error", 3)).code, "SLUICE_UNAUTHORIZED");
  assert.equal((await byMessage.closed).code, WebSocketCloseCode.UNAUTHORIZED);
});

test("a client that does not authenticate in time is closed with 4002", async (t) => {
  const { verifyToken } = await tokensFor();
  const system = await startSystem(t, { verifyToken, authRequired: true, authTimeoutMs: 300 });
  const client = await TestClient.open(t, system.url);
  const started = Date.now();
  assert.deepEqual(await client.closed, {
    code: WebSocketCloseCode.AUTH_TIMEOUT,
    reason: "authentication timed out",
  });
  assert.ok(Date.now() - started >= 250);
});

test("allowTopic decides per user which topics may be subscribed to", async (t) => {
  const { verifyToken, aliceToken, bobToken } = await tokensFor();
  const privateTopic = uniqueTopic("private");
  const system = await startSystem(t, {
    verifyToken,
    allowTopic: (topic, user) => !topic.startsWith("private") || user?.username === "alice",
  });
  await system.createTopic(privateTopic);

  const anonymous = await TestClient.open(t, system.url);
  anonymous.send({ type: "subscribe", topic: privateTopic, id: 1 });
  assert.equal((await anonymous.waitForType("error", 1)).code, "SLUICE_FORBIDDEN");
  const asBob = await TestClient.open(t, `${system.url}?token=${bobToken}`);
  asBob.send({ type: "subscribe", topic: privateTopic, id: 2 });
  assert.equal((await asBob.waitForType("error", 2)).code, "SLUICE_FORBIDDEN");
  const asAlice = await TestClient.open(t, `${system.url}?token=${aliceToken}`);
  await asAlice.subscribe({ topic: privateTopic });
});

test("settings are checked when the gateway is attached, naming the bad one", () => {
  const server = createServer();
  const kafka = createKafkaClient({ brokers: ["127.0.0.1:1"], env: {} });
  const refusal = (field: string) => (error: unknown) =>
    error instanceof InvalidArgumentError && error.message.startsWith(`${field}:`);
  assert.throws(() => attachWebSocketGateway(server, { kafka, authRequired: true }), refusal("authRequired"));
  assert.throws(() => attachWebSocketGateway(server, { kafka, sendBufferBytesMax: -1 }), refusal("sendBufferBytesMax"));
  assert.throws(
    () => attachWebSocketGateway(server, { kafka, subscriptionsPerConnectionMax: 1.5 }),
    refusal("subscriptionsPerConnectionMax"),
  );
  assert.throws(() => attachWebSocketGateway(server, { kafka, path: "ws" }), refusal("path"));
  assert.equal(server.listenerCount("upgrade"), 0, "a refused configuration attaches nothing");
});
