// The orders page in a real browser (headless Chromium driven by playwright-core) against the real system: placing
// an order from the form lists it as placed, and it turns fulfilled without a reload; a refused order shows why.

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { test } from "node:test";

import { chromium } from "playwright-core";

import { ordersApp } from "../../src/apps/orders/manifest.js";
import { startSystem } from "../../src/cli/up/system.js";
import { configFor, silent } from "../cli/up/harness.js";
import { requireTool } from "../helpers/environment.js";

const CHROMIUM_PATH = process.env.SLUICE_CHROMIUM_PATH ?? "/usr/bin/chromium";
const STEP_TIMEOUT_MS = 60_000;

test("the orders page places an order and shows it turn fulfilled", { timeout: 180_000 }, async (t) => {
  if (!requireTool(t, existsSync(CHROMIUM_PATH), `Chromium at ${CHROMIUM_PATH} (apt-get install chromium)`)) return;
  const config = configFor(t, [ordersApp], undefined, ["--worker-session-timeout-ms", "6000"]);
  const system = await startSystem({ ...config, roles: new Set(["broker", "registry", ...config.roles]) }, {}, silent);
  t.after(() => system.stop());
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: ["--no-sandbox"] });
  t.after(() => browser.close());
  const page = await browser.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT_MS);
  // Served alone at the root too; the page works under /orders/, where `npm start` mounts it.
  await page.goto(`${system.addresses.http as string}/orders/`);

  await page.locator('input[name="customerId"]').fill("browser-customer");
  await page.locator('input[name="quantity"]').fill("3");
  await page.locator("button[type=submit]").click();
  const row = page.locator("#orders tr", { hasText: "browser-customer" });
  await row.waitFor();
  assert.match(await row.innerText(), /45\.00/);
  await row.locator("td.fulfilled").waitFor();

  await page.locator('input[name="quantity"]').fill("-1");
  await page.locator('input[name="quantity"]').evaluate((input: HTMLInputElement) => input.removeAttribute("min"));
  await page.locator("button[type=submit]").click();
  await page.locator("#error", { hasText: "quantity" }).waitFor();
});
