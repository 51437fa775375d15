// The message board in a real browser (headless Chromium driven by playwright-core) against the real system: one
// page posts a message and a second page, open all along, sees it arrive live and stored; switching the template
// changes the design; a page that lost its connection catches up on reconnecting. It also takes the screenshot the
// README shows, into a temporary directory (`npm run screenshots` puts it in docs/).

import assert from "node:assert/strict";
import { existsSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { test, type TestContext } from "node:test";

import { chromium, type Browser, type Page } from "playwright-core";

import { boardForTest } from "../apps/messages/harness.js";
import { requireTool } from "../helpers/environment.js";
import { screenshotPath } from "./screenshots.js";

const CHROMIUM_PATH = process.env.SLUICE_CHROMIUM_PATH ?? "/usr/bin/chromium";
const SCREENSHOT_PATH = screenshotPath("screenshot.png");
const STEP_TIMEOUT_MS = 15_000;

/** Opens the board in a fresh context; initScript runs in the page before the board's own script. */
async function openBoard(browser: Browser, url: string, initScript?: () => void): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1000, height: 760 } });
  const page = await context.newPage();
  if (initScript !== undefined) await page.addInitScript(initScript);
  page.setDefaultTimeout(STEP_TIMEOUT_MS);
  await page.goto(`${url}/`);
  await page.locator('#connection[data-state="live"]').waitFor();
  return page;
}

async function postMessage(page: Page, text: string): Promise<void> {
  await page.locator("#message-text").fill(text);
  await page.locator("#post-button").click();
}

function messageItem(page: Page, text: string) {
  return page.locator("li.message", { has: page.locator(".message-text", { hasText: text }) });
}

async function bodyStyle(page: Page): Promise<{ background: string; font: string }> {
  return page.evaluate(() => {
    const style = window.getComputedStyle(document.body);
    return { background: style.backgroundColor, font: style.fontFamily };
  });
}

/** The system and a headless Chromium, both closed when the test ends; null when Chromium is missing (skipped). */
async function boardInBrowser(t: TestContext): Promise<{ url: string; browser: Browser } | null> {
  if (!requireTool(t, existsSync(CHROMIUM_PATH), `Chromium at ${CHROMIUM_PATH} (apt-get install chromium)`))
    return null;
  const { url } = await boardForTest(t);
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: ["--no-sandbox"] });
  t.after(() => browser.close());
  return { url, browser };
}

test(
  "the message board in a browser: live updates between pages and switchable designs",
  { timeout: 120_000 },
  async (t) => {
    const started = await boardInBrowser(t);
    if (started === null) return;
    const { url, browser } = started;

    const poster = await openBoard(browser, url);
    const watcher = await openBoard(browser, url);
    // Set on the watcher's window: it survives only if the page is never reloaded.
    await watcher.evaluate(() => {
      (window as unknown as { notReloaded: boolean }).notReloaded = true;
    });
    assert.equal(await watcher.locator("li.message").count(), 0);

    await t.test("a message posted on one page appears live on the other, and reaches stored", async () => {
      const text = `Hello from the first page at ${new Date().toISOString()}`;
      await postMessage(poster, text);
      await messageItem(poster, text).and(poster.locator('[data-stage="stored"]')).waitFor();
      const seen = messageItem(watcher, text);
      await seen.and(watcher.locator('[data-stage="stored"]')).waitFor();
      for (const stage of ["accepted", "published", "stored"]) {
        assert.equal(await seen.locator(`.path [data-stage="${stage}"].done`).count(), 1, `${stage} is shown as done`);
        assert.equal(
          await messageItem(poster, text).locator(`.path [data-stage="${stage}"].done`).count(),
          1,
          `${stage} is done on the posting page too`,
        );
      }
      assert.equal(await watcher.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded), true);
      assert.equal(await poster.locator("#message-text").inputValue(), "", "the form is cleared after posting");
    });

    await t.test("a rejected message shows the server's reason and is not listed", async () => {
      await poster.locator("#message-text").evaluate((element) => element.removeAttribute("maxlength"));
      await postMessage(poster, "z".repeat(1001));
      await poster.locator("#form-error", { hasText: /1001 characters/ }).waitFor();
      assert.equal(await messageItem(poster, "z".repeat(1001)).count(), 0);
    });

    await t.test("switching the template changes the design, and new messages carry it", async () => {
      const classic = await bodyStyle(poster);
      await poster.locator("#template-picker").selectOption("space");
      assert.equal(await poster.locator("body").getAttribute("data-template"), "space");
      const space = await bodyStyle(poster);
      assert.notEqual(space.background, classic.background, "the page background changes");
      assert.notEqual(space.font, classic.font, "the typeface changes");

      const text = "Greetings from orbit";
      await postMessage(poster, text);
      const item = messageItem(watcher, text);
      await item.and(watcher.locator('[data-stage="stored"]')).waitFor();
      assert.equal(await item.getAttribute("data-template"), "space", "the watcher shows it in its own design");
      assert.equal(await watcher.locator("body").getAttribute("data-template"), "classic", "the watcher keeps its own");

      await poster.reload();
      await poster.locator('#connection[data-state="live"]').waitFor();
      assert.equal(await poster.locator("body").getAttribute("data-template"), "space", "the choice is remembered");
    });

    await t.test("screenshot for the README", async () => {
      assert.equal(await poster.locator("#load-more").isVisible(), false, "one page holds every message");
      for (const text of ["The broker holds it, the worker stores it.", "Watch it arrive live on every open page."]) {
        await postMessage(poster, text);
        await messageItem(poster, text).and(poster.locator('[data-stage="stored"]')).waitFor();
      }
      mkdirSync(dirname(SCREENSHOT_PATH), { recursive: true });
      await poster.screenshot({ path: SCREENSHOT_PATH, animations: "disabled" });
      assert.ok(existsSync(SCREENSHOT_PATH));
    });
  },
);

