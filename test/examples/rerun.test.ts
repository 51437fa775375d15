// Every example in examples/ runs as the guides say any number of times, in any order, against one broker and one
// database: each run has data of its own, waits with a deadline instead of for ever, and, with DATABASE_URL, keeps
// its tables in schemas of its own rather than in the user's `public` schema.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { test, type TestContext } from "node:test";
import { fileURLToPath } from "node:url";

import { brokerForTest } from "../helpers/broker.js";
import { cleanEnv } from "../cli/run-cli.js";
import { adminQuery, SERVER_URL, requirePostgresServer } from "../store/harness.js";

const RUN_TIMEOUT_MS = 90_000;

const EXAMPLES = {
  publishing: {
    path: fileURLToPath(new URL("../../examples/toolkit-publishing.ts", import.meta.url)),
    output: /^published: 3$/m,
  },
  consuming: {
    path: fileURLToPath(new URL("../../examples/toolkit-consuming.ts", import.meta.url)),
    output: /^shipped 3 orders$/m,
  },
  kafkaClient: {
    path: fileURLToPath(new URL("../../examples/kafka-client.ts", import.meta.url)),
    output: /^payment-auditors starts partition 0 at offset 0$/m,
  },
} as const;

async function runExample(t: TestContext, name: keyof typeof EXAMPLES, env: Record<string, string>): Promise<void> {
  const example = EXAMPLES[name];
  const child = spawn(process.execPath, ["--import", "tsx", example.path], { env });
  t.after(() => child.kill("SIGKILL"));
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const timer = setTimeout(() => child.kill("SIGKILL"), RUN_TIMEOUT_MS);
  const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
  clearTimeout(timer);
  assert.equal(code, 0, `${name} exited with ${code}:\n${output}`);
  assert.match(output, example.output, name);
}

/** A database of the test's own on the server, dropped afterwards, or null (after a loud skip) without a server. */
async function databaseOfItsOwn(t: TestContext): Promise<string | null> {
  if (!(await requirePostgresServer(t))) return null;
  const name = `sluice_examples_${randomBytes(4).toString("hex")}`;
  await adminQuery(`CREATE DATABASE ${name}`);
  t.after(() => adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  const url = new URL(SERVER_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

test("every example runs twice, in any order, against one broker and one PostgreSQL database", async (t) => {
  const databaseUrl = await databaseOfItsOwn(t);
  if (databaseUrl === null) return;
  const broker = await brokerForTest(t);
  const env = cleanEnv({ KAFKA_BROKERS: broker.address, DATABASE_URL: databaseUrl });
  for (const name of ["consuming", "publishing", "publishing", "consuming", "kafkaClient", "kafkaClient"] as const) {
    await runExample(t, name, env);
  }
  const database = new URL(databaseUrl).pathname.slice(1);
  const tables = await queryIn(
    databaseUrl,
    "SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2",
  );
  assert.deepEqual(
    tables.filter((row) => row.table_schema === "public"),
    [],
    `the examples created no table in the public schema of ${database}`,
  );
  assert.ok(tables.some((row) => row.table_schema === "orders" && row.table_name === "orders"));
  assert.ok(tables.some((row) => row.table_schema === "shipping" && row.table_name === "shipments"));
});

async function queryIn(url: string, text: string): Promise<Array<Record<string, string>>> {
  const { default: pg } = await import("pg");
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<Record<string, string>>(text)).rows;
  } finally {
    await client.end();
  }
}
