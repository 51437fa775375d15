// `sluice consume <topic>`: prints one line per message until SIGINT or --max-messages. Without --group it reads every
// partition by manual assignment with Sluice's own client (no group, nothing committed); with --group it is a member
// of that group through the toolkit's consumer (on Sluice's client) and commits what it printed. A group the broker
// refuses is reported with the broker's own reason.

import { once } from "node:events";
import type { SluiceKafkaClient } from "../../kafka/client/index.js";
import { createKafkaClient } from "../../toolkit/kafka/connection.js";
import { choiceOption, customOption, flagOption, integerOption, stringOption } from "../args.js";
import { CliError, defineCommand, EXIT_FAILURE, EXIT_OK, type CommandIo } from "../command.js";
import {
  connectionOptions,
  connectionSettings,
  withSluiceClient,
  type ConnectionValues,
} from "../connection-options.js";
import { explainKafkaError } from "../kafka-client.js";
import { createCliLogger } from "../logger.js";
import { listenForShutdown } from "../signals.js";
import { parseKeySeparator } from "./produce.js";

/** How long a fetch waits for new messages; it bounds how long stopping takes. */
export const CONSUME_FETCH_WAIT_MS = 500;
export const HEADERS_PER_MESSAGE_MAX = 1000;

const CLIENT_ID = "sluice-cli-consume";

export type OutputFormat = "text" | "json";

/** One consumed message, whichever way it was read; headers in order, a name may repeat. */
export interface ConsumedMessage {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number | string;
  readonly timestamp: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: ReadonlyArray<{ readonly key: string; readonly value: Buffer | string | null }>;
}

function headersToStrings(headers: ConsumedMessage["headers"]): Record<string, string | string[]> {
  const result: Record<string, string | string[]> = {};
  for (const { key, value } of headers.slice(0, HEADERS_PER_MESSAGE_MAX)) {
    const text = value === null ? "" : value.toString();
    const earlier = result[key];
    result[key] = earlier === undefined ? text : Array.isArray(earlier) ? [...earlier, text] : [earlier, text];
  }
  return result;
}

/** One output line for a message, without its newline. */
export function formatMessage(
  consumed: ConsumedMessage,
  format: OutputFormat,
  keySeparator: string | undefined,
): string {
  const key = consumed.key === null ? null : consumed.key.toString("utf8");
  const value = consumed.value === null ? null : consumed.value.toString("utf8");
  if (format === "json") {
    return JSON.stringify({
      topic: consumed.topic,
      partition: consumed.partition,
      offset: Number(consumed.offset),
      timestamp: consumed.timestamp,
      key,
      value,
      headers: headersToStrings(consumed.headers),
    });
  }
  return keySeparator === undefined ? (value ?? "") : `${key ?? ""}${keySeparator}${value ?? ""}`;
}

// Declared apart from the command so that TypeScript infers each option's literal types.
const consumeOptions = {
  group: stringOption({
    description: "Consumer group; offsets are committed (default: no group, nothing is committed)",
    valueName: "G",
  }),
  fromBeginning: flagOption({ description: "Start at the oldest message when the group has no committed offset" }),
  maxMessages: integerOption({ description: "Exit after printing this many messages", min: 1 }),
  keySeparator: customOption({
    description: "Print key<SEP>value instead of the value alone",
    valueName: "SEP",
    parse: parseKeySeparator,
    default: undefined,
  }),
  format: choiceOption({ description: "Output format", choices: ["text", "json"] as const, default: "text" }),
  ...connectionOptions,
};

