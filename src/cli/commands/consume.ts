// `sluice consume <topic>`: prints one line per message until SIGINT or --max-messages.

import { randomUUID } from "node:crypto";
import { once } from "node:events";
import type { Consumer, IHeaders, Kafka, KafkaMessage } from "kafkajs";
import { choiceOption, customOption, flagOption, integerOption, stringOption } from "../args.js";
import { defineCommand, EXIT_FAILURE, EXIT_OK } from "../command.js";
import { connectionOptions, withKafka } from "../connection-options.js";
import { listenForShutdown } from "../signals.js";
import { parseKeySeparator } from "./produce.js";

/** How long a fetch waits for new messages; it bounds how long stopping takes. */
export const CONSUME_FETCH_WAIT_MS = 500;
export const HEADERS_PER_MESSAGE_MAX = 1000;

const CLIENT_ID = "sluice-cli-consume";

export type OutputFormat = "text" | "json";

export interface ConsumedMessage {
  readonly topic: string;
  readonly partition: number;
  readonly message: KafkaMessage;
}

function headersToStrings(headers: IHeaders | undefined): Record<string, string | string[]> {
  const result: Record<string, string | string[]> = {};
  let count = 0;
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value === undefined || ++count > HEADERS_PER_MESSAGE_MAX) continue;
    result[name] = Array.isArray(value) ? value.map((item) => item.toString()) : value.toString();
  }
  return result;
}

/** One output line for a message, without its newline. */
export function formatMessage(
  consumed: ConsumedMessage,
  format: OutputFormat,
  keySeparator: string | undefined,
): string {
  const { message } = consumed;
  const key = message.key === null ? null : message.key.toString("utf8");
  const value = message.value === null ? null : message.value.toString("utf8");
  if (format === "json") {
    return JSON.stringify({
      topic: consumed.topic,
      partition: consumed.partition,
      offset: Number(message.offset),
      timestamp: Number(message.timestamp),
      key,
      value,
      headers: headersToStrings(message.headers),
    });
  }
  return keySeparator === undefined ? (value ?? "") : `${key ?? ""}${keySeparator}${value ?? ""}`;
}

/** Leaving an empty throwaway group behind would clutter group listings until the broker expires it. */
async function deleteThrowawayGroup(kafka: Kafka, groupId: string): Promise<void> {
  const admin = kafka.admin();
  try {
    await admin.connect();
    await admin.deleteGroups([groupId]);
  } catch {
    // Best effort: the group holds no offsets, so one left behind does no harm.
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

// Declared apart from the command so that TypeScript infers each option's literal types.
const consumeOptions = {
  group: stringOption({
    description: "Consumer group; offsets are committed (default: a throwaway group that commits nothing)",
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
    "Without --group, a throwaway consumer group is used and nothing is committed, so every run starts from " +
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
    const throwawayGroup = options.group === undefined;
    const groupId = options.group ?? `sluice-cli-${randomUUID()}`;
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

    try {
      await withKafka(options, io, CLIENT_ID, async ({ kafka }) => {
        const consumer: Consumer = kafka.consumer({
          groupId,
          allowAutoTopicCreation: false,
          maxWaitTimeInMs: CONSUME_FETCH_WAIT_MS,
          retry: { restartOnFailure: async () => false },
        });
        consumer.on(consumer.events.CRASH, (event) => rejectDone(event.payload.error));
        await consumer.connect();
        try {
          await consumer.subscribe({ topics: [topic], fromBeginning: options.fromBeginning });
          await consumer.run({
            autoCommit: !throwawayGroup,
            eachBatchAutoResolve: false,
            eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
              for (const message of batch.messages) {
                if (finished()) break;
                const line = formatMessage(
                  { topic: batch.topic, partition: batch.partition, message },
                  options.format,
                  options.keySeparator,
                );
                if (!io.stdout.write(line + "\n")) await Promise.race([once(io.stdout, "drain"), done]);
                resolveOffset(message.offset);
                printed++;
              }
              if (finished()) resolveDone();
              await heartbeat();
            },
          });
          await Promise.race([done, shutdown.requested]);
        } finally {
          await consumer.disconnect();
        }
        if (throwawayGroup) await deleteThrowawayGroup(kafka, groupId);
      });
    } finally {
      shutdown.dispose();
      io.stdout.off("error", onOutputError);
    }
    io.stderr.write(`consumed ${printed} message(s) from ${topic}\n`);
    return EXIT_OK;
  },
});
