// `npm test` leaves the working tree as it found it: screenshots go to a temporary directory unless a refresh of the
// README's is asked for (`npm run screenshots`).

import assert from "node:assert/strict";
import { tmpdir } from "node:os";
import { resolve } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

import { screenshotPath } from "./screenshots.js";

const REPOSITORY_ROOT = fileURLToPath(new URL("../../", import.meta.url));

test("screenshots go to a temporary directory, outside the repository, unless SLUICE_SCREENSHOTS_DIR says where", () => {
  const path = screenshotPath("screenshot.png", {});
  assert.ok(path.startsWith(tmpdir()), `${path} is in ${tmpdir()}`);
  assert.ok(!path.startsWith(REPOSITORY_ROOT), `${path} is outside the repository`);
  assert.equal(screenshotPath("screenshot.png", { SLUICE_SCREENSHOTS_DIR: "docs" }), resolve("docs", "screenshot.png"));
});

test("npm run screenshots refreshes the README's screenshot through the browser test", async () => {
  const { readFile } = await import("node:fs/promises");
  const manifest = JSON.parse(await readFile(new URL("../../package.json", import.meta.url), "utf8")) as {
    scripts: Record<string, string>;
  };
  const script = manifest.scripts.screenshots ?? "";
  assert.match(script, /SLUICE_SCREENSHOTS_DIR=docs/);
  assert.match(script, /test\/e2e\/message-board/);
  const readme = await readFile(new URL("../../README.md", import.meta.url), "utf8");
  assert.match(readme, /!\[[^\]]*\]\(docs\/screenshot\.png\)/);
});
