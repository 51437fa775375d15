// The arguments of bench:toolkit (the usage is in toolkit.ts's header): read once, each checked with a message and
// exit code 2 when it is off, in the order they have always been checked.

import { repeatCount } from "./toolkit-repeat.js";
import { CONSUMER_MODES } from "./toolkit-run.js";

export interface ToolkitArgs {
  /** The arguments as given, for the command line printed above the table. */
  args: readonly string[];
  /** Only the relay's drain, for working on the relay (the consumer and latency measures are skipped). */
  relayOnly: boolean;
  /** Only these consumer measures (--consumer, comma-separated), for working on the consumer. */
  consumerModes: readonly string[] | undefined;
  database: "pglite" | "postgres" | undefined;
  format: "json" | "avro";
  transport: "kafka" | "amqp" | "amqp-only";
  /** --repeat N: each throughput measure runs N times and shows the median run, with the range. */
  repeat: number;
  relayEvents: number;
  consumerEvents: number;
  latencyDurationMs: number;
}

function valueOf(args: readonly string[], name: string): string | undefined {
  return args.includes(name) ? (args[args.indexOf(name) + 1] ?? "") : undefined;
}

/** The arguments of this process, or exits with the problem on stderr and code 2. */
export function toolkitArgs(args: readonly string[]): ToolkitArgs {
  const quick = args.includes("--quick");
  const consumerModesArg = valueOf(args, "--consumer");
  const modes: readonly string[] = CONSUMER_MODES;
  if (consumerModesArg !== undefined && !consumerModesArg.split(",").every((mode) => modes.includes(mode))) {
    process.stderr.write(`--consumer takes a comma-separated list of ${CONSUMER_MODES.join(", ")}\n`);
    process.exit(2);
  }
  const database = valueOf(args, "--database");
  if (database !== undefined && database !== "pglite" && database !== "postgres") {
    process.stderr.write(
      "usage: npm run bench:toolkit [-- --quick] [--database pglite|postgres] [--format json|avro]\n",
    );
    process.exit(2);
  }
  const format = valueOf(args, "--format") ?? "json";
  if (format !== "json" && format !== "avro") {
    process.stderr.write("--format takes json or avro\n");
    process.exit(2);
  }
  const transport = valueOf(args, "--transport") ?? "kafka";
  if (transport !== "kafka" && transport !== "amqp" && transport !== "amqp-only") {
    process.stderr.write("--transport takes kafka, amqp (both, side by side) or amqp-only\n");
    process.exit(2);
  }
  /** --events N: how many events each measure moves (longer runs, for profiling and steadier figures). */
  const events = args.includes("--events") ? Number(args[args.indexOf("--events") + 1]) : undefined;
  if (events !== undefined && !(Number.isSafeInteger(events) && events >= 1_000 && events <= 1_000_000)) {
    process.stderr.write("--events takes a whole number from 1000 to 1000000\n");
    process.exit(2);
  }
  return {
    args,
    relayOnly: args.includes("--relay-only"),
    consumerModes: consumerModesArg?.split(","),
    database,
    format,
    transport,
    repeat: repeatCount(args),
    relayEvents: events ?? (quick ? 5_000 : 20_000),
    consumerEvents: events ?? (quick ? 5_000 : 20_000),
    latencyDurationMs: quick ? 3_000 : 10_000,
  };
}
