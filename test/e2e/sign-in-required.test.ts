// With `sluice up --auth-mode required`, a visitor's browser shows a sign-in prompt, never the API's or the
// WebSocket protocol's instructions, and signing in on the page brings the board to life.

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { test } from "node:test";

import { chromium } from "playwright-core";

import { boardForTest } from "../apps/messages/harness.js";
import { requireTool } from "../helpers/environment.js";

const CHROMIUM_PATH = process.env.SLUICE_CHROMIUM_PATH ?? "/usr/bin/chromium";
const STEP_TIMEOUT_MS = 15_000;
const PROTOCOL_TEXT = /Bearer|authenticate first|"type"|POST \/api\/auth/;

test("a visitor to a board that requires signing in sees a sign-in prompt, then the live board", async (t) => {
  if (!requireTool(t, existsSync(CHROMIUM_PATH), `Chromium at ${CHROMIUM_PATH} (apt-get install chromium)`)) return;
  const { url } = await boardForTest(t, { flags: ["--auth-mode", "required"] });
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: ["--no-sandbox"] });
  t.after(() => browser.close());
  const page = await browser.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT_MS);
  await page.goto(`${url}/`);

  await page.locator("#sign-in").waitFor({ state: "visible" });
  await page.locator("#connection", { hasText: "sign in to see new messages live" }).waitFor();
  assert.match(await page.locator("#sign-in-reason").innerText(), /sign in, or create an account, to read and post/);
  assert.doesNotMatch(await page.locator("body").innerText(), PROTOCOL_TEXT);

  await page.locator("#username").fill("ada");
  await page.locator("#password").fill("correct horse battery");
  await page.locator('#sign-in-form [data-action="register"]').click();
  await page.locator('#connection[data-state="live"]').waitFor();
  assert.equal(await page.locator("#sign-in").isVisible(), false);

  const view = await browser.newPage();
  const answer = await view.goto(`${url}/view`);
  assert.equal(answer?.status(), 401);
  assert.match(await view.locator("#sign-in-required").innerText(), /Sign in on the board/);
  assert.doesNotMatch(await view.locator("body").innerText(), PROTOCOL_TEXT);
});