test(
  "a page that loses its connection reconnects and catches up on what it missed, without a reload",
  { timeout: 120_000 },
  async (t) => {
    const started = await boardInBrowser(t);
    if (started === null) return;
    const { url, browser } = started;
    const poster = await openBoard(browser, url);
    // The watcher's sockets are recorded, and while "blocked" a new one goes to a closed port, as during an outage.
    const watcher = await openBoard(browser, url, () => {
      const Native = window.WebSocket;
      const control = window as unknown as { sockets: WebSocket[]; blockSockets: boolean };
      control.sockets = [];
      control.blockSockets = false;
      window.WebSocket = class extends Native {
        constructor(address: string | URL, protocols?: string | string[]) {
          super(control.blockSockets ? "ws://127.0.0.1:1/ws" : address, protocols);
          control.sockets.push(this);
        }
      };
    });
    await watcher.evaluate(() => {
      (window as unknown as { notReloaded: boolean }).notReloaded = true;
    });
    const before = "Posted while the watcher was still connected";
    await postMessage(poster, before);
    await messageItem(watcher, before).and(watcher.locator('[data-stage="stored"]')).waitFor();

    await watcher.evaluate(() => {
      const control = window as unknown as { sockets: WebSocket[]; blockSockets: boolean };
      control.blockSockets = true;
      control.sockets.at(-1)?.close(3000, "the test cut the connection");
    });
    await watcher.locator('#connection[data-state="offline"]').waitFor();
    const missed = "Posted while the watcher was offline";
    await postMessage(poster, missed);
    await messageItem(poster, missed).and(poster.locator('[data-stage="stored"]')).waitFor();
    assert.equal(await messageItem(watcher, missed).count(), 0, "nothing reaches a page that is offline");
    // At least one attempt to reconnect has met the outage.
    await watcher.waitForFunction(() => (window as unknown as { sockets: WebSocket[] }).sockets.length >= 2);

    await watcher.evaluate(() => {
      (window as unknown as { blockSockets: boolean }).blockSockets = false;
    });
    await watcher.locator('#connection[data-state="live"]').waitFor();
    await messageItem(watcher, missed).and(watcher.locator('[data-stage="stored"]')).waitFor();
    assert.equal(await messageItem(watcher, before).count(), 1, "what it saw before is not shown twice");
    assert.equal(await watcher.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded), true);
    const sockets = await watcher.evaluate(() => (window as unknown as { sockets: WebSocket[] }).sockets.length);
    assert.ok(
      sockets >= 3,
      `the page opened ${sockets} sockets: the first, at least one refused, the one that resumed`,
    );
  },
);
