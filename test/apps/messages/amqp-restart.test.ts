// The crash issue 15 asks for, with RabbitMQ itself crashing: the message board runs over a private RabbitMQ node
// (test/helpers/rabbitmq-node.ts; the shared server is never stopped), with the API and relay in one `sluice up`
// process and the worker in another, on the PostgreSQL server. While clients post, the worker is killed with SIGKILL
// in the middle of a batch (its transaction holds messages it was handed, blocked on a table lock the test holds),
// then the RabbitMQ node is killed with SIGKILL and started again on its data directory, and a new worker starts
// as soon as it accepts connections. Every accepted (202) message must then be stored exactly once.

import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test, type TestContext } from "node:test";

import pg from "pg";

import { temporaryDir } from "../../helpers/environment.js";
import { rabbitmqNodeForTest } from "../../helpers/rabbitmq-node.js";
import { adminQuery, SERVER_URL, serverUnreachableReason, uniqueSchemaName } from "../../store/harness.js";
import { startUp, type UpProcess } from "./up-process.js";

const POSTERS = 4;
const POST_TIMEOUT_MS = 5_000;
const POST_PAUSE_MS = 20;
const STEP_TIMEOUT_MS = 30_000;
const STORED_TIMEOUT_MS = 40_000;

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
      await new Promise((resolve) => setTimeout(resolve, POST_PAUSE_MS));
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

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = STEP_TIMEOUT_MS) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function killedAfter(t: TestContext, up: () => UpProcess | null): void {
  t.after(async () => {
    const process = up();
    if (process === null || process.child.exitCode !== null || process.child.signalCode !== null) return;
    process.child.kill("SIGKILL");
    await process.exited;
  });
}

async function storedCounts(schema: string): Promise<Map<string, number>> {
  const rows = await adminQuery<{ id: string; copies: number }>(
    `SELECT id::text AS id, count(*)::int AS copies FROM ${schema}.messages GROUP BY id`,
  );
  return new Map(rows.map((row) => [row.id, row.copies]));
}

/** True when a session of the database waits for a lock on the messages table: the worker, mid-batch. */
async function workerBlocked(schema: string): Promise<boolean> {
  const rows = await adminQuery<{ waiting: number }>(
    `SELECT count(*)::int AS waiting FROM pg_locks
       WHERE NOT granted AND relation = '${schema}.messages'::regclass`,
  );
  return (rows[0]?.waiting ?? 0) > 0;
}

