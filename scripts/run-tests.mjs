// Runs every test file under test/ with Node's test runner and tsx. Arguments narrow the run to files whose path
// contains any of them: `npm test -- log group`.
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

function find(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return find(path);
    return name.endsWith(".test.ts") ? [path] : [];
  });
}

const filters = process.argv.slice(2);
const files = find("test")
  .filter((file) => filters.length === 0 || filters.some((filter) => file.includes(filter)))
  .sort();
if (files.length === 0) {
  console.error(`no test files match ${filters.join(", ")}`);
  process.exit(1);
}
// Three files at once, also on 2 cores: child processes starting, sleeps and waits on servers leave the cores idle at
// times.
const concurrency = process.env.TEST_CONCURRENCY ?? "3";
// A file fails once it has run this long: one whose test failed midway may leave a consumer or a pool open, and its
// process would otherwise never end and hold the whole run up. The slowest files take a few minutes.
const FILE_TIMEOUT_MS = 10 * 60_000;
const result = spawnSync(
  process.execPath,
  [
    "--import",
    "tsx",
    "--test",
    `--test-concurrency=${concurrency}`,
    `--test-timeout=${FILE_TIMEOUT_MS}`,
    "--test-reporter=spec",
    ...files,
  ],
  { stdio: "inherit" },
);
process.exit(result.status ?? 1);
