// `sluice up` killed with SIGKILL while posts wait in group commits loses none that it acknowledged, on PGlite and on
// the PostgreSQL server: a 202 is sent only after the transaction holding the post committed, so after a restart
// the worker stores every acknowledged post. Groups linger (--group-commit-wait-ms) so that the kill lands while
// posts are queued and groups are being written.

import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test, type TestContext } from "node:test";

import { temporaryDir } from "../../helpers/environment.js";
import { adminQuery, SERVER_URL, requirePostgresServer, uniqueSchemaName } from "../../store/harness.js";
import { freePortUpFlags, startUp, type UpProcess } from "./up-process.js";

const POSTERS = 16;
const ACKNOWLEDGED_BEFORE_KILL = 150;
const WAIT_MS = 20;
const POST_TIMEOUT_MS = 10_000;
const STORED_TIMEOUT_MS = 120_000;

async function post(url: string, id: string): Promise<number> {
  const response = await fetch(`${url}/api/messages`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ id, text: `crash test ${id}` }),
    signal: AbortSignal.timeout(POST_TIMEOUT_MS),
  });
  await response.arrayBuffer();
  return response.status;
}

async function isStored(url: string, id: string): Promise<boolean> {
  const response = await fetch(`${url}/api/messages/${id}`);
  await response.arrayBuffer();
  return response.status === 200;
}

/** The flags and environment for one database kind; null when the server is not reachable (then skipped). */
async function setup(
  t: TestContext,
  kind: "pglite" | "postgres",
): Promise<{ flags: string[]; env: Record<string, string> } | null> {
  const dataDir = temporaryDir(t, "sluice-group-crash-");
  const flags = [...freePortUpFlags(dataDir), ...["--apps", "messages", "--group-commit-wait-ms", String(WAIT_MS)]];
  if (kind === "pglite") return { flags, env: {} };
  if (!(await requirePostgresServer(t))) return null;
  const schema = uniqueSchemaName();
  t.after(() => adminQuery(`DROP SCHEMA IF EXISTS ${schema} CASCADE`));
  return { flags: [...flags, "--database-schema", schema], env: { DATABASE_URL: SERVER_URL } };
}

for (const kind of ["pglite", "postgres"] as const) {
  test(`no acknowledged post is lost when sluice up is killed mid-group [${kind}]`, { timeout: 300_000 }, async (t) => {
    const configured = await setup(t, kind);
    if (configured === null) return;
    let up: UpProcess = await startUp(configured.flags, configured.env);
    t.after(async () => {
      up.child.kill("SIGKILL");
      await up.exited;
    });

    const acknowledged: string[] = [];
    let posting = true;
    const posters = Array.from({ length: POSTERS }, async () => {
      while (posting) {
        const id = randomUUID();
        const status = await post(up.url, id).catch(() => 0);
        if (status === 202) acknowledged.push(id);
      }
    });
    while (acknowledged.length < ACKNOWLEDGED_BEFORE_KILL) {
      const exited = await Promise.race([up.exited.then(() => true), new Promise((r) => setTimeout(r, 10, false))]);
      assert.equal(exited, false, `sluice up exited early\n${up.output()}`);
    }
    up.child.kill("SIGKILL");
    await up.exited;
    posting = false;
    await Promise.all(posters);

    up = await startUp(configured.flags, configured.env);
    const deadline = Date.now() + STORED_TIMEOUT_MS;
    let missing = [...acknowledged];
    while (missing.length > 0 && Date.now() < deadline) {
      const stored = await Promise.all(missing.map((id) => isStored(up.url, id)));
      missing = missing.filter((_, index) => !stored[index]);
      if (missing.length > 0) await new Promise((resolve) => setTimeout(resolve, 250));
    }
    assert.deepEqual(missing, [], `${missing.length} of ${acknowledged.length} acknowledged posts were lost`);
  });
}
