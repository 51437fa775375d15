// What the benchmark scripts share: reading their numeric flags, progress lines on stderr, percentiles, the
// Markdown table they print, and the CPU time a process used.

import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";

/** The positive integer after `name` in args, or the fallback when the flag is absent. */
/** The largest number a bench argument takes unless it says otherwise. */
const NUMBER_ARGUMENT_MAX = 10_000_000;

/** The whole number after name (fallback when absent); exits with the problem and code 2 when it is not one. */
export function numberArgument(
  args: readonly string[],
  name: string,
  fallback: number,
  max = NUMBER_ARGUMENT_MAX,
): number {
  const index = args.indexOf(name);
  if (index < 0) return fallback;
  const value = Number(args[index + 1]);
  if (!Number.isInteger(value) || value < 1 || value > max) {
    process.stderr.write(`${name} takes a whole number from 1 to ${max}\n`);
    process.exit(2);
  }
  return value;
}

/** Progress goes to stderr, so that stdout holds only the results. */
export function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** Wall-clock milliseconds with sub-millisecond resolution, comparable across processes on this machine. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

/** The value at a quantile (0–1) of ascending values; NaN when there are none. */
export function percentile(sorted: readonly number[], quantile: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(quantile * sorted.length))] ?? Number.NaN;
}

export function table(header: string[], rows: string[][]): string {
  const widths = header.map((cell, index) => Math.max(cell.length, ...rows.map((row) => row[index]?.length ?? 0)));
  const line = (cells: string[]) => `| ${cells.map((cell, index) => cell.padEnd(widths[index] ?? 0)).join(" | ")} |`;
  return [line(header), `|${widths.map((width) => "-".repeat(width + 2)).join("|")}|`, ...rows.map(line)].join("\n");
}

/** Clock ticks per second of /proc/<pid>/stat's CPU times; 100 on every Linux the project runs on. */
const CLOCK_TICKS_PER_SECOND = 100;

/**
 * The CPU time a process has used so far (user and system), in milliseconds, from /proc; null where there is no
 * /proc. On a machine shared with other work, wall-clock rates are floors; CPU time per request is not, and says
 * what a core would do if it were the process's alone.
 */
export function processCpuMs(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name in parentheses may hold spaces; the fields counted from after it are fixed.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return null;
  }
}

/** CPU microseconds per unit of work between two processCpuMs readings, or "n/a". */
export function cpuMicrosPer(beforeMs: number | null, afterMs: number | null, units: number): string {
  if (beforeMs === null || afterMs === null || units === 0) return "n/a";
  const micros = ((afterMs - beforeMs) * 1000) / units;
  return micros >= 10 ? micros.toFixed(0) : micros.toFixed(1);
}

/**
 * Starts `sluice broker` in a process of its own on a free port and resolves with its address once it listens.
 * With probeFile, bench/broker-probe.ts runs inside it and writes its report there on SIGUSR2.
 */
export function startBrokerProcess(
  dataDir: string,
  options: { probeFile?: string } = {},
): Promise<{ child: ChildProcess; address: string }> {
  return new Promise((resolve, reject) => {
    const probe = options.probeFile === undefined ? [] : ["--import", "./bench/broker-probe.ts"];
    const child = spawn(
      process.execPath,
      [
        ...["--import", "tsx", ...probe],
        ...["src/cli/main.ts", "broker", "--port", "0", "--data-dir", dataDir, "--log-level", "warn"],
      ],
      {
        stdio: ["ignore", "pipe", "inherit"],
        env:
          options.probeFile === undefined
            ? process.env
            : { ...process.env, SLUICE_BENCH_PROBE_FILE: options.probeFile },
      },
    );
    let output = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (\S+)/.exec(output);
      if (match) resolve({ child, address: match[1]! });
    });
    child.on("exit", (code) => reject(new Error(`broker exited with ${code}`)));
  });
}