export const consumeCommand = defineCommand({
  name: "consume",
  summary: "Print a topic's messages, one per line",
  details: [
    "Without --group, every partition is read directly and nothing is committed, so every run starts from " +
      "--from-beginning or the end. With --group, offsets are committed as messages are printed.",
  ],
  examples: [
    "sluice consume events --from-beginning --max-messages 10",
    "sluice consume events --group audit --format json",
  ],
  arguments: {
    options: consumeOptions,
    positionals: [{ name: "topic", description: "Topic to read", required: true }],
  },
  async run({ options, positionals }, io) {
    const topic = positionals[0]!;
    const shutdown = listenForShutdown(() => process.exit(EXIT_FAILURE));
    let printed = 0;
    let outputClosed = false;
    let resolveDone: () => void = () => undefined;
    let rejectDone: (error: unknown) => void = () => undefined;
    const done = new Promise<void>((resolve, reject) => {
      resolveDone = resolve;
      rejectDone = reject;
    });
    // The outcome is awaited only while consuming; a crash reported after that must not become an unhandled rejection.
    done.catch(() => undefined);
    const onOutputError = (error: NodeJS.ErrnoException): void => {
      // The reader went away (`| head`); that is a normal way to stop.
      if (error.code === "EPIPE") {
        outputClosed = true;
        resolveDone();
      } else {
        rejectDone(error);
      }
    };
    io.stdout.on("error", onOutputError);
    const finished = (): boolean =>
      outputClosed || (options.maxMessages !== undefined && printed >= options.maxMessages);

    const print = async (message: ConsumedMessage): Promise<void> => {
      const line = formatMessage(message, options.format, options.keySeparator);
      if (!io.stdout.write(line + "\n")) await Promise.race([once(io.stdout, "drain"), done]);
      printed++;
    };
    const stopped = Promise.race([done, shutdown.requested]);
    stopped.catch(() => undefined);
    try {
      if (options.group === undefined) {
        await withSluiceClient(options, CLIENT_ID, io.stderr, (client) =>
          readWithoutGroup(client, topic, options.fromBeginning, {
            print,
            finished,
            stopped,
            finish: resolveDone,
          }),
        );
      } else {
        await consumeAsMember(options, io, topic, options.group, options.fromBeginning, {
          print,
          finished,
          stopped,
          finish: resolveDone,
          crash: rejectDone,
        });
      }
    } finally {
      shutdown.dispose();
      io.stdout.off("error", onOutputError);
    }
    io.stderr.write(`consumed ${printed} message(s) from ${topic}\n`);
    return EXIT_OK;
  },
});

interface Printing {
  print(message: ConsumedMessage): Promise<void>;
  finished(): boolean;
  /** Settles when the command should stop: done, failed, or interrupted. */
  stopped: Promise<unknown>;
  finish(): void;
}

/** Reads every partition from its start or end, by manual assignment; nothing is committed. */
async function readWithoutGroup(
  client: SluiceKafkaClient,
  topic: string,
  fromBeginning: boolean,
  printing: Printing,
): Promise<void> {
  let stop = false;
  void printing.stopped.then(
    () => (stop = true),
    () => (stop = true),
  );
  const { partitions } = await client.cluster.topic(topic, { refresh: true });
  const reader = client.reader({
    maxWaitMs: CONSUME_FETCH_WAIT_MS,
    partitions: partitions.map(({ partition }) => ({
      topic,
      partition,
      from: fromBeginning ? ("earliest" as const) : ("latest" as const),
    })),
  });
  try {
    while (!stop && !printing.finished()) {
      for (const record of await reader.read()) {
        if (printing.finished()) break;
        await printing.print(record);
      }
    }
    printing.finish();
    await printing.stopped;
  } finally {
    reader.close();
  }
}

/** Consumes as a member of the group, committing after each batch what was printed of it. */
async function consumeAsMember(
  values: ConnectionValues,
  io: CommandIo,
  topic: string,
  groupId: string,
  fromBeginning: boolean,
  printing: Printing & { crash(error: unknown): void },
): Promise<void> {
  const { sasl, tls } = connectionSettings(values);
  const client = createKafkaClient({
    brokers: values.brokers,
    clientId: CLIENT_ID,
    sasl,
    ssl: tls,
    requestTimeoutMs: values.timeoutMs,
    logger: createCliLogger(values.logLevel, io.stderr),
    library: "sluice",
    env: {},
  });
  // The group consumer would wait for a topic that does not exist; say so instead.
  await withSluiceClient(values, CLIENT_ID, io.stderr, (native) => native.cluster.topic(topic, { refresh: true }));
  const consumer = client.consumer({ groupId, fetchWaitMs: CONSUME_FETCH_WAIT_MS });
  consumer.onCrash((error, restarting) => {
    if (!restarting) printing.crash(error);
  });
  try {
    await consumer.start({
      topics: [topic],
      fromBeginning,
      concurrency: 1,
      eachBatch: async (batch) => {
        let next: bigint | null = null;
        for (const record of batch.records) {
          if (printing.finished() || !batch.active()) break;
          await printing.print({
            ...record,
            headers: Object.entries(record.headers).map(([key, value]) => ({ key, value })),
          });
          batch.markDone(record.offset);
          next = BigInt(record.offset) + 1n;
        }
        if (next !== null) await batch.commit(String(next));
        if (printing.finished()) printing.finish();
      },
    });
    await printing.stopped;
  } catch (error) {
    throw error instanceof CliError ? error : explainKafkaError(error, values.brokers);
  } finally {
    await consumer.stop().catch((error: unknown) => {
      io.stderr.write(`warning: leaving the group did not finish cleanly: ${String(error)}\n`);
    });
  }
}
