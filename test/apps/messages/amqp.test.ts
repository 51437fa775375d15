// The message board on RabbitMQ: `sluice up --transport amqp://…` runs the API, the relay and the worker with
// messages.saved as the work queue task_queue, and /save, /view and the API behave as on the broker. Then the crash
// the issue asks for, with the roles in separate processes on the PostgreSQL server: while clients post, RabbitMQ
// closes every connection of the system (rabbitmqctl close_all_connections, limited to the test's own virtual host,
// since the server is shared and is never restarted) and the worker is killed with SIGKILL mid-batch and started
// again; every accepted message must be stored exactly once.

import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test, type TestContext } from "node:test";

import amqp from "amqplib";

import { temporaryDir } from "../../helpers/environment.js";
import { closeVhostConnections, vhostForTest, vhostUrl } from "../../helpers/rabbitmq.js";
import { adminQuery, SERVER_URL, serverUnreachableReason, uniqueSchemaName } from "../../store/harness.js";
import { allMessages, boardForTest, request, waitUntilStored } from "./harness.js";
import { startUp, type UpProcess } from "./up-process.js";

const POSTERS = 4;
const POST_TIMEOUT_MS = 5_000;
const STORED_TIMEOUT_MS = 90_000;

async function taskQueue(vhost: string): Promise<{ messageCount: number; consumerCount: number }> {
  const connection = await amqp.connect(vhostUrl(vhost));
  try {
    const channel = await connection.createChannel();
    return await channel.checkQueue("task_queue");
  } finally {
    await connection.close();
  }
}

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
    const queue = await taskQueue(vhost);
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

/** Posts from several clients until stopped; collects the ids of the accepted (202) posts. */
function posting(url: string): { accepted: Set<string>; stop(): Promise<void> } {
  const accepted = new Set<string>();
  let running = true;
  const poster = async (poster: number): Promise<void> => {
    for (let sequence = 0; running; sequence++) {
      const id = randomUUID();
      try {
        const response = await fetch(`${url}/api/messages`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ id, text: `poster ${poster} #${sequence}` }),
          signal: AbortSignal.timeout(POST_TIMEOUT_MS),
        });
        await response.arrayBuffer();
        if (response.status === 202) accepted.add(id);
      } catch {
        // A post that got no answer was not accepted; the poster goes on.
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };
  const posters = Promise.all(Array.from({ length: POSTERS }, (_, index) => poster(index)));
  return {
    accepted,
    async stop() {
      running = false;
      await posters;
    },
  };
}

async function until(what: string, check: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function killedAfter(t: TestContext, up: () => UpProcess | null): void {
  t.after(async () => {
    const process = up();
    if (process === null || process.child.exitCode !== null || process.child.signalCode !== null) return;
    process.child.kill("SIGTERM");
    await process.exited;
  });
}

test(
  "RabbitMQ dropping every connection and the worker killed mid-batch lose and duplicate no accepted message",
  { timeout: 300_000 },
  async (t) => {
    const vhost = await vhostForTest(t);
    if (vhost === null) return;
    const unreachable = await serverUnreachableReason();
    if (unreachable !== null) {
      const message = `PostgreSQL server not reachable at ${SERVER_URL}: ${unreachable}`;
      if (process.env.SLUICE_REQUIRE_ALL_TOOLS === "1") throw new Error(`${message}, and CI requires it`);
      t.skip(message);
      return;
    }
    const schema = uniqueSchemaName();
    t.after(() => adminQuery(`DROP SCHEMA IF EXISTS ${schema} CASCADE`));
    const env = { DATABASE_URL: SERVER_URL };
    const common = ["--database-schema", schema, "--transport", vhostUrl(vhost), "--log-level", "warn"];
    const front = await startUp(
      ["--only", "broker,api,relay", "--port", "0", "--broker-port", "0", "--data-dir", temporaryDir(t), ...common],
      env,
    );
    killedAfter(t, () => front);
    const workerFlags = ["--only", "worker", "--port", "0", "--kafka-brokers", front.kafka, ...common];
    let worker: UpProcess | null = await startUp([...workerFlags, "--data-dir", temporaryDir(t)], env);
    killedAfter(t, () => worker);

    const posts = posting(front.url);
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
