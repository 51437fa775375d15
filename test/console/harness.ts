// A console for a test: an embedded broker, Sluice's Kafka client, and the console plugin on a gateway that tests
// call through Fastify's inject (or listen on a random port, for the browser tests).

import type { TestContext } from "node:test";

import pino from "pino";
import { Registry } from "prom-client";

import { createConsole, type Console } from "../../src/console/console.js";
import type { Auth } from "../../src/gateway/auth/auth.js";
import { createGateway, type Gateway } from "../../src/gateway/server.js";
import { SluiceKafkaClient } from "../../src/kafka/client/index.js";
import type { Database } from "../../src/store/database.js";
import type { KafkaClient } from "../../src/toolkit/index.js";
import { brokerForTest } from "../helpers/broker.js";

export const silent = pino({ level: process.env.SLUICE_TEST_LOG_LEVEL ?? "silent" }, pino.destination(2));

export interface ConsoleScene {
  readonly brokerAddress: string;
  readonly kafka: SluiceKafkaClient;
  readonly console: Console;
  readonly gateway: Gateway;
}

export async function consoleForTest(
  t: TestContext,
  options: { auth?: Auth | null; database?: Database | null; toolkitKafka?: KafkaClient | null } = {},
): Promise<ConsoleScene> {
  const broker = await brokerForTest(t);
  const kafka = new SluiceKafkaClient({ bootstrapBrokers: [broker.address], clientId: "console-test" });
  const console = createConsole({
    kafka,
    logger: silent,
    auth: options.auth ?? null,
    database: options.database ?? null,
    toolkitKafka: options.toolkitKafka ?? null,
    sampler: { intervalMs: 200 },
  });
  const gateway = await createGateway({
    logger: silent,
    metricsRegistry: new Registry(),
    collectProcessMetrics: false,
    port: 0,
    auth: options.auth ?? null,
  });
  await gateway.register(console.plugin, { prefix: "/console" });
  t.after(async () => {
    await gateway.close();
    await console.stop();
    await kafka.close();
  });
  return { brokerAddress: broker.address, kafka, console, gateway };
}

export async function api(
  scene: ConsoleScene,
  method: "GET" | "POST" | "DELETE" | "PATCH",
  url: string,
  body?: unknown,
  headers: Record<string, string> = {},
  // Answers are read field by field in assertions, which check their shape; a type for each would only repeat them.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
): Promise<{ status: number; body: any }> {
  const response = await scene.gateway.app.inject({
    method,
    url: `/console${url}`,
    headers,
    ...(body === undefined ? {} : { payload: body as object }),
  });
  return { status: response.statusCode, body: response.body === "" ? null : response.json() };
}

/** Auth in "required" mode on an in-memory PGlite, with an admin (ada) and a viewer (bob) signed up; their tokens. */
export async function requiredAuthForTest(
  t: TestContext,
): Promise<{ auth: Auth; database: Database; adminToken: string; viewerToken: string; password: string }> {
  const { createAuth } = await import("../../src/gateway/auth/auth.js");
  const { openDatabase } = await import("../../src/store/index.js");
  const database = await openDatabase({});
  t.after(() => database.close());
  const auth = await createAuth({
    mode: "required",
    database,
    jwtSecret: "console-test-secret-that-is-long-enough-0123456789",
    passwordHashing: { cost: 2 ** 10, blockSize: 8, parallelization: 1 },
    adminUsers: ["ada"],
  });
  const password = "correct horse battery";
  const admin = await auth.register("ada", password);
  const viewer = await auth.register("bob", password);
  return { auth, database, adminToken: admin.token, viewerToken: viewer.token, password };
}
