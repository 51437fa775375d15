// The orders system through `sluice up`'s entry point: the broker, the schema registry, the order service and the
// fulfillment service in one process. An order placed over HTTP turns fulfilled; a bad order is a dead letter.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { test } from "node:test";

import { Kafka, logLevel } from "kafkajs";

import { ordersApp } from "../../../src/apps/orders/manifest.js";
import { SCHEMAS_DIR } from "../../../src/apps/orders/topics.js";
import { readAvscDirectory } from "../../../src/cli/commands/schemas.js";
import { startSystem } from "../../../src/cli/up/system.js";
import { generateTypeScript } from "../../../src/registry/avro-types.js";
import { request } from "../messages/harness.js";
import { eventually } from "../../helpers/broker.js";
import { configFor, silent } from "../../cli/up/harness.js";

test("the committed schema types are what `sluice schemas types` generates from the .avsc files", () => {
  const committed = readFileSync(new URL("../../../src/apps/orders/schema-types.ts", import.meta.url), "utf8");
  const generated = generateTypeScript(readAvscDirectory(fileURLToPath(SCHEMAS_DIR)));
  assert.equal(
    committed,
    generated,
    "run: npx sluice schemas types src/apps/orders/schemas --out src/apps/orders/schema-types.ts",
  );
});

test(
  "an order placed over HTTP is fulfilled through Avro events; a bad one is a dead letter",
  { timeout: 180_000 },
  async (t) => {
    const config = configFor(t, [ordersApp], undefined, ["--worker-session-timeout-ms", "6000"]);
    const system = await startSystem(
      { ...config, roles: new Set(["broker", "registry", ...config.roles]) },
      {},
      silent,
    );
    t.after(() => system.stop());
    const url = system.addresses.http as string;
    const registry = system.addresses.registry as string;

    const page = await fetch(`${url}/orders/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<h1>Orders<\/h1>/);

    const placed = await request(`${url}/orders/api/orders`, {
      json: { customerId: "c-1", items: [{ sku: "book", quantity: 2, priceCents: 1500 }] },
    });
    assert.equal(placed.status, 202);
    const { id } = placed.body as { id: string };
    const fulfilled = await eventually(
      async () => {
        const order = (await request(`${url}/orders/api/orders/${id}`)).body as { status: string };
        return order.status === "fulfilled";
      },
      60_000,
      200,
    );
    assert.ok(fulfilled, "the order turns fulfilled");
    const order = (await request(`${url}/api/orders/${id}`)).body as Record<string, unknown>;
    assert.equal(order.totalCents, 3000);
    assert.match(String(order.fulfilledAt), /^\d{4}-/);
    assert.deepEqual(order.items, [{ sku: "book", quantity: 2, priceCents: 1500 }]);

    // The schemas were registered on first produce, under the topic naming strategy.
    const subjects = (await (await fetch(`${registry}/subjects`)).json()) as string[];
    assert.deepEqual(subjects.sort(), ["order.fulfilled-value", "order.placed-value"]);

    // order.placed has 3 partitions and carries Confluent's wire format.
    const kafka = new Kafka({ brokers: [system.addresses.kafka], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    t.after(() => admin.disconnect());
    const [metadata] = (await admin.fetchTopicMetadata({ topics: ["order.placed"] })).topics;
    assert.equal(metadata?.partitions.length, 3);

    // Bad input: a clear 400 naming the field; an unknown sku is accepted, then dead-lettered by fulfillment.
    const bad = await request(`${url}/orders/api/orders`, { json: { customerId: "c-1", items: [] } });
    assert.equal(bad.status, 400);
    assert.equal((bad.body as { field: string }).field, "items");
    const unknown = await request(`${url}/orders/api/orders`, {
      json: { customerId: "c-2", items: [{ sku: "unicorn", quantity: 1, priceCents: 100 }] },
    });
    assert.equal(unknown.status, 202);
    const deadLettered = await eventually(
      async () => {
        const offsets = await admin.fetchTopicOffsets("order.placed.dlt").catch(() => []);
        return offsets.some((partition) => Number(partition.high) > 0);
      },
      60_000,
      200,
    );
    assert.ok(deadLettered, "the unknown sku's order is a dead letter");
    const stillPlaced = (await request(`${url}/orders/api/orders/${(unknown.body as { id: string }).id}`)).body;
    assert.equal((stillPlaced as { status: string }).status, "placed");
  },
);
