// `sluice produce <topic>`: sends each line of stdin as one message, in batches as lines arrive, with Sluice's own
// Kafka client (idempotent with acks -1).

import { addAbortSignal } from "node:stream";
import type { Producer, SluiceKafkaClient } from "../../kafka/client/index.js";
import { choiceOption, customOption, integerOption } from "../args.js";
import { CliError, defineCommand, EXIT_FAILURE, EXIT_OK } from "../command.js";
import { connectionOptions, withSluiceClient } from "../connection-options.js";
import { LINE_BYTES_MAX, LineTooLongError, readLineBatches } from "../lines.js";
import { listenForShutdown } from "../signals.js";

export const PRODUCE_BATCH_MESSAGES_MAX = 1000;
/** Kept under the broker's default record batch limit (1 MiB) so that a batch of short lines is never refused. */
export const PRODUCE_BATCH_BYTES_MAX = 512 * 1024;
export const PARTITION_MAX = 1_000_000;

const CLIENT_ID = "sluice-cli-produce";

const ACKS = { "-1": -1, all: -1, "1": 1, "0": 0 } as const;

export function parseKeySeparator(raw: string): string {
  if (raw === "") throw new Error("the separator cannot be empty");
  return raw;
}

/** One line as a message: a value, and a key and partition when given. */
export interface LineMessage {
  key?: string;
  value: string;
  partition?: number;
}

/** Splits a line at the first separator into key and value; a line without one is a value with no key. */
export function lineToMessage(
  line: string,
  keySeparator: string | undefined,
  partition: number | undefined,
): LineMessage {
  const message: LineMessage = { value: line };
  if (keySeparator !== undefined) {
    const separatorIndex = line.indexOf(keySeparator);
    if (separatorIndex !== -1) {
      message.key = line.slice(0, separatorIndex);
      message.value = line.slice(separatorIndex + keySeparator.length);
    }
  }
  if (partition !== undefined) message.partition = partition;
  return message;
}

function messageBytes(message: LineMessage): number {
  return (message.key === undefined ? 0 : Buffer.byteLength(message.key)) + Buffer.byteLength(message.value);
}

