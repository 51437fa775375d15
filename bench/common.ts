// What the benchmark scripts share: reading their numeric flags, progress lines on stderr, percentiles and the
// Markdown table they print.

/** The positive integer after `name` in args, or the fallback when the flag is absent. */
export function numberArgument(args: readonly string[], name: string, fallback: number): number {
  const index = args.indexOf(name);
  if (index < 0) return fallback;
  const value = Number(args[index + 1]);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} takes a positive integer`);
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
