// Wordium's page in a real browser (headless Chromium driven by playwright-core) against `sluice up --apps
// wordium`: two people sign up on their own pages, one follows the other, who sees the new follower arrive live;
// then a post by the followed one appears live, marked, on the follower's page, and an administrator's broadcast
// reaches every open page.

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { test } from "node:test";

import { chromium, type Browser, type Page } from "playwright-core";

import { ADMIN, startWordium } from "../apps/wordium/harness.js";
import { requireTool } from "../helpers/environment.js";
import { screenshotPath } from "./screenshots.js";

const CHROMIUM_PATH = process.env.SLUICE_CHROMIUM_PATH ?? "/usr/bin/chromium";
const STEP_TIMEOUT_MS = 30_000;
const SCREENSHOT_PATH = screenshotPath("wordium.png");

async function signUpOnPage(browser: Browser, url: string, username: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT_MS);
  await page.goto(`${url}/wordium/`);
  await page.locator("#signup-username").fill(username);
  await page.locator("#signup-email").fill(`${username}@example.com`);
  await page.locator("#signup-password").fill("correct horse battery");
  await page.locator("#signup-form button").click();
  await page.locator('#connection[data-state="live"]').waitFor();
  return page;
}

test("Wordium in a browser: sign up, follow, post, and live notifications", { timeout: 180_000 }, async (t) => {
  if (!requireTool(t, existsSync(CHROMIUM_PATH), `Chromium at ${CHROMIUM_PATH} (apt-get install chromium)`)) return;
  const { url } = await startWordium(t);
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: ["--no-sandbox"] });
  t.after(() => browser.close());

  const grace = await signUpOnPage(browser, url, "grace");
  const ada = await signUpOnPage(browser, url, "ada");

  // The profile exists once the users service consumed grace's signup; the page says so until then.
  await ada.locator("#profile-username").fill("grace");
  const deadline = Date.now() + STEP_TIMEOUT_MS;
  while (!(await ada.locator("#profile").isVisible()) && Date.now() < deadline) {
    await ada.locator("#profile-form button[type=submit]").click();
    await ada.waitForTimeout(200);
  }
  await ada.locator("#follow-button", { hasText: "Follow" }).click();
  await ada.locator("#follow-button", { hasText: "Unfollow" }).waitFor();

  await grace.locator("#notifications li.unread", { hasText: "ada followed you" }).waitFor();
  await grace.locator("#unread", { hasText: "1" }).waitFor();

  await grace.locator("#post-title").fill("Notes on compilers");
  await grace.locator("#post-body").fill("A compiler translates one language into another.");
  await grace.locator("#post-form button").click();
  await ada.locator("#feed li.new", { hasText: "Notes on compilers" }).waitFor();
  await ada.locator("#notifications li", { hasText: "New post by grace: Notes on compilers" }).waitFor();
  await grace.locator("#feed li", { hasText: "Notes on compilers" }).waitFor();

  await grace.locator("#mark-read").click();
  await grace.locator("#unread", { hasText: "0" }).waitFor();

  // Only administrators get the broadcast form; what they send reaches every open page.
  assert.equal(await grace.locator("#broadcast-form").isVisible(), false);
  const admin = await signUpOnPage(browser, url, ADMIN);
  await admin.locator("#broadcast-message").fill("Maintenance tonight at ten");
  await admin.locator("#broadcast-form button").click();
  for (const page of [grace, ada, admin]) {
    await page.locator("#broadcast", { hasText: "Maintenance tonight at ten" }).waitFor();
  }
  // The picture docs/wordium.md shows: the follower's page after all of the above.
  await ada.screenshot({ path: SCREENSHOT_PATH, animations: "disabled" });
  assert.ok(existsSync(SCREENSHOT_PATH));
});
