// Loaded into the `sluice up` that `npm run bench:idle -- --wakeups` starts: counts the timer callbacks that wake the
// process between two SIGUSR2 signals (the bench's measuring window), by the place in the code that armed them, and
// writes them per second to a JSON file for the bench to print. Capturing a stack for every timer costs CPU, so the
// bench's CPU figure is not comparable with one measured without it.

import { writeFileSync } from "node:fs";
import { createRequire, syncBuiltinESMExports } from "node:module";

const outFile = process.env.SLUICE_BENCH_WAKEUPS_FILE!;
const counts = new Map<string, number>();
let windowStartedAt: number | null = null;

/** The first frame of the stack in the repository's code or a dependency, as path:line. */
function armedAt(): string {
  for (const line of (new Error().stack ?? "").split("\n").slice(3)) {
    const match = /((?:src|node_modules)\/[^:)]+):(\d+)/.exec(line);
    if (match !== null && !line.includes("idle-wakeups")) return `${match[1]}:${match[2]}`;
  }
  return "(node internals)";
}

type TimerFunction = (callback: (...args: unknown[]) => void, delay?: number, ...args: unknown[]) => unknown;

function counting(original: TimerFunction, kind: string): TimerFunction {
  return (callback, delay, ...args) => {
    if (typeof callback !== "function") return original(callback, delay, ...args);
    const key = `${kind} ${armedAt()}`;
    return original(
      (...callbackArgs: unknown[]) => {
        if (windowStartedAt !== null) counts.set(key, (counts.get(key) ?? 0) + 1);
        callback(...callbackArgs);
      },
      delay,
      ...args,
    );
  };
}

const timers = createRequire(import.meta.url)("node:timers") as Record<string, TimerFunction>;
for (const [name, kind] of [
  ["setTimeout", "timeout"],
  ["setInterval", "interval"],
] as const) {
  const wrapped = counting(globalThis[name] as unknown as TimerFunction, kind);
  (globalThis as unknown as Record<string, TimerFunction>)[name] = wrapped;
  timers[name] = wrapped;
}
syncBuiltinESMExports();

process.on("SIGUSR2", () => {
  if (windowStartedAt === null) {
    windowStartedAt = performance.now();
    return;
  }
  const seconds = (performance.now() - windowStartedAt) / 1000;
  windowStartedAt = null;
  const perSecond = [...counts].map(([source, count]) => ({ source, perSecond: count / seconds }));
  writeFileSync(outFile, JSON.stringify(perSecond.sort((a, b) => b.perSecond - a.perSecond)));
});
