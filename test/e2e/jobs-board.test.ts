// The jobs board's page in a real browser (headless Chromium driven by playwright-core) against the real system:
// an employer posts a job, a job seeker finds it by a word prefix and applies, the employer is notified live and
// accepts, and the applicant sees the new status and its notification arrive without reloading.

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { test } from "node:test";

import { chromium, type Browser, type Page } from "playwright-core";

import { jobsForTest } from "../apps/jobs/harness.js";
import { requireTool } from "../helpers/environment.js";
import { screenshotPath } from "./screenshots.js";

const CHROMIUM_PATH = process.env.SLUICE_CHROMIUM_PATH ?? "/usr/bin/chromium";
const SCREENSHOT_PATH = screenshotPath("jobs-screenshot.png");
const STEP_TIMEOUT_MS = 15_000;

async function registerIn(browser: Browser, url: string, username: string, kind: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1000, height: 1400 } });
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT_MS);
  await page.goto(`${url}/jobs/`);
  const form = page.locator("#register-form");
  await form.locator('input[name="username"]').fill(username);
  await form.locator('input[name="email"]').fill(`${username}@example.com`);
  await form.locator('input[name="password"]').fill("secret123");
  await form.locator('select[name="user_type"]').selectOption(kind);
  await form.locator("button").click();
  await page.locator("#who", { hasText: username }).waitFor();
  return page;
}

/** Lets a Playwright wait that timed out go, and any other failure through. */
function onlyTimeouts(error: unknown): void {
  if (!(error instanceof Error && error.name === "TimeoutError")) throw error;
}

test("the jobs board in a browser: post, find, apply, be notified live, accept", { timeout: 120_000 }, async (t) => {
  if (!requireTool(t, existsSync(CHROMIUM_PATH), `Chromium at ${CHROMIUM_PATH} (apt-get install chromium)`)) return;
  const { url } = await jobsForTest(t);
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: ["--no-sandbox"] });
  t.after(() => browser.close());

  const employer = await registerIn(browser, url, "erin", "employer");
  const post = employer.locator("#post-form");
  await post.locator('input[name="title"]').fill("Lighthouse Keeper");
  await post.locator('input[name="location"]').fill("Sagres");
  await post.locator('textarea[name="description"]').fill("Keep the light burning through winter storms");
  await post.locator("button").click();

  const seeker = await registerIn(browser, url, "sam", "job_seeker");
  assert.equal(await seeker.locator("#post").isHidden(), true, "job seekers are not offered the post form");
  const found = seeker.locator("#results li", { hasText: "Lighthouse Keeper" });
  // Searched by a word's beginning, the job shows with the word highlighted, once search has indexed its event.
  const highlighted = found.locator("mark", { hasText: "Lighthouse" }).first();
  for (let attempt = 0; attempt < 50 && !(await highlighted.isVisible()); attempt++) {
    await seeker.locator('#search-form input[name="q"]').fill("lightho");
    await seeker.locator("#search-form button").click();
    await seeker.waitForTimeout(100);
  }
  await highlighted.waitFor();
  // The application service learns of the job from its event; the page says so until it has.
  // A click the service took may show as "Applied" only after the next check (the machine may be loaded), so the
  // button is clicked only while it still says "Apply", and a click that finds it gone is not a failure.
  const applied = found.locator("button", { hasText: "Applied" });
  const apply = found.getByRole("button", { name: "Apply", exact: true });
  for (let attempt = 0; attempt < 50 && !(await applied.isVisible()); attempt++) {
    if (await apply.isVisible()) {
      await apply.click({ timeout: 2_000 }).catch(onlyTimeouts);
    }
    await applied.waitFor({ timeout: 300 }).catch(onlyTimeouts);
  }
  await seeker.locator("#applications li", { hasText: "Lighthouse Keeper" }).waitFor();

  await employer.locator("#notifications li", { hasText: 'sam applied to "Lighthouse Keeper"' }).waitFor();
  assert.equal(await employer.locator("#unread").textContent(), "2", "the welcome and the application");
  const application = employer.locator("#applications li", { hasText: "sam" });
  await application.locator("button", { hasText: "Accepted" }).click();
  await application.locator(".status", { hasText: "accepted" }).waitFor();

  await seeker.locator("#notifications li", { hasText: "is now accepted" }).waitFor();
  await seeker.locator("#applications .status", { hasText: "accepted" }).waitFor();
  await employer.locator("#chart .bar", { hasText: "application_status_changed" }).waitFor();
  await employer.screenshot({ path: SCREENSHOT_PATH, fullPage: true });
});
