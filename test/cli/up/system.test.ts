// How `sluice up` runs apps: each under its own prefix (the message board also at the root, an app running alone
// also at the root), each service in its own schema of the one database, its relay and consumers as parts of its
// roles, and every part in /readyz.

import assert from "node:assert/strict";
import { test } from "node:test";

import { Kafka, logLevel } from "kafkajs";

import { startSystem } from "../../../src/cli/up/system.js";
import { messagesApp } from "../../../src/apps/messages/manifest.js";
import { openDatabase } from "../../../src/store/index.js";
import { request } from "../../apps/messages/harness.js";
import { eventually } from "../../helpers/broker.js";
import { fixtureApp } from "./fixture-app.js";
import { configFor, silent } from "./harness.js";

test(
  "apps are mounted under their prefix, run in their own schema, and relay and consume their events",
  { timeout: 180_000 },
  async (t) => {
    const config = configFor(t, [messagesApp, fixtureApp]);
    const system = await startSystem(config, {}, silent);
    t.after(() => system.stop());
    const url = system.addresses.http as string;
    assert.deepEqual(
      system.addresses.apps.map((app) => [app.title, app.url]),
      [
        ["Message board", `${url}/`],
        ["Fixture", `${url}/fixture/api/entries`],
      ],
    );

    const accepted = await request(`${url}/fixture/api/entries`, { json: { label: "first" } });
    assert.equal(accepted.status, 202);
    const id = (accepted.body as { id: string }).id;
    assert.equal((await request(`${url}/api/entries`)).status, 404, "with two apps the fixture is not at the root");
    assert.equal((await request(`${url}/api/messages`)).status, 200, "the message board keeps its root paths");
    assert.equal((await request(`${url}/messages/api/messages`)).status, 200, "and is under its prefix too");

    const seen = await eventually(async () => {
      const rows = (await request(`${url}/fixture/api/seen`)).body as Array<{ id: string }>;
      return rows.some((row) => row.id === id);
    }, 60_000);
    assert.ok(seen, "the relay published the entry and the worker stored it");

    const ready = await request(`${url}/readyz`);
    assert.equal(ready.status, 200, JSON.stringify(ready.body));
    const checks = (ready.body as { checks: Array<{ name: string }> }).checks.map((check) => check.name);
    for (const name of ["database", "migrations", "migrations.fixture-ledger", "fixture-api", "fixture-worker"]) {
      assert.ok(checks.includes(name), `readyz has ${name}: ${checks.join(", ")}`);
    }

    assert.equal(await system.stop(), true);
    const database = await openDatabase({ dataDir: `${config.dataDir}/pglite`, migrate: false });
    try {
      const tables = await database.query<{ schema: string; table: string }>(
        "SELECT table_schema AS schema, table_name AS table FROM information_schema.tables " +
          "WHERE table_name IN ('entries', 'seen', 'messages') ORDER BY table_name",
      );
      assert.deepEqual(tables.rows, [
        { schema: "fixture_ledger", table: "entries" },
        { schema: "public", table: "messages" },
        { schema: "fixture_ledger", table: "seen" },
      ]);
      const inbox = await database.query("SELECT 1 FROM fixture_ledger.sluice_inbox WHERE event_id = $1", [id]);
      assert.equal(inbox.rowCount, 1, "the worker's inbox is in the fixture's schema");
    } finally {
      await database.close();
    }
  },
);

test("an app that runs alone is also served at the root", { timeout: 120_000 }, async (t) => {
  const system = await startSystem(configFor(t, [fixtureApp]), {}, silent);
  t.after(() => system.stop());
  const url = system.addresses.http as string;
  assert.deepEqual(
    system.addresses.apps.map((app) => app.url),
    [`${url}/api/entries`],
  );
  assert.equal((await request(`${url}/api/entries`)).status, 200);
  assert.equal((await request(`${url}/fixture/api/entries`)).status, 200);
  assert.equal((await request(`${url}/api/messages`)).status, 404, "the message board does not run here");
});

test("the registry role serves the schema registry and apps are given its URL", { timeout: 120_000 }, async (t) => {
  const config = configFor(t, [fixtureApp]);
  const system = await startSystem({ ...config, roles: new Set(["broker", "registry", ...config.roles]) }, {}, silent);
  t.after(() => system.stop());
  const registryUrl = system.addresses.registry as string;
  assert.match(registryUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.equal(system.addresses.embeddedRegistry, true);
  const url = system.addresses.http as string;
  assert.deepEqual((await request(`${url}/api/registry`)).body, { url: registryUrl });
  const schema = JSON.stringify({ type: "record", name: "Entry", fields: [{ name: "label", type: "string" }] });
  const registered = await fetch(`${registryUrl}/subjects/entries-value/versions`, {
    method: "POST",
    headers: { "content-type": "application/vnd.schemaregistry.v1+json" },
    body: JSON.stringify({ schema }),
  });
  assert.deepEqual(await registered.json(), { id: 1 });
});

test("a process without HTTP roles still answers /healthz, /readyz and /metrics, as its probes need", async (t) => {
  const brokerOnly = configFor(t, [], undefined, ["--broker-advertised-host", "localhost"]);
  const system = await startSystem({ ...brokerOnly, roles: new Set(["broker"]) }, {}, silent);
  t.after(() => system.stop());
  const url = system.addresses.http as string;
  assert.deepEqual(system.addresses.apps, []);
  assert.equal((await request(`${url}/healthz`)).status, 200);
  assert.equal((await request(`${url}/readyz`)).status, 200);
  assert.match(String((await request(`${url}/metrics`)).body), /process_cpu_seconds_total/);
  assert.equal((await request(`${url}/api/messages`)).status, 404, "no app routes without an HTTP role");
  assert.equal((await request(`${url}/ws`)).status, 404, "no WebSocket gateway without an HTTP role");

  const port = system.addresses.kafka.split(":").at(-1);
  const kafka = new Kafka({ brokers: [`127.0.0.1:${port}`], clientId: "advertised", logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  t.after(() => admin.disconnect());
  const cluster = await admin.describeCluster();
  assert.deepEqual(
    cluster.brokers.map((broker) => broker.host),
    ["localhost"],
    "the broker gives clients --broker-advertised-host",
  );
});
