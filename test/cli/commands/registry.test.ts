// `sluice registry` as a user runs it: one listening line, schemas kept in the data directory across restarts.

import assert from "node:assert/strict";
import { test } from "node:test";

import { temporaryDir } from "../../helpers/environment.js";
import { exited, runCli, spawnCli, waitForLine } from "../run-cli.js";

const LISTENING = /^sluice registry listening on (127\.0\.0\.1):(\d+)$/;
const START_TIMEOUT_MS = 90_000;
const SCHEMA = JSON.stringify({ type: "record", name: "Ping", fields: [{ name: "at", type: "long" }] });

async function startOnce(dataDir: string) {
  const child = spawnCli(["registry", "--port", "0", "--data-dir", dataDir, "--log-level", "warn"]);
  const line = await waitForLine(child, LISTENING, START_TIMEOUT_MS);
  const [, host, port] = LISTENING.exec(line)!;
  return { child, url: `http://${host}:${port}` };
}

test("sluice registry serves the REST API and keeps schemas in its data directory", { timeout: 240_000 }, async (t) => {
  const dataDir = temporaryDir(t);
  const first = await startOnce(dataDir);
  t.after(() => first.child.kill("SIGKILL"));
  const registered = await fetch(`${first.url}/subjects/ping-value/versions`, {
    method: "POST",
    headers: { "content-type": "application/vnd.schemaregistry.v1+json" },
    body: JSON.stringify({ schema: SCHEMA }),
  });
  assert.deepEqual(await registered.json(), { id: 1 });
  first.child.kill("SIGTERM");
  assert.deepEqual(await exited(first.child), { code: 0, signal: null });

  const second = await startOnce(dataDir);
  t.after(() => second.child.kill("SIGKILL"));
  const fetched = await fetch(`${second.url}/schemas/ids/1`);
  assert.deepEqual(await fetched.json(), { schema: SCHEMA });
  second.child.kill("SIGTERM");
  assert.equal((await exited(second.child)).code, 0);
});

test("sluice registry refuses bad arguments with the usage", async () => {
  const result = await runCli(["registry", "--port", "seventy"]);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /--port/);
  const badUrl = await runCli(["registry", "--port", "0"], { env: { DATABASE_URL: "mysql://nope" } });
  assert.equal(badUrl.code, 1);
  assert.match(badUrl.stderr, /DATABASE_URL must be a postgres/);
});
