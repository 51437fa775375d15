// When the broker is down, posted messages are still accepted (they wait in the outbox) and reach the board once it
// is back; when the database is down or stops answering, the API answers 503 promptly instead of hanging or failing
// with a 500.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { connect, createServer, type AddressInfo, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";

import pino from "pino";

import { messageBoardRoutes } from "../../../src/apps/messages/routes.js";
import { startBroker, type RunningBroker } from "../../../src/broker/index.js";
import { createGateway } from "../../../src/gateway/server.js";
import { openDatabase } from "../../../src/store/index.js";
import { adminQuery, SERVER_URL, requirePostgresServer, uniqueSchemaName } from "../../store/harness.js";
import { allMessages, boardForTest, request, waitUntilStored } from "./harness.js";

const quiet = () => pino({ level: process.env.SLUICE_TEST_LOG_LEVEL ?? "silent" }, pino.destination(2));
/** An accepted message is answered well within this, broker or no broker. */
const ACCEPT_TIME_MS_MAX = 2_000;

test("messages accepted while the broker is down reach the board once it is back", { timeout: 120_000 }, async (t) => {
  const brokerDir = mkdtempSync(join(tmpdir(), "sluice-outage-broker-"));
  let broker: RunningBroker | null = null;
  try {
    broker = await startBroker({ port: 0, dataDir: brokerDir, logger: quiet() });
  } catch (error) {
    rmSync(brokerDir, { recursive: true, force: true });
    throw error;
  }
  const port = broker.port;
  // The board uses the broker as an external cluster, so the test can stop and restart it underneath.
  const { url } = await boardForTest(t, { flags: ["--kafka-brokers", `127.0.0.1:${port}`] });
  // After hooks run in the order they were added: the board stops first, then its broker.
  t.after(async () => {
    await broker?.close();
    rmSync(brokerDir, { recursive: true, force: true });
  });

  const warmUp = await request(`${url}/api/messages`, { json: { text: "before the outage" } });
  assert.equal(warmUp.status, 202);
  await waitUntilStored(url, [(warmUp.body as { id: string }).id]);

  await broker.close();
  broker = null;

  const accepted: string[] = [];
  for (let index = 0; index < 3; index++) {
    const startedMs = Date.now();
    const response = await request(`${url}/api/messages`, { json: { text: `during the outage ${index}` } });
    const tookMs = Date.now() - startedMs;
    assert.equal(response.status, 202, JSON.stringify(response.body));
    assert.ok(tookMs < ACCEPT_TIME_MS_MAX, `accepting took ${tookMs} ms with the broker down`);
    accepted.push((response.body as { id: string }).id);
  }
  const during = await allMessages(url);
  assert.ok(
    accepted.every((id) => !during.some((message) => message.id === id)),
    "nothing can be stored while the broker is down",
  );
  const notReady = await request(`${url}/readyz`);
  assert.equal(notReady.status, 503);
  assert.match((notReady.body as { message: string }).message, /broker/);

  broker = await startBroker({ port, dataDir: brokerDir, logger: quiet() });
  const stored = await waitUntilStored(url, accepted, 60_000);
  for (const id of accepted) {
    assert.equal(stored.filter((message) => message.id === id).length, 1, `message ${id} is stored exactly once`);
  }
});

test("with the database down the API answers 503 at once", { timeout: 60_000 }, async (t) => {
  const database = await openDatabase({ dataDir: null });
  const gateway = await createGateway({ port: 0, logger: quiet(), collectProcessMetrics: false });
  t.after(() => gateway.close());
  await gateway.register(messageBoardRoutes({ db: database }));
  const url = await gateway.listen();
  // The routes run their own migration-free queries, so the messages table must exist for the healthy case.
  const { MESSAGES_MIGRATIONS_COMPONENT, MESSAGES_MIGRATIONS_DIR } =
    await import("../../../src/apps/messages/migrations.js");
  const { runMigrations } = await import("../../../src/store/index.js");
  await runMigrations(database, { directory: MESSAGES_MIGRATIONS_DIR, component: MESSAGES_MIGRATIONS_COMPONENT });
  assert.equal((await request(`${url}/api/messages`, { json: { text: "while it is up" } })).status, 202);

  await database.close();
  for (const [path, init] of [
    ["/api/messages", { json: { text: "while it is down" } }],
    ["/api/messages", {}],
    ["/save?data=down", {}],
  ] as const) {
    const startedMs = Date.now();
    const response = await request(`${url}${path}`, init);
    assert.equal(response.status, 503, `${path}: ${JSON.stringify(response.body)}`);
    assert.equal((response.body as { error: string }).error, "SLUICE_UNAVAILABLE");
    assert.ok(Date.now() - startedMs < ACCEPT_TIME_MS_MAX);
  }
});

test("with a PostgreSQL server that stops answering, the API answers 503 within the connect timeout", async (t) => {
  if (!(await requirePostgresServer(t))) return;
  // A TCP relay to the server that can turn into a black hole: connections are accepted and never answered, as when
  // the network to the database drops packets.
  const server = new URL(SERVER_URL);
  const sockets = new Set<Socket>();
  let blackHole = false;
  const relay = createServer((client) => {
    sockets.add(client);
    client.on("close", () => sockets.delete(client));
    client.on("error", () => undefined);
    if (blackHole) return;
    const upstream = connect(Number(server.port || 5432), server.hostname);
    sockets.add(upstream);
    upstream.on("close", () => sockets.delete(upstream));
    upstream.on("error", () => client.destroy());
    client.on("error", () => upstream.destroy());
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => relay.listen(0, "127.0.0.1", resolve));
  t.after(() => {
    for (const socket of sockets) socket.destroy();
    relay.close();
  });
  const address = relay.address() as AddressInfo;
  const schema = uniqueSchemaName();
  t.after(() => adminQuery(`DROP SCHEMA IF EXISTS ${schema} CASCADE`));
  const url = `postgres://${server.username || "postgres"}@127.0.0.1:${address.port}${server.pathname}`;
  const connectTimeoutMs = 500;
  const database = await openDatabase({ url, schema, connectTimeoutMs });
  t.after(() => database.close());
  const { MESSAGES_MIGRATIONS_COMPONENT, MESSAGES_MIGRATIONS_DIR } =
    await import("../../../src/apps/messages/migrations.js");
  const { runMigrations } = await import("../../../src/store/index.js");
  await runMigrations(database, { directory: MESSAGES_MIGRATIONS_DIR, component: MESSAGES_MIGRATIONS_COMPONENT });
  const gateway = await createGateway({ port: 0, logger: quiet(), collectProcessMetrics: false });
  t.after(() => gateway.close());
  await gateway.register(messageBoardRoutes({ db: database }));
  const base = await gateway.listen();
  assert.equal((await request(`${base}/api/messages`, { json: { text: "while it answers" } })).status, 202);

  blackHole = true;
  for (const socket of sockets) socket.destroy();
  // The pool drops its broken idle connections on their close events; the request then needs a new connection.
  await new Promise((resolve) => setTimeout(resolve, 200));
  const startedMs = Date.now();
  const response = await request(`${base}/api/messages`, { json: { text: "into the void" } });
  const tookMs = Date.now() - startedMs;
  assert.equal(response.status, 503, JSON.stringify(response.body));
  assert.equal((response.body as { error: string }).error, "SLUICE_UNAVAILABLE");
  assert.equal(response.headers.get("retry-after"), "1");
  assert.ok(tookMs >= connectTimeoutMs - 50 && tookMs < connectTimeoutMs + ACCEPT_TIME_MS_MAX, `took ${tookMs} ms`);
});
