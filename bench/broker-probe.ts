// A probe that bench/e2e.ts (--broker-probe) loads into the `sluice broker` process it starts
// (`node --import tsx --import ./bench/broker-probe.ts …`): it times the broker's file calls (the synchronous writes
// and reads on its event loop, and the fdatasyncs on libuv's thread pool), its event loop's delay and its garbage
// collections. On SIGUSR2 it writes what it saw since the last SIGUSR2 as JSON to the file named by
// SLUICE_BENCH_PROBE_FILE and starts afresh, so the bench can bracket one phase of its run.

import fs from "node:fs";
import { syncBuiltinESMExports } from "node:module";
import {
  createHistogram,
  monitorEventLoopDelay,
  performance,
  PerformanceObserver,
  type RecordableHistogram,
} from "node:perf_hooks";

/** Percentiles of one distribution, in milliseconds. */
export interface ProbeSpread {
  count: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
}

export interface BrokerProbeReport {
  loopDelay: ProbeSpread;
  gc: { count: number; totalMs: number; maxMs: number };
  /** By fs function: writeSync, readSync (the event loop) and fdatasync (the thread pool). */
  calls: Record<string, ProbeSpread>;
}

const SYNC_CALLS = ["writeSync", "readSync"] as const;
const ASYNC_CALLS = ["fdatasync"] as const;
const calls = new Map<string, RecordableHistogram>(
  [...SYNC_CALLS, ...ASYNC_CALLS].map((name) => [name, createHistogram()]),
);

function record(name: string, startedMs: number): void {
  calls.get(name)!.record(Math.max(1, Math.round((performance.now() - startedMs) * 1000)));
}

// The broker imports these functions by name; syncBuiltinESMExports makes those imports see the timed versions.
const mutableFs = fs as unknown as Record<string, (...args: unknown[]) => unknown>;
for (const name of SYNC_CALLS) {
  const original = mutableFs[name]!;
  mutableFs[name] = function timed(this: unknown, ...args: unknown[]) {
    const startedMs = performance.now();
    try {
      return original.apply(this, args);
    } finally {
      record(name, startedMs);
    }
  };
}
for (const name of ASYNC_CALLS) {
  const original = mutableFs[name]!;
  mutableFs[name] = function timed(this: unknown, ...args: unknown[]) {
    const startedMs = performance.now();
    const callback = args.at(-1) as (error: unknown) => void;
    return original.apply(this, [
      ...args.slice(0, -1),
      (error: unknown) => {
        record(name, startedMs);
        callback(error);
      },
    ]);
  };
}
syncBuiltinESMExports();

const loopDelay = monitorEventLoopDelay({ resolution: 1 });
loopDelay.enable();
const gc = { count: 0, totalMs: 0, maxMs: 0 };
new PerformanceObserver((entries) => {
  for (const entry of entries.getEntries()) {
    gc.count++;
    gc.totalMs += entry.duration;
    gc.maxMs = Math.max(gc.maxMs, entry.duration);
  }
}).observe({ entryTypes: ["gc"] });

function spread(histogram: { count: number; max: number; percentile(p: number): number }, unit: number): ProbeSpread {
  return {
    count: histogram.count,
    p50Ms: histogram.percentile(50) / unit,
    p99Ms: histogram.percentile(99) / unit,
    p999Ms: histogram.percentile(99.9) / unit,
    maxMs: histogram.max / unit,
  };
}

process.on("SIGUSR2", () => {
  const report: BrokerProbeReport = {
    loopDelay: spread(loopDelay, 1e6),
    gc: { ...gc },
    calls: Object.fromEntries([...calls].map(([name, histogram]) => [name, spread(histogram, 1000)])),
  };
  const target = process.env.SLUICE_BENCH_PROBE_FILE;
  if (target !== undefined) fs.writeFileSync(target, JSON.stringify(report));
  loopDelay.reset();
  for (const histogram of calls.values()) histogram.reset();
  Object.assign(gc, { count: 0, totalMs: 0, maxMs: 0 });
});
