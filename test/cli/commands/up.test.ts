// `sluice up` as a user runs it: its help, its refusal of bad settings, and the same code run as one process per
// role (broker, relay, worker, api) against a PostgreSQL server, the way separate pods would run it.

import assert from "node:assert/strict";
import { test } from "node:test";

import { freePortUpFlags, startUp, type UpProcess } from "../../apps/messages/up-process.js";
import { request, waitUntilStored } from "../../apps/messages/harness.js";
import { temporaryDir } from "../../helpers/environment.js";
import { adminQuery, SERVER_URL, requirePostgresServer } from "../../store/harness.js";
import { APP_NAMES, UP_ROLES } from "../../../src/cli/up/roles.js";
import { runCli } from "../run-cli.js";

test("sluice up --help lists every setting with its environment variable", async () => {
  const result = await runCli(["up", "--help"]);
  assert.equal(result.code, 0);
  for (const expected of [
    `--only <${UP_ROLES.join("|")}[,…]>`,
    `--apps <${APP_NAMES.join("|")}[,…]>`,
    "--port <N>",
    "default 8080",
    "env SLUICE_PORT",
    "--broker-port",
    "env KAFKA_BROKERS",
    "env DATABASE_URL",
    "--config <file>",
    "--auth-mode <off|optional|required>",
  ]) {
    assert.ok(result.stdout.includes(expected), `help mentions ${expected}`);
  }
});

test("sluice up refuses bad settings before starting anything, naming them", async (t) => {
  const badFlag = await runCli(["up", "--port", "eighty"]);
  assert.equal(badFlag.code, 2);
  assert.match(badFlag.stderr, /--port/);
  assert.match(badFlag.stderr, /Usage: sluice up/);

  const badEnv = await runCli(["up"], { env: { SLUICE_BROKER_PORT: "99999" } });
  assert.equal(badEnv.code, 2);
  assert.match(badEnv.stderr, /--broker-port from SLUICE_BROKER_PORT/);

  const split = await runCli(["up", "--only", "api", "--data-dir", temporaryDir(t)]);
  assert.equal(split.code, 1);
  assert.match(split.stderr, /DATABASE_URL/);
});

test(
  "a second sluice up on the same data directory is refused while the first runs",
  { timeout: 90_000 },
  async (t) => {
    const dataDir = temporaryDir(t);
    const first = await startUp(freePortUpFlags(dataDir));
    t.after(async () => {
      first.child.kill("SIGKILL");
      await first.exited;
    });
    const second = await runCli(
      ["up", "--port", "0", "--broker-port", "0", "--registry-port", "0", "--data-dir", dataDir],
      {
        timeoutMs: 60_000,
      },
    );
    assert.equal(second.code, 1);
    assert.match(second.stderr, new RegExp(`in use by process ${first.child.pid}`));
    assert.doesNotMatch(second.stderr, /unexpected error/);
    assert.equal((await request(`${first.url}/healthz`)).status, 200, "the first one keeps running");
  },
);

test("each role runs as its own process against a PostgreSQL server", { timeout: 120_000 }, async (t) => {
  if (!(await requirePostgresServer(t))) return;
  const schema = `sluice_up_roles_${process.pid}`;
  const processes: UpProcess[] = [];
  t.after(async () => {
    for (const up of processes) up.child.kill("SIGKILL");
    await Promise.all(processes.map((up) => up.exited));
    await adminQuery(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  });
  const common = ["--log-level", "warn", "--worker-session-timeout-ms", "6000"];
  const broker = await startUp(["--only", "broker", "--broker-port", "0", "--data-dir", temporaryDir(t), ...common]);
  processes.push(broker);
  assert.equal(broker.url, "", "the broker role serves no HTTP");
  const env = { DATABASE_URL: SERVER_URL, KAFKA_BROKERS: broker.kafka, SLUICE_DATABASE_SCHEMA: schema };
  // Started together: they apply the migrations at the same time and must take turns.
  const roles = await Promise.all(
    ["relay", "worker", "api"].map((role) =>
      startUp(["--only", role, "--port", "0", "--data-dir", temporaryDir(t), ...common], env),
    ),
  );
  processes.push(...roles);
  const api = roles[2] as UpProcess;
  assert.match(api.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.match(api.output(), /Database +postgres:\/\//);

  const posted = await request(`${api.url}/api/messages`, { json: { text: "from a split system" } });
  assert.equal(posted.status, 202);
  const id = (posted.body as { id: string }).id;
  await waitUntilStored(api.url, [id], 60_000);
  const ready = await request(`${api.url}/readyz`);
  assert.equal(ready.status, 200, JSON.stringify(ready.body));

  for (const up of [api, ...roles.slice(0, 2), broker]) {
    up.child.kill("SIGTERM");
    const { code } = await up.exited;
    assert.equal(code, 0, `a role stops cleanly on SIGTERM\n${up.output()}`);
  }
  const rows = await adminQuery<{ count: string }>(`SELECT count(*) AS count FROM ${schema}.messages WHERE id = $1`, [
    id,
  ]);
  assert.equal(Number(rows[0]?.count), 1);
});
