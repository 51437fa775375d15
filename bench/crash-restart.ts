// The message board after a crash: `sluice up` is killed with SIGKILL while 4 clients post, started again at once on
// the same data directory, and the first new post is timed from its 202 until the worker has stored it. Prints p50,
// p99 and the worst of the rounds. Run: npm run bench:crash-restart [-- --rounds 20]

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { crashAndRestart } from "../test/apps/messages/crash-round.js";
import { freePortUpFlags, startUp } from "../test/apps/messages/up-process.js";

const args = process.argv.slice(2);
const roundsIndex = args.indexOf("--rounds");
const ROUNDS = roundsIndex < 0 ? 20 : Number(args[roundsIndex + 1]);
if (!Number.isInteger(ROUNDS) || ROUNDS < 1) throw new Error("--rounds takes a positive integer");
const ROUND_TIMEOUT_MS = 60_000;

function percentile(sorted: readonly number[], fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)] ?? Number.NaN;
}

const dataDir = mkdtempSync(join(tmpdir(), "sluice-bench-crash-"));
const flags = freePortUpFlags(dataDir);
let up = await startUp(flags);
const times: number[] = [];
try {
  for (let round = 1; round <= ROUNDS; round += 1) {
    const result = await crashAndRestart(up, flags, ROUND_TIMEOUT_MS);
    up = result.up;
    times.push(result.firstStoredMs);
    process.stderr.write(`round ${round}: first post stored ${result.firstStoredMs.toFixed(0)} ms after its 202\n`);
  }
} finally {
  up.child.kill("SIGTERM");
  await up.exited;
  rmSync(dataDir, { recursive: true, force: true });
}
const sorted = [...times].sort((a, b) => a - b);
console.log(`\nkill -9 of sluice up while 4 clients post, then a restart: the first new post, 202 → stored`);
console.log(`| rounds | p50 | p99 | max |`);
console.log(`| --- | --- | --- | --- |`);
const ms = (value: number): string => `${value.toFixed(0)} ms`;
console.log(
  `| ${ROUNDS} | ${ms(percentile(sorted, 0.5))} | ${ms(percentile(sorted, 0.99))} | ${ms(sorted.at(-1) ?? 0)} |`,
);
console.log(`\nnpm run bench:crash-restart -- --rounds ${ROUNDS}   (node ${process.version})`);
