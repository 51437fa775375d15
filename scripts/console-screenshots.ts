// Takes the console screenshots the README shows (docs/console-*.png): starts an embedded broker in a temporary
// directory, fills it with a few topics, messages and a consumer group, opens the console in headless Chromium and
// saves each view. Run with `npm run screenshots:console`; tests never write these files.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import pino from "pino";
import { chromium } from "playwright-core";

import { startBroker } from "../src/broker/index.js";
import { createConsole } from "../src/console/console.js";
import { createGateway } from "../src/gateway/server.js";
import { SluiceKafkaClient } from "../src/kafka/client/index.js";

const CHROMIUM_PATH = process.env.SLUICE_CHROMIUM_PATH ?? "/usr/bin/chromium";
const DOCS = fileURLToPath(new URL("../docs/", import.meta.url));
const silent = pino({ level: "silent" });

const dataDir = mkdtempSync(join(tmpdir(), "sluice-screenshots-"));
const broker = await startBroker({ port: 0, dataDir, logger: silent });
const kafka = new SluiceKafkaClient({ bootstrapBrokers: [broker.address], clientId: "screenshots" });
const consoleParts = createConsole({ kafka, logger: silent, sampler: { intervalMs: 500 } });
const gateway = await createGateway({ logger: silent, port: 0, collectProcessMetrics: false });
await gateway.register(consoleParts.plugin, { prefix: "/console" });
const url = await gateway.listen();
consoleParts.start();

await kafka.admin.createTopics([
  { name: "orders", partitions: 3, configs: { "retention.ms": "604800000" } },
  { name: "payments", partitions: 2 },
  { name: "notifications", partitions: 1 },
]);
for (let round = 0; round < 8; round++) {
  for (let partition = 0; partition < 3; partition++) {
    await kafka.produce({
      topic: "orders",
      partition,
      records: Array.from({ length: 20 + round * 5 }, (_, index) => ({
        key: `customer-${(index * 7 + partition) % 40}`,
        value: JSON.stringify({
          orderId: `o-${round}-${partition}-${index}`,
          cents: 500 + index * 37,
          status: "placed",
        }),
        headers: [{ key: "source", value: "shop" }],
      })),
    });
  }
  await kafka.produce({ topic: "payments", partition: round % 2, records: [{ key: "p", value: '{"ok":true}' }] });
  await new Promise((resolve) => setTimeout(resolve, 600));
}
await kafka.admin.commitGroupOffsets("billing", [
  { topic: "orders", partition: 0, offset: 150 },
  { topic: "orders", partition: 1, offset: 200 },
  { topic: "orders", partition: 2, offset: 90 },
]);
await new Promise((resolve) => setTimeout(resolve, 1200));

const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: ["--no-sandbox"] });
const page = await browser.newPage({ viewport: { width: 1280, height: 760 } });
const shots: Array<[string, string]> = [
  ["overview", "/console/"],
  ["topics", "/console/topics"],
  ["messages", "/console/topics/orders/messages"],
  ["group", "/console/groups/billing"],
];
for (const [name, path] of shots) {
  await page.goto(`${url}${path}`);
  await page.waitForTimeout(1000);
  if (name === "messages") await page.locator("tr.message").first().click();
  await page.screenshot({ path: join(DOCS, `console-${name}.png`) });
  process.stdout.write(`wrote docs/console-${name}.png\n`);
}
await browser.close();
await gateway.close();
await consoleParts.stop();
await kafka.close();
await broker.close();
rmSync(dataDir, { recursive: true, force: true });
