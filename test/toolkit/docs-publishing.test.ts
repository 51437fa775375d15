// docs/toolkit-publishing.md shows excerpts of examples/toolkit-publishing.ts; these tests check that every excerpt
// is really in the example, and run the example against the embedded broker and both databases.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

import { orderPlaced, placeOrder, publishDirectly, startOrderService } from "../../examples/toolkit-publishing.js";
import { EVENT_HEADERS } from "../../src/toolkit/event.js";
import { EventValidationError } from "../../src/toolkit/errors.js";
import { brokerForTest } from "../helpers/broker.js";
import { storeTest, waitFor } from "../store/harness.js";
import { cleanEnv } from "../cli/run-cli.js";
import { readTopic, toolkitClientFor } from "./publishing-helpers.js";

const DOC = fileURLToPath(new URL("../../docs/toolkit-publishing.md", import.meta.url));
const EXAMPLE = fileURLToPath(new URL("../../examples/toolkit-publishing.ts", import.meta.url));

test("every TypeScript block in the guide is an excerpt of the example the tests run", () => {
  const doc = readFileSync(DOC, "utf8");
  const example = readFileSync(EXAMPLE, "utf8");
  const blocks = [...doc.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1] ?? "");
  assert.ok(blocks.length >= 5, `found ${blocks.length} blocks`);
  for (const block of blocks) assert.ok(example.includes(block), `not in the example:\n${block}`);
});

storeTest("the guide's order service publishes orders through the outbox and the relay", async (t, target) => {
  const broker = await brokerForTest(t);
  const client = toolkitClientFor(broker);
  const { service, db, relay } = await startOrderService({
    databaseUrl: target.url ?? undefined,
    schema: target.schema,
    client,
  });
  try {
    assert.equal(service.ready, true);
    const first = await placeOrder(db, { orderId: "o-1", customerId: "ada", totalCents: 1200 });
    const second = await placeOrder(db, { orderId: "o-2", customerId: "ada", totalCents: 300 });
    await assert.rejects(
      placeOrder(db, { orderId: "o-3", customerId: "", totalCents: 5 }),
      (error: unknown) => error instanceof EventValidationError && error.field === "customerId",
    );
    await waitFor("two published orders", () => relay.status().published === 2, 20_000);
    const direct = await publishDirectly(client, { orderId: "o-4", customerId: "grace", totalCents: 1 });
    const records = await readTopic(broker, orderPlaced.name, 3);
    assert.deepEqual(
      records.filter((record) => record.key === "ada").map((record) => record.headers[EVENT_HEADERS.id]),
      [first, second],
    );
    assert.ok(records.some((record) => record.headers[EVENT_HEADERS.id] === direct));
    assert.ok(records.every((record) => record.headers[EVENT_HEADERS.type] === "OrderPlaced"));
    const { rows } = await db.query<{ id: string }>("SELECT id FROM orders ORDER BY id");
    assert.deepEqual(
      rows.map((row) => row.id),
      ["o-1", "o-2"],
      "the refused order left no row behind",
    );
  } finally {
    assert.equal(await service.stop(), true);
  }
});

test("the example runs as a script, as the guide says", { timeout: 60_000 }, async (t) => {
  const broker = await brokerForTest(t);
  const child = spawn(process.execPath, ["--import", "tsx", EXAMPLE], {
    env: cleanEnv({ KAFKA_BROKERS: broker.address }),
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
  assert.equal(code, 0, stderr);
  const placed = [...stdout.matchAll(/^(order-[a-z0-9]+-\d) placed, event [0-9a-f-]{36}$/gm)].map((match) => match[1]);
  assert.equal(placed.length, 3, stdout);
  assert.match(stdout, /published: 3\n/);
  const records = await readTopic(broker, orderPlaced.name, 3);
  assert.deepEqual(
    records.filter((record) => record.key === "ada").map((record) => JSON.parse(record.value ?? "").orderId),
    [placed[0], placed[2]],
  );
});
