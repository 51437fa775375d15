// RabbitMQ for tests: the server on this machine (AMQP_URL, default 127.0.0.1:5672 guest/guest). Tests that need it
// skip loudly when it is unreachable, and fail instead in CI (SLUICE_REQUIRE_ALL_TOOLS=1). Other agents and test
// processes share the server, so every test names its exchanges and queues uniquely and deletes them afterwards.

import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import type { TestContext } from "node:test";

import amqp from "amqplib";
import pino from "pino";

import { createAmqpClient, type AmqpClient, type AmqpClientOptions } from "../../src/toolkit/amqp/index.js";
import { hasCommand, requireTool } from "./environment.js";
import { startTcpProxy, type TcpProxy } from "./tcp-proxy.js";

export const RABBITMQ_URL = process.env.AMQP_URL ?? "amqp://guest:guest@127.0.0.1:5672";

let reachability: Promise<string | null> | null = null;

/** Resolves to null when RabbitMQ answers, or to the reason it does not. */
export function rabbitmqUnreachableReason(): Promise<string | null> {
  reachability ??= (async () => {
    try {
      const connection = await amqp.connect(RABBITMQ_URL, { timeout: 3_000 });
      await connection.close();
      return null;
    } catch (error) {
      return error instanceof Error ? error.message : String(error);
    }
  })();
  return reachability;
}

/** True when RabbitMQ is there; otherwise skips the test loudly (or fails it in CI). */
export async function requireRabbitmq(t: TestContext): Promise<boolean> {
  const reason = await rabbitmqUnreachableReason();
  return requireTool(t, reason === null, `RabbitMQ at ${RABBITMQ_URL} (${reason ?? ""})`);
}

/** A short random prefix for the names one test declares. */
export function uniqueAmqpName(prefix: string): string {
  return `${prefix}-${process.pid}-${randomBytes(4).toString("hex")}`;
}

/** Deletes exchanges and queues by name on their own connection (a client under test may be closed by then). */
export async function deleteAmqpNames(names: { exchanges: Iterable<string>; queues: Iterable<string> }): Promise<void> {
  const connection = await amqp.connect(RABBITMQ_URL);
  try {
    for (const queue of names.queues) {
      const channel = await connection.createChannel();
      await channel.deleteQueue(queue).catch(() => undefined);
      await channel.close().catch(() => undefined);
    }
    for (const exchange of names.exchanges) {
      const channel = await connection.createChannel();
      await channel.deleteExchange(exchange).catch(() => undefined);
      await channel.close().catch(() => undefined);
    }
  } finally {
    await connection.close().catch(() => undefined);
  }
}

/** An AMQP transport client for a test; after it, the client closes and what it declared is deleted. */
export function amqpClientForTest(t: TestContext, options: AmqpClientOptions = {}): AmqpClient {
  const client = createAmqpClient({
    url: RABBITMQ_URL,
    env: {},
    reconnectBaseMs: 50,
    reconnectMaxMs: 500,
    // Quiet unless asked for (SLUICE_TEST_LOG_LEVEL=debug), as the broker's logs are.
    logger: pino({ level: process.env.SLUICE_TEST_LOG_LEVEL ?? "silent" }, pino.destination(2)),
    ...options,
  });
  t.after(async () => {
    await client.close();
    await deleteAmqpNames({ exchanges: client.topology.declaredExchanges, queues: client.topology.declaredQueues });
  });
  return client;
}

const RABBITMQCTL_TIMEOUT_MS = 120_000;

function rabbitmqctl(args: readonly string[]): void {
  const result = spawnSync("rabbitmqctl", ["--quiet", ...args], { encoding: "utf8", timeout: RABBITMQCTL_TIMEOUT_MS });
  if (result.status !== 0) {
    throw new Error(`rabbitmqctl ${args.join(" ")} failed (${result.status}): ${result.stderr || result.stdout}`);
  }
}

/**
 * A virtual host of its own for a test that runs `sluice up` (whose queue names, task_queue among them, are fixed),
 * with guest allowed in; deleted after the test, with everything in it. Needs rabbitmqctl on this machine (it skips
 * loudly without, or fails in CI). Resolves to the vhost's name, or null after a skip.
 */
export async function vhostForTest(t: TestContext): Promise<string | null> {
  if (!(await requireRabbitmq(t))) return null;
  if (!requireTool(t, hasCommand("rabbitmqctl"), "rabbitmqctl (to make a RabbitMQ virtual host for the test)")) {
    return null;
  }
  const vhost = uniqueAmqpName("sluice-test");
  rabbitmqctl(["add_vhost", vhost]);
  t.after(() => rabbitmqctl(["delete_vhost", vhost]));
  rabbitmqctl(["set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"]);
  return vhost;
}

/** The AMQP URL of a virtual host on the test server. */
export function vhostUrl(vhost: string): string {
  const url = new URL(RABBITMQ_URL);
  url.pathname = `/${encodeURIComponent(vhost)}`;
  return url.toString();
}

/**
 * Has RabbitMQ itself close every client connection to the vhost, as a server restart or a network failure would
 * cut them, without touching the connections of other tests (the server is shared and is never restarted).
 */
export function closeVhostConnections(vhost: string): void {
  rabbitmqctl(["close_all_connections", "--vhost", vhost, "closed by a Sluice test"]);
}

/** A queue's ready messages and consumers, as RabbitMQ counts them now, read over a connection of its own. */
export async function queueCounts(
  queue: string,
  url: string = RABBITMQ_URL,
): Promise<{ messageCount: number; consumerCount: number }> {
  const connection = await amqp.connect(url);
  try {
    const channel = await connection.createChannel();
    const { messageCount, consumerCount } = await channel.checkQueue(queue);
    return { messageCount, consumerCount };
  } finally {
    await connection.close();
  }
}

/** A client whose every connection to RabbitMQ goes through a proxy the test can cut or stall; both end with t. */
export async function proxiedAmqpClientForTest(
  t: TestContext,
  options: AmqpClientOptions = {},
): Promise<{ proxy: TcpProxy; client: AmqpClient }> {
  const proxy = await startTcpProxy({ host: "127.0.0.1", port: Number(new URL(RABBITMQ_URL).port || 5672) });
  const url = new URL(RABBITMQ_URL);
  url.host = `127.0.0.1:${proxy.port}`;
  const client = amqpClientForTest(t, { ...options, url: url.toString() });
  t.after(() => proxy.close());
  return { proxy, client };
}