test(
  "the worker killed mid-batch and RabbitMQ killed and restarted while clients post lose and duplicate nothing",
  { timeout: 120_000 },
  async (t) => {
    const unreachable = await serverUnreachableReason();
    if (unreachable !== null) {
      const message = `PostgreSQL server not reachable at ${SERVER_URL}: ${unreachable}`;
      if (process.env.SLUICE_REQUIRE_ALL_TOOLS === "1") throw new Error(`${message}, and CI requires it`);
      process.stderr.write(`\n*** SKIPPED: ${message} ***\n`);
      t.skip(message);
      return;
    }
    const rabbitmq = await rabbitmqNodeForTest(t);
    if (rabbitmq === null) return;
    const schema = uniqueSchemaName();
    t.after(() => adminQuery(`DROP SCHEMA IF EXISTS ${schema} CASCADE`));
    const env = { DATABASE_URL: SERVER_URL };
    const common = ["--database-schema", schema, "--transport", rabbitmq.url, "--log-level", "warn"];
    // The node boots while the API and relay start: they wait for RabbitMQ (the relay retries with backoff).
    const [booted, started] = await Promise.allSettled([
      rabbitmq.start(),
      startUp(
        ["--only", "broker,api,relay", "--port", "0", "--broker-port", "0", "--data-dir", temporaryDir(t), ...common],
        env,
      ),
    ]);
    if (started.status === "rejected") throw started.reason;
    const front = started.value;
    killedAfter(t, () => front);
    if (booted.status === "rejected") throw booted.reason;
    const workerFlags = ["--only", "worker", "--port", "0", "--kafka-brokers", front.kafka, ...common];
    let worker: UpProcess | null = await startUp([...workerFlags, "--data-dir", temporaryDir(t)], env);
    killedAfter(t, () => worker);
    // What RabbitMQ itself says about the work queue and who consumes it, for a failure's message.
    const inspect = (): string => {
      if (!rabbitmq.running) return "(the node is not running)";
      return [
        "list_queues name type messages_ready messages_unacknowledged consumers",
        "list_consumers",
        "list_channels",
      ]
        .map((command) => {
          try {
            return `$ rabbitmqctl ${command}\n${rabbitmq.ctl(command.split(" "))}`;
          } catch (error) {
            return `$ rabbitmqctl ${command}\n${String(error)}`;
          }
        })
        .join("\n");
    };
    const diagnose = (error: unknown): Error =>
      new Error(
        `${error instanceof Error ? error.message : String(error)}\n--- worker\n${worker?.output() ?? "(none)"}\n` +
          `--- api and relay\n${front.output()}\n--- RabbitMQ\n${inspect()}\n${rabbitmq.log()}`,
        { cause: error },
      );

    const posts = posting(front.url);
    try {
      await until("20 accepted posts, some of them stored", async () => {
        return posts.accepted.size >= 20 && (await storedCounts(schema)).size > 0;
      });
      // The test's transaction locks the messages table, so that the worker's next batch stops at its INSERT with
      // the messages delivered and unacknowledged: the kill lands mid-batch.
      const lock = new pg.Client({ connectionString: SERVER_URL });
      await lock.connect();
      try {
        await lock.query("BEGIN");
        await lock.query(`LOCK TABLE ${schema}.messages IN EXCLUSIVE MODE`);
        await until("the worker blocked in a batch", () => workerBlocked(schema));
        worker.child.kill("SIGKILL");
        await worker.exited;
        worker = null;
      } finally {
        await lock.query("ROLLBACK").catch(() => undefined);
        await lock.end();
      }
      // RabbitMQ crashes while the API goes on accepting: the relay keeps the accepted messages in the outbox.
      const acceptedBeforeRestart = posts.accepted.size;
      await rabbitmq.kill();
      await until("10 posts accepted while RabbitMQ is down", () => posts.accepted.size >= acceptedBeforeRestart + 10);
      // The new worker starts as soon as the node accepts connections again, while it may still recover its queues.
      await rabbitmq.start();
      worker = await startUp([...workerFlags, "--data-dir", temporaryDir(t)], env);
      const acceptedAfterRestart = posts.accepted.size;
      await until("10 posts accepted after the restart", () => posts.accepted.size >= acceptedAfterRestart + 10);
    } catch (error) {
      throw diagnose(error);
    } finally {
      await posts.stop();
    }

    const accepted = [...posts.accepted];
    let counts = new Map<string, number>();
    try {
      await until(
        `all ${accepted.length} accepted messages stored`,
        async () => {
          counts = await storedCounts(schema);
          return accepted.every((id) => counts.has(id));
        },
        STORED_TIMEOUT_MS,
      );
    } catch (error) {
      const missing = accepted.filter((id) => !counts.has(id));
      throw diagnose(
        new Error(`${missing.length} of ${accepted.length} not stored: ${missing.join(", ")}`, { cause: error }),
      );
    }
    for (const id of accepted) assert.equal(counts.get(id), 1, `message ${id} is stored exactly once`);
    // Each stored message was handled once: one messages.stored announcement each, added in the storing transaction.
    const announced = await adminQuery<{ copies: number }>(
      `SELECT count(*)::int AS copies FROM ${schema}.sluice_outbox WHERE topic = 'messages.stored'`,
    );
    assert.equal(announced[0]?.copies, counts.size, "one messages.stored event per stored message");
  },
);
