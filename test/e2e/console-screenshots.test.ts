// The console's main views in a real browser, each checked for what it must show and then photographed: these are
// the README's console screenshots. A test run writes them to a temporary directory; `npm run screenshots` sets
// SLUICE_SCREENSHOTS_DIR=docs to refresh the tracked ones.

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { test } from "node:test";

import { chromium } from "playwright-core";

import { requireTool } from "../helpers/environment.js";
import { consoleForTest } from "../console/harness.js";
import { screenshotPath } from "./screenshots.js";

const CHROMIUM_PATH = process.env.SLUICE_CHROMIUM_PATH ?? "/usr/bin/chromium";
const STEP_TIMEOUT_MS = 15_000;
const ORDERS_PARTITIONS = 3;
const ORDERS_ROUNDS = 4;

test("the console's overview, topics, messages and group views, photographed", { timeout: 120_000 }, async (t) => {
  if (!requireTool(t, existsSync(CHROMIUM_PATH), `Chromium at ${CHROMIUM_PATH} (apt-get install chromium)`)) return;
  const scene = await consoleForTest(t);
  const url = await scene.gateway.listen();
  // The overview's charts draw the server's samples, so the sampler runs from the start, as under `sluice up`.
  scene.console.start();

  await scene.kafka.admin.createTopics([
    { name: "orders", partitions: ORDERS_PARTITIONS, configs: { "retention.ms": "604800000" } },
    { name: "payments", partitions: 2 },
    { name: "notifications", partitions: 1 },
  ]);
  // Several rounds a little apart, so the overview's charts have a history of messages in per second to draw.
  for (let round = 0; round < ORDERS_ROUNDS; round++) {
    for (let partition = 0; partition < ORDERS_PARTITIONS; partition++) {
      await scene.kafka.produce({
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
    await scene.kafka.produce({
      topic: "payments",
      partition: round % 2,
      records: [{ key: "p", value: '{"ok":true}' }],
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  await scene.kafka.admin.commitGroupOffsets("billing", [
    { topic: "orders", partition: 0, offset: 40 },
    { topic: "orders", partition: 1, offset: 60 },
    { topic: "orders", partition: 2, offset: 30 },
  ]);

  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: ["--no-sandbox"] });
  t.after(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1280, height: 760 } });
  page.setDefaultTimeout(STEP_TIMEOUT_MS);
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));

  await page.goto(`${url}/console/`);
  await page.locator("#brokers tbody tr").first().waitFor();
  await page.locator(".stats", { hasText: "Topics" }).waitFor();
  await page.locator(".charts .uplot").first().waitFor();
  await page.screenshot({ path: screenshotPath("console-overview.png") });

  await page.goto(`${url}/console/topics`);
  await page.locator('#topics tr[data-topic="orders"]').waitFor();
  assert.match(await page.locator('#topics tr[data-topic="orders"]').innerText(), new RegExp(`${ORDERS_PARTITIONS}`));
  await page.screenshot({ path: screenshotPath("console-topics.png") });

  await page.goto(`${url}/console/topics/orders/messages`);
  await page.locator("tr.message").first().waitFor();
  await page.locator("tr.message").first().click();
  assert.match(await page.locator("#view").innerText(), /customer-/);
  await page.screenshot({ path: screenshotPath("console-messages.png") });

  await page.goto(`${url}/console/groups/billing`);
  await page.locator("#offsets tbody tr").first().waitFor();
  assert.equal(await page.locator("#offsets tbody tr").count(), ORDERS_PARTITIONS);
  await page.screenshot({ path: screenshotPath("console-group.png") });

  assert.deepEqual(errors, []);
});
