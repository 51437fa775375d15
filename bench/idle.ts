// What an idle `sluice up` costs: starts it in its own process on a fresh data directory (embedded broker, PGlite,
// every app), lets it settle, then reads its CPU time from /proc/<pid>/stat over a window with nothing to do, and its
// memory from /proc/<pid>/status and its own /metrics. Linux only. Prints a table and the command. With --wakeups it
// also counts what wakes the process in the window: timer callbacks per second, by the code that armed them (the
// counting costs CPU itself, so compare CPU figures measured without it).
//   npm run bench:idle [-- --settle-ms 20000 --window-ms 30000 --wakeups]

import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";

import { freePortUpFlags, startUp } from "../test/apps/messages/up-process.js";

/** Clock ticks per second of /proc/<pid>/stat's utime and stime (USER_HZ, 100 on Linux). */
const CLOCK_TICKS_PER_SECOND = 100;

const { values } = parseArgs({
  options: {
    "settle-ms": { type: "string", default: "20000" },
    "window-ms": { type: "string", default: "30000" },
    wakeups: { type: "boolean", default: false },
  },
});
/** Sources of wake-ups printed with --wakeups, the most frequent first. */
const WAKEUP_SOURCES_SHOWN = 15;
const settleMs = Number(values["settle-ms"]);
const windowMs = Number(values["window-ms"]);

function cpuTicks(pid: number): number {
  // The command name in field 2 may hold spaces; the fields after its closing parenthesis are fixed.
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return Number(fields[11]) + Number(fields[12]);
}

function statusKiB(pid: number, name: string): number {
  const match = new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(match?.[1] ?? 0);
}

function metric(text: string, name: string): number {
  return Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1] ?? NaN);
}

const dataDir = mkdtempSync(join(tmpdir(), "sluice-bench-idle-"));
// The same start-up as the crash tests use: a child process on free ports, with its URLs read from its output.
const wakeupsFile = join(dataDir, "wakeups.json");
const counter = fileURLToPath(new URL("./idle-wakeups.ts", import.meta.url));
const up = await startUp(freePortUpFlags(dataDir), {
  SLUICE_LOG_LEVEL: "warn",
  ...(values.wakeups
    ? { NODE_OPTIONS: `--import tsx --import ${counter}`, SLUICE_BENCH_WAKEUPS_FILE: wakeupsFile }
    : {}),
});
const { child } = up;
const http = up.url;
try {
  const pid = child.pid!;
  await sleep(settleMs);
  if (values.wakeups) child.kill("SIGUSR2");
  const before = cpuTicks(pid);
  await sleep(windowMs);
  const used = (cpuTicks(pid) - before) / CLOCK_TICKS_PER_SECOND;
  if (values.wakeups) child.kill("SIGUSR2");
  const metrics = await (await fetch(`${http}/metrics`)).text();
  const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
  const rows: [string, string][] = [
    [
      "CPU while idle",
      `${((used / (windowMs / 1000)) * 100).toFixed(2)}% of a core (${used.toFixed(2)} s in ${windowMs / 1000} s)`,
    ],
    ["resident memory (RSS)", mib(statusKiB(pid, "VmRSS") * 1024)],
    ["  JavaScript heap in use", mib(metric(metrics, "nodejs_heap_size_used_bytes"))],
    ["  external (PGlite's WebAssembly memory, buffers)", mib(metric(metrics, "nodejs_external_memory_bytes"))],
    ["  mapped files (node, libraries)", mib(statusKiB(pid, "RssFile") * 1024)],
  ];
  const flags = `--settle-ms ${settleMs} --window-ms ${windowMs}${values.wakeups ? " --wakeups" : ""}`;
  console.log(`npm run bench:idle -- ${flags}\n`);
  console.log("| measure | result |\n|---|---|");
  for (const [name, value] of rows) console.log(`| ${name} | ${value} |`);
  if (values.wakeups) await printWakeups();
} finally {
  child.kill("SIGTERM");
  await up.exited;
  rmSync(dataDir, { recursive: true, force: true });
}

async function printWakeups(): Promise<void> {
  for (let waitedMs = 0; !existsSync(wakeupsFile) && waitedMs < 5_000; waitedMs += 100) await sleep(100);
  const sources = JSON.parse(readFileSync(wakeupsFile, "utf8")) as Array<{ source: string; perSecond: number }>;
  const total = sources.reduce((sum, entry) => sum + entry.perSecond, 0);
  console.log(`\n| timer wake-ups per second (${total.toFixed(1)} in all) | armed at |\n|---|---|`);
  for (const { source, perSecond } of sources.slice(0, WAKEUP_SOURCES_SHOWN)) {
    console.log(`| ${perSecond.toFixed(2)} | ${source} |`);
  }
}
