// --repeat N for bench:toolkit: each measure runs N times and its row is the run with the median rate, its result
// saying the range, since on a shared machine one run of a second or two can be a third off either way.

export interface RateRow {
  measure: string;
  events: number;
  seconds: number;
  result: string;
}

const REPEAT_MAX = 20;

/** The --repeat argument: how many times each measure runs (1 when absent); exits with usage when invalid. */
export function repeatCount(args: readonly string[]): number {
  if (!args.includes("--repeat")) return 1;
  const count = Number(args[args.indexOf("--repeat") + 1]);
  if (!Number.isSafeInteger(count) || count < 1 || count > REPEAT_MAX) {
    process.stderr.write(`--repeat takes a whole number from 1 to ${REPEAT_MAX}\n`);
    process.exit(2);
  }
  return count;
}

export function rateOf(row: Pick<RateRow, "events" | "seconds">): number {
  return row.seconds > 0 ? row.events / row.seconds : 0;
}

/** The run with the median rate (the lower middle one of an even count), its result naming the others' range. */
export function medianRun<T extends RateRow>(runs: readonly T[]): T {
  if (runs.length === 0) throw new Error("medianRun needs at least one run");
  if (runs.length === 1) return runs[0]!;
  const sorted = [...runs].sort((a, b) => rateOf(a) - rateOf(b));
  const median = sorted[Math.floor((sorted.length - 1) / 2)]!;
  const format = (value: number): string => Math.round(value).toLocaleString("en-US");
  return {
    ...median,
    result:
      `${median.result}, median of ${runs.length} ` +
      `(${format(rateOf(sorted[0]!))} – ${format(rateOf(sorted[sorted.length - 1]!))})`,
  };
}
