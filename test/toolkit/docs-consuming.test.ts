// docs/toolkit-consuming.md shows excerpts of examples/toolkit-consuming.ts; these tests check that every excerpt is
// really in the example, and run the example against the embedded broker and both databases.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

import { placeOrder, startOrderService } from "../../examples/toolkit-publishing.js";
import { approveAndRedrive, startShippingService } from "../../examples/toolkit-consuming.js";
import { listDeadLetters } from "../../src/toolkit/redrive.js";
import { brokerForTest } from "../helpers/broker.js";
import { storeTest, waitFor } from "../store/harness.js";
import { cleanEnv } from "../cli/run-cli.js";
import { toolkitClientFor } from "./consumer-support.js";

const DOC = fileURLToPath(new URL("../../docs/toolkit-consuming.md", import.meta.url));
const EXAMPLE = fileURLToPath(new URL("../../examples/toolkit-consuming.ts", import.meta.url));

test("every TypeScript block in the guide is an excerpt of the example the tests run", () => {
  const doc = readFileSync(DOC, "utf8");
  const example = readFileSync(EXAMPLE, "utf8");
  const blocks = [...doc.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1] ?? "");
  assert.ok(blocks.length >= 3, `found ${blocks.length} blocks`);
  for (const block of blocks) assert.ok(example.includes(block), `not in the example:\n${block}`);
});

storeTest("the guide's shipping service ships each order once and redrives the one it parked", async (t, target) => {
  const broker = await brokerForTest(t);
  const client = toolkitClientFor(broker);
  const orders = await startOrderService({ databaseUrl: target.url ?? undefined, schema: target.schema, client });
  const shipping = await startShippingService({
    databaseUrl: target.url ?? undefined,
    schema: `${target.schema}_shipping`,
    client,
    retry: { attempts: 3, baseDelayMs: 50, maxDelayMs: 200 },
  });
  try {
    assert.equal(shipping.service.ready, true);
    await placeOrder(orders.db, { orderId: "o-1", customerId: "ada", totalCents: 500 });
    await placeOrder(orders.db, { orderId: "o-2", customerId: "grace", totalCents: 900_000 });
    await placeOrder(orders.db, { orderId: "o-3", customerId: "ada", totalCents: 700 });
    const shipped = async () =>
      (await shipping.db.query<{ order_id: string }>("SELECT order_id FROM shipments ORDER BY order_id")).rows.map(
        (row) => row.order_id,
      );
    await waitFor("two shipments", async () => (await shipped()).length === 2, 20_000);
    await waitFor("one dead letter", async () => (await listDeadLetters(client, "orders.placed")).length === 1, 10_000);
    const [letter] = await listDeadLetters(client, "orders.placed");
    assert.equal(letter?.errorCode, "SLUICE_HANDLER_NON_RETRIABLE");
    assert.equal(letter?.attempts, 1);
    assert.match(letter?.error ?? "", /order o-2 needs an approval/);

    assert.equal(await approveAndRedrive(shipping.db, client, "o-2"), 1);
    await waitFor("the approved order shipped", async () => (await shipped()).length === 3, 10_000);
    assert.deepEqual(await shipped(), ["o-1", "o-2", "o-3"]);
    assert.equal(await approveAndRedrive(shipping.db, client, "o-404"), 0);
  } finally {
    assert.equal(await shipping.service.stop(), true);
    assert.equal(await orders.service.stop(), true);
    if (target.kind === "postgres") {
      const cleanup = await target.open({ migrate: false });
      await cleanup.exec(`DROP SCHEMA IF EXISTS ${target.schema}_shipping CASCADE`);
    }
  }
});

test("the example runs as a script, as the guide says", { timeout: 90_000 }, async (t) => {
  const broker = await brokerForTest(t);
  // PGlite in memory: a server database would keep the orders of an earlier run.
  const { DATABASE_URL: _serverUrl, ...env } = cleanEnv({ KAFKA_BROKERS: broker.address });
  const child = spawn(process.execPath, ["--import", "tsx", EXAMPLE], { env });
  t.after(() => child.kill("SIGKILL"));
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
  assert.equal(code, 0, stderr);
  assert.match(
    stdout,
    /^shipped 2 orders; dead letter: [0-9a-f-]{36} \(NonRetriableError: order order-[a-z0-9]+-2 needs an approval\)$/m,
  );
  assert.match(stdout, /^redriven: 1$/m);
  assert.match(stdout, /^shipped 3 orders$/m);
});
