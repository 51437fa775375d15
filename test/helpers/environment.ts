// What the machine running the tests has. A test that needs a missing tool skips with a visible reason on a
// developer's machine; in CI (SLUICE_REQUIRE_ALL_TOOLS=1) the same absence fails the test, so nothing skips there.

import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";

export function hasCommand(command: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" }).status === 0;
}

/** Returns true when the test may go on; otherwise skips it loudly (or fails it in CI). */
export function requireTool(t: TestContext, available: boolean, what: string): boolean {
  if (available) return true;
  const message = `SKIPPED: ${what} is not available on this machine`;
  if (process.env.SLUICE_REQUIRE_ALL_TOOLS === "1") throw new Error(`${message}, and CI requires it`);
  process.stderr.write(`\n*** ${message} ***\n`);
  t.skip(message);
  return false;
}

/** A fresh temporary directory, removed when the test ends. */
export function temporaryDir(t: TestContext, prefix = "sluice-test-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
