// Where the browser tests put their screenshots. A test run writes them to a temporary directory, so `npm test`
// never changes tracked files; `npm run screenshots` sets SLUICE_SCREENSHOTS_DIR=docs to refresh the README's.

import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const SCREENSHOTS_DIR_VARIABLE = "SLUICE_SCREENSHOTS_DIR";

let temporaryScreenshotsDir: string | null = null;

/** The path for a screenshot file name: in SLUICE_SCREENSHOTS_DIR when set, else in this run's temporary directory. */
export function screenshotPath(
  fileName: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): string {
  const chosen = env[SCREENSHOTS_DIR_VARIABLE];
  if (chosen !== undefined && chosen !== "") return resolve(chosen, fileName);
  temporaryScreenshotsDir ??= mkdtempSync(join(tmpdir(), "sluice-screenshots-"));
  return join(temporaryScreenshotsDir, fileName);
}