/** Cuts messages into batches that respect both the count and the byte limits. */
export function intoBatches(messages: readonly LineMessage[]): LineMessage[][] {
  const batches: LineMessage[][] = [];
  let current: LineMessage[] = [];
  let currentBytes = 0;
  for (const message of messages) {
    const bytes = messageBytes(message);
    if (
      current.length > 0 &&
      (current.length >= PRODUCE_BATCH_MESSAGES_MAX || currentBytes + bytes > PRODUCE_BATCH_BYTES_MAX)
    ) {
      batches.push(current);
      current = [];
      currentBytes = 0;
    }
    current.push(message);
    currentBytes += bytes;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/** Checks the partition before reading any input, so that the user hears of a wrong one at once, with a hint. */
async function requirePartition(client: SluiceKafkaClient, topic: string, partition: number): Promise<void> {
  const count = (await client.cluster.topic(topic)).partitions.length;
  if (partition >= count) {
    throw new CliError(
      `topic ${topic} has ${count} partition(s), so partition ${partition} does not exist`,
      count > 0 ? `Give --partition a number from 0 to ${count - 1}.` : "Create the topic with `sluice topics create`.",
    );
  }
}

interface ProduceTotals {
  messages: number;
  bytes: number;
  partitions: Set<number>;
}

// Declared apart from the command so that TypeScript infers each option's literal types.
const produceOptions = {
  keySeparator: customOption({
    description: "Split each line into key and value at this text",
    valueName: "SEP",
    parse: parseKeySeparator,
    default: undefined,
  }),
  partition: integerOption({ description: "Send every message to this partition", min: 0, max: PARTITION_MAX }),
  acks: choiceOption({
    description: "Acknowledgement: -1 after fsync, 1 after the write, 0 none",
    choices: ["-1", "all", "1", "0"] as const,
    default: "-1",
  }),
  compression: choiceOption({ description: "Batch compression", choices: ["none", "gzip"] as const, default: "none" }),
  lineBytesMax: integerOption({ description: "Longest line accepted", min: 1, default: LINE_BYTES_MAX }),
  ...connectionOptions,
};

export const produceCommand = defineCommand({
  name: "produce",
  summary: "Send lines from stdin to a topic, one message per line",
  details: [
    "With --key-separator each line is split at the first separator into key and value; a line without the " +
      "separator is sent with no key. A summary goes to stderr. SIGINT stops reading and sends what was read.",
  ],
  examples: [
    'printf "user-1:signed up\\nuser-2:signed up\\n" | sluice produce events --key-separator :',
    "sluice produce events --acks 1 --compression gzip < events.txt",
  ],
  arguments: {
    options: produceOptions,
    positionals: [{ name: "topic", description: "Topic to send to", required: true }],
  },
  async run({ options, positionals }, io) {
    const topic = positionals[0]!;
    const startedMs = performance.now();
    const totals: ProduceTotals = { messages: 0, bytes: 0, partitions: new Set() };
    const interrupted = new AbortController();
    const shutdown = listenForShutdown(() => process.exit(EXIT_FAILURE));
    void shutdown.requested.then(() => interrupted.abort());
    if ("isTTY" in io.stdin && io.stdin.isTTY === true) {
      io.stderr.write(`Type messages for ${topic}, one per line; end with Ctrl-D.\n`);
    }
    const send = async (producer: Producer, batch: LineMessage[]): Promise<void> => {
      const results = await producer.send(batch.map((message) => ({ topic, ...message })));
      totals.messages += batch.length;
      for (const message of batch) totals.bytes += messageBytes(message);
      for (const result of results) totals.partitions.add(result.partition);
    };
    try {
      await withSluiceClient(options, CLIENT_ID, io.stderr, async (client) => {
        if (options.partition !== undefined) await requirePartition(client, topic, options.partition);
        const acks = ACKS[options.acks];
        const producer = client.producer({
          idempotent: acks === -1,
          acks,
          compression: options.compression,
          timeoutMs: options.timeoutMs,
          // As before with kafkajs: a broker that creates topics on first use may do so.
          allowAutoTopicCreation: true,
        });
        await producer.connect();
        try {
          const lines = readLineBatches(addAbortSignal(interrupted.signal, io.stdin), options.lineBytesMax);
          for await (const batchOfLines of lines) {
            const messages = batchOfLines.map((line) => lineToMessage(line, options.keySeparator, options.partition));
            for (const batch of intoBatches(messages)) await send(producer, batch);
          }
        } catch (error) {
          if (error instanceof LineTooLongError) {
            throw new CliError(
              error.message,
              "Raise --line-bytes-max, or check that the input is newline-separated text.",
            );
          }
          if (!interrupted.signal.aborted) throw error;
        } finally {
          producer.close();
        }
      });
    } catch (error) {
      // Whatever went wrong, the user needs to know how much of the input already reached the topic.
      if (error instanceof CliError && totals.messages > 0) {
        throw new CliError(`${error.message} (${totals.messages} message(s) were sent before it)`, error.hint, {
          cause: error,
        });
      }
      throw error;
    } finally {
      shutdown.dispose();
    }
    const elapsedMs = Math.round(performance.now() - startedMs);
    const partitions = [...totals.partitions].sort((a, b) => a - b).join(", ");
    const where = partitions === "" ? "" : ` (partition${totals.partitions.size === 1 ? "" : "s"} ${partitions})`;
    io.stderr.write(
      `produced ${totals.messages} message(s), ${totals.bytes} bytes, to ${topic}${where} in ${elapsedMs} ms\n`,
    );
    return EXIT_OK;
  },
});
