// The message board on RabbitMQ: `sluice up --transport amqp://…` runs the API, the relay and the worker with
// messages.saved as the work queue task_queue, and /save, /view and the API behave as on the broker. Then the crash
// the issue asks for, with the roles in separate processes on the PostgreSQL server: while clients post, RabbitMQ
// closes every connection of the system (rabbitmqctl close_all_connections, limited to the test's own virtual host,
// since the server is shared and is never restarted) and the worker is killed with SIGKILL mid-batch and started
// again; every accepted message must be stored exactly once.

import assert from "node:assert/strict";
import { test } from "node:test";

import { temporaryDir } from "../../helpers/environment.js";
import { closeVhostConnections, vhostForTest, vhostUrl, queueCounts } from "../../helpers/rabbitmq.js";
import { adminQuery, SERVER_URL, requirePostgresServer, uniqueSchemaName } from "../../store/harness.js";
import { allMessages, boardForTest, request, waitUntilStored } from "./harness.js";
import { killedAfter, posting, until } from "./posting.js";
import { startUp, type UpProcess } from "./up-process.js";

const POST_PAUSE_MS = 10;
const STORED_TIMEOUT_MS = 90_000;

test(
  "with --transport the message board's API, relay and worker run over RabbitMQ's task_queue",
  { timeout: 180_000 },
  async (t) => {
    const vhost = await vhostForTest(t);
    if (vhost === null) return;
    const { url, system } = await boardForTest(t, { flags: ["--apps", "messages", "--transport", vhostUrl(vhost)] });
    assert.deepEqual(system.addresses.amqp?.queues, ["task_queue"]);
    assert.doesNotMatch(system.addresses.amqp?.address ?? "", /guest:guest/, "the password is not printed");

    const ids: string[] = [];
    for (let index = 0; index < 10; index++) {
      const response = await request(`${url}/api/messages`, { json: { text: `over RabbitMQ ${index}` } });
      assert.equal(response.status, 202, JSON.stringify(response.body));
      ids.push((response.body as { id: string }).id);
    }
    // The original system's own paths: GET /save?data=… accepts, GET /view lists (JSON, or the page for a browser).
    const saved = await fetch(`${url}/save?data=${encodeURIComponent("saved through /save")}`);
    assert.equal(saved.status, 202);
    ids.push(((await saved.json()) as { id: string }).id);
    const stored = await waitUntilStored(url, ids, STORED_TIMEOUT_MS);
    assert.equal(stored.filter((message) => ids.includes(message.id)).length, 11);
    const queue = await queueCounts("task_queue", vhostUrl(vhost));
    assert.equal(queue.consumerCount, 1, "the worker consumes task_queue");
    assert.equal(queue.messageCount, 0, "nothing left waiting");

    const view = (await (await fetch(`${url}/view?limit=50`)).json()) as { messages: Array<{ id: string }> };
    assert.ok(
      ids.every((id) => view.messages.some((message) => message.id === id)),
      "/view lists them",
    );
    const page = await fetch(`${url}/view`, { headers: { accept: "text/html" } });
    assert.equal(page.status, 200);
    assert.match(await page.text(), /saved through \/save/);
  },
);

test(
  "RabbitMQ dropping every connection and the worker killed mid-batch lose and duplicate no accepted message",
  { timeout: 300_000 },
  async (t) => {
    const vhost = await vhostForTest(t);
    if (vhost === null) return;
    if (!(await requirePostgresServer(t))) return;
    const schema = uniqueSchemaName();
    t.after(() => adminQuery(`DROP SCHEMA IF EXISTS ${schema} CASCADE`));
    const env = { DATABASE_URL: SERVER_URL };
    const common = ["--database-schema", schema, "--transport", vhostUrl(vhost), "--log-level", "warn"];
    const front = await startUp(
      ["--only", "broker,api,relay", "--port", "0", "--broker-port", "0", "--data-dir", temporaryDir(t), ...common],
      env,
    );
    killedAfter(t, () => front, "SIGTERM");
    const workerFlags = ["--only", "worker", "--port", "0", "--kafka-brokers", front.kafka, ...common];
    let worker: UpProcess | null = await startUp([...workerFlags, "--data-dir", temporaryDir(t)], env);
    killedAfter(t, () => worker, "SIGTERM");

    const posts = posting(front.url, POST_PAUSE_MS);
    try {
      await until("15 accepted posts", () => posts.accepted.size >= 15);
      // RabbitMQ closes the relay's and the worker's connections while the posts go on.
      closeVhostConnections(vhost);
      await until("30 accepted posts", () => posts.accepted.size >= 30);
      worker.child.kill("SIGKILL");
      await worker.exited;
      worker = null;
      // Without a worker, accepted messages pile up in task_queue.
      await until("45 accepted posts", () => posts.accepted.size >= 45);
      worker = await startUp([...workerFlags, "--data-dir", temporaryDir(t)], env);
      await until("60 accepted posts", () => posts.accepted.size >= 60);
    } finally {
      await posts.stop();
    }

    const accepted = [...posts.accepted];
    await waitUntilStored(front.url, accepted, STORED_TIMEOUT_MS);
    const stored = await allMessages(front.url);
    const counts = new Map<string, number>();
    for (const message of stored) counts.set(message.id, (counts.get(message.id) ?? 0) + 1);
    for (const id of accepted) assert.equal(counts.get(id), 1, `message ${id} is stored exactly once`);
    assert.equal(stored.length, new Set(stored.map((message) => message.id)).size, "no message is listed twice");
  },
);
