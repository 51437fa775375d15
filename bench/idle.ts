// What an idle `sluice up` costs: starts it in its own process on a fresh data directory (embedded broker, PGlite,
// every app), lets it settle, then reads its CPU time from /proc/<pid>/stat over a window with nothing to do, and its
// memory from /proc/<pid>/status and its own /metrics. Linux only. Prints a table, the command and the load average.
// --client picks the toolkit's Kafka client (KAFKA_CLIENT): sluice (the default), kafkajs, or both one after the other.
// With --wakeups it also counts what wakes the process in the window: timer callbacks per second, by the code that
// armed them (the counting costs CPU itself, so compare CPU figures measured without it). With --cpu-prof <file> it
// writes a CPU profile of the window's main thread to the file (one client only; it costs CPU too).
//   npm run bench:idle [-- --client sluice|kafkajs|both --settle-ms 20000 --window-ms 30000 --wakeups --cpu-prof f]

import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
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
    client: { type: "string", default: "sluice" },
    wakeups: { type: "boolean", default: false },
    "cpu-prof": { type: "string" },
  },
});
const loadBefore = readFileSync("/proc/loadavg", "utf8").split(" ", 3).join(" ");
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

const clients = values.client === "both" ? ["kafkajs", "sluice"] : [values.client];
if (clients.some((client) => client !== "kafkajs" && client !== "sluice")) {
  throw new Error("--client takes kafkajs, sluice or both");
}
if (values["cpu-prof"] !== undefined && clients.length > 1) throw new Error("--cpu-prof takes one client");
const counter = fileURLToPath(new URL("./idle-wakeups.ts", import.meta.url));
const profiler = fileURLToPath(new URL("./idle-profile.ts", import.meta.url));
const profileFile = values["cpu-prof"] === undefined ? null : resolve(values["cpu-prof"]);
/** The modules `sluice up` loads first: the wake-up counter and the profiler, as asked. */
const preloads = [...(values.wakeups ? [counter] : []), ...(profileFile === null ? [] : [profiler])];

interface Measured {
  cells: string[];
  wakeups: Array<{ source: string; perSecond: number }> | null;
}

/** Starts `sluice up` with its toolkit on the given Kafka client library and measures it idle. */
async function measure(client: string): Promise<Measured> {
  const dataDir = mkdtempSync(join(tmpdir(), "sluice-bench-idle-"));
  if (profileFile !== null) rmSync(profileFile, { force: true });
  const wakeupsFile = join(dataDir, "wakeups.json");
  // The same start-up as the crash tests use: a child process on free ports, with its URLs read from its output.
  const up = await startUp(freePortUpFlags(dataDir), {
    SLUICE_LOG_LEVEL: "warn",
    KAFKA_CLIENT: client,
    ...(preloads.length > 0
      ? { NODE_OPTIONS: ["--import tsx", ...preloads.map((file) => `--import ${file}`)].join(" ") }
      : {}),
    ...(values.wakeups ? { SLUICE_BENCH_WAKEUPS_FILE: wakeupsFile } : {}),
    ...(profileFile === null ? {} : { SLUICE_BENCH_PROFILE_FILE: profileFile }),
  });
  const { child } = up;
  try {
    const pid = child.pid!;
    await sleep(settleMs);
    const signalled = preloads.length > 0;
    if (signalled) child.kill("SIGUSR2");
    const before = cpuTicks(pid);
    await sleep(windowMs);
    const used = (cpuTicks(pid) - before) / CLOCK_TICKS_PER_SECOND;
    if (signalled) child.kill("SIGUSR2");
    if (profileFile !== null) await readWritten(profileFile);
    const metrics = await (await fetch(`${up.url}/metrics`)).text();
    const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
    return {
      cells: [
        `${((used / (windowMs / 1000)) * 100).toFixed(2)}% of a core (${used.toFixed(2)} s in ${windowMs / 1000} s)`,
        mib(statusKiB(pid, "VmRSS") * 1024),
        mib(metric(metrics, "nodejs_heap_size_used_bytes")),
        mib(metric(metrics, "nodejs_external_memory_bytes")),
        mib(statusKiB(pid, "RssFile") * 1024),
      ],
      wakeups: values.wakeups ? JSON.parse(await readWritten(wakeupsFile)) : null,
    };
  } finally {
    child.kill("SIGTERM");
    await up.exited;
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** The text of a file the process writes when the window ends, once it is there (at most 5 s later). */
async function readWritten(file: string): Promise<string> {
  for (let waitedMs = 0; !existsSync(file) && waitedMs < 5_000; waitedMs += 100) await sleep(100);
  return readFileSync(file, "utf8");
}

const results: Measured[] = [];
for (const client of clients) results.push(await measure(client));
const names = [
  "CPU while idle",
  "resident memory (RSS)",
  "  JavaScript heap in use",
  "  external (PGlite's WebAssembly memory, buffers)",
  "  mapped files (node, libraries)",
];
const flags = `--client ${values.client} --settle-ms ${settleMs} --window-ms ${windowMs}${values.wakeups ? " --wakeups" : ""}`;
console.log(`npm run bench:idle -- ${flags}`);
console.log(
  `load average before and after: ${loadBefore} / ${readFileSync("/proc/loadavg", "utf8").split(" ", 3).join(" ")}\n`,
);
console.log(`| measure | ${clients.map((client) => `KAFKA_CLIENT=${client}`).join(" | ")} |`);
console.log(`|---|${clients.map(() => "---").join("|")}|`);
names.forEach((name, index) =>
  console.log(`| ${name} | ${results.map((result) => result.cells[index]).join(" | ")} |`),
);
if (profileFile !== null) console.log(`\nCPU profile of the window's main thread: ${profileFile}`);
for (const [index, result] of results.entries()) {
  if (result.wakeups === null) continue;
  const total = result.wakeups.reduce((sum, entry) => sum + entry.perSecond, 0);
  console.log(
    `\n| KAFKA_CLIENT=${clients[index]}: timer wake-ups per second (${total.toFixed(1)} in all) | armed at |`,
  );
  console.log("|---|---|");
  for (const { source, perSecond } of result.wakeups.slice(0, WAKEUP_SOURCES_SHOWN)) {
    console.log(`| ${perSecond.toFixed(2)} | ${source} |`);
  }
}
