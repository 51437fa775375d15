// `sluice console` as a user runs it, against `sluice broker` started separately with SASL: the console's own Kafka
// client signs in with the same --sasl-* flags as the other client commands (or the KAFKA_SASL_* variables) and its
// API answers from the cluster; wrong credentials stop it at start with the reason, and a SASL flag without its
// partners is a usage error.

import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";

import { temporaryDir } from "../../helpers/environment.js";
import { exited, runCli, spawnCli, waitForLine } from "../run-cli.js";

const BROKER_LISTENING = /listening on (127\.0\.0\.1):(\d+)$/;
const CONSOLE_LISTENING = /^sluice console at (http:\/\/[^ ]+)\/console\/ /;

test("sluice console signs in to a SASL broker with the client commands' flags", { timeout: 120_000 }, async (t) => {
  const dir = temporaryDir(t);
  writeFileSync(join(dir, "users"), "console:s3cret-words\n");
  const broker = spawnCli([
    "broker",
    "--port",
    "0",
    "--data-dir",
    join(dir, "data"),
    "--sasl-users",
    join(dir, "users"),
    "--log-level",
    "silent",
  ]);
  t.after(() => broker.kill("SIGKILL"));
  const [, host, port] = BROKER_LISTENING.exec(await waitForLine(broker, BROKER_LISTENING))!;
  const brokers = `${host}:${port}`;

  const consoleProcess = spawnCli([
    "console",
    "--port",
    "0",
    "--brokers",
    brokers,
    "--sasl-mechanism",
    "scram-sha-512",
    "--sasl-username",
    "console",
    "--sasl-password",
    "s3cret-words",
    "--log-level",
    "warn",
  ]);
  t.after(() => consoleProcess.kill("SIGKILL"));
  const [, url] = CONSOLE_LISTENING.exec(await waitForLine(consoleProcess, CONSOLE_LISTENING, 60_000))!;
  const created = await fetch(`${url}/console/api/topics`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name: "through-sasl", partitions: 2 }),
  });
  assert.equal(created.status, 201, await created.text());
  const listed = (await (await fetch(`${url}/console/api/topics`)).json()) as { topics: Array<{ name: string }> };
  assert.deepEqual(
    listed.topics.map((topic) => topic.name),
    ["through-sasl"],
  );
  const overview = (await (await fetch(`${url}/console/api/overview`)).json()) as { brokers: unknown[] };
  assert.equal(overview.brokers.length, 1);
  consoleProcess.kill("SIGTERM");
  assert.equal((await exited(consoleProcess)).code, 0);

  // The same settings from the environment, with a wrong password: the console does not start, and says why.
  const refused = await runCli(["console", "--port", "0", "--brokers", brokers, "--log-level", "silent"], {
    env: { KAFKA_SASL_MECHANISM: "scram-sha-256", KAFKA_SASL_USERNAME: "console", KAFKA_SASL_PASSWORD: "guess" },
    timeoutMs: 60_000,
  });
  assert.equal(refused.code, 1, refused.stdout + refused.stderr);
  assert.match(refused.stderr, /authentication failed/);
  assert.match(refused.stderr, /Check --sasl-mechanism, --sasl-username and --sasl-password/);

  const incomplete = await runCli(["console", "--brokers", brokers, "--sasl-mechanism", "plain"]);
  assert.equal(incomplete.code, 2, incomplete.stderr);
  assert.match(incomplete.stderr, /--sasl-mechanism plain needs --sasl-username and --sasl-password/);

  broker.kill("SIGTERM");
  assert.equal((await exited(broker)).code, 0);
});

test("sluice console refuses a --database-url that is not a PostgreSQL URL, before it starts", async () => {
  const result = await runCli(["console", "--port", "0", "--database-url", "mysql://db/app"], {
    env: { DATABASE_URL: "" },
  });
  assert.equal(result.code, 2, result.stderr);
  assert.match(result.stderr, /--database-url must be a postgres:\/\/ or postgresql:\/\/ URL/);
});
