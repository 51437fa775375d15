// `sluice dlt list | redrive <topic>`: see the events consumers gave up on (in `<topic>.dlt`) and send them back to
// their original topic once the cause is fixed. Both work against any Kafka endpoint, through the toolkit.

import { readFileSync } from "node:fs";

import {
  ArgumentError,
  customOption,
  flagOption,
  integerOption,
  listOption,
  stringOption,
  type OptionValues,
} from "../args.js";
import { CliError, defineCommand, defineCommandGroup, EXIT_OK, type CommandIo } from "../command.js";
import { connectionOptions, TLS_CA_FILE_BYTES_MAX, type ConnectionValues } from "../connection-options.js";
import { explainKafkaError } from "../kafka-client.js";
import { createCliLogger } from "../logger.js";
import { renderTable } from "../table.js";
import { deadLetterTopicName, type DeadLetter } from "../../toolkit/dead-letter.js";
import { createAmqpClient } from "../../toolkit/amqp/index.js";
import { ToolkitError } from "../../toolkit/errors.js";
import type { TransportClient } from "../../toolkit/transports/transport.js";
import { createKafkaClient, type KafkaClient } from "../../toolkit/kafka/connection.js";
import {
  DEAD_LETTER_LIMIT_MAX,
  DEFAULT_DEAD_LETTER_LIST_LIMIT,
  DEFAULT_REDRIVE_LIMIT,
  listDeadLetters,
  redriveDeadLetters,
  REDRIVE_EVENT_IDS_MAX,
} from "../../toolkit/redrive.js";

const CLIENT_ID = "sluice-cli-dlt";
/** Characters of a dead letter's error shown in the table; --json prints it whole. */
export const ERROR_COLUMN_CHARS_MAX = 80;
/** Reading a dead-letter topic joins a group and reads to its end: allow it a few request timeouts. */
const READ_TIMEOUTS_PER_REQUEST_TIMEOUT = 3;

const DURATION_UNITS_MS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/** A point in time: an ISO 8601 date or time, or a duration back from now such as 90s, 15m, 2h or 7d. */
export function parseTimeReference(raw: string, nowMs: number = Date.now()): Date {
  const text = raw.trim();
  const duration = /^([0-9]{1,9})(ms|s|m|h|d|w)$/.exec(text);
  if (duration !== null) return new Date(nowMs - Number(duration[1]) * DURATION_UNITS_MS[duration[2]!]!);
  if (/^[0-9]{4}-[0-9]{2}-[0-9]{2}/.test(text)) {
    const time = new Date(text);
    if (!Number.isNaN(time.getTime())) return time;
  }
  throw new Error(`"${raw}" is neither an ISO 8601 time (2030-01-31T12:00:00Z) nor a duration such as 15m, 2h or 7d`);
}

function timeOption(description: string) {
  return customOption<Date | undefined>({
    description,
    valueName: "ISO|duration",
    parse: (raw) => parseTimeReference(raw),
    default: undefined,
  });
}

function readCaFile(path: string): string {
  try {
    const contents = readFileSync(path);
    if (contents.length > TLS_CA_FILE_BYTES_MAX) throw new Error(`larger than ${TLS_CA_FILE_BYTES_MAX} bytes`);
    return contents.toString("utf8");
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new CliError(`cannot read the CA file ${path}: ${reason}`, "Give --tls-ca a readable PEM file.");
  }
}

/** The toolkit's Kafka client for the connection options (which already folded in the KAFKA_* variables). */
function toolkitClient(values: ConnectionValues, io: CommandIo): KafkaClient {
  const { saslMechanism, saslUsername, saslPassword } = values;
  if (saslMechanism === undefined && (saslUsername !== undefined || saslPassword !== undefined)) {
    throw new ArgumentError("--sasl-username and --sasl-password need --sasl-mechanism");
  }
  if (saslMechanism !== undefined && (saslUsername === undefined || saslPassword === undefined)) {
    throw new ArgumentError(`--sasl-mechanism ${saslMechanism} needs --sasl-username and --sasl-password`);
  }
  const sasl =
    saslMechanism !== undefined && saslUsername !== undefined && saslPassword !== undefined
      ? { mechanism: saslMechanism, username: saslUsername, password: saslPassword }
      : null;
  return createKafkaClient({
    brokers: values.brokers,
    clientId: CLIENT_ID,
    sasl,
    ssl: values.tlsCa !== undefined ? { ca: readCaFile(values.tlsCa) } : values.tls,
    requestTimeoutMs: values.timeoutMs,
    connectionTimeoutMs: Math.min(3_000, values.timeoutMs),
    retry: { retries: 3, initialRetryTimeMs: 100, maxRetryTimeMs: 1_000 },
    logger: createCliLogger(values.logLevel, io.stderr),
    env: {},
  });
}

/**
 * Runs work with a toolkit client (RabbitMQ's with --amqp-url, else Kafka's) and turns its failures into messages that
 * say what to do.
 */
async function withToolkit<T>(
  values: ConnectionValues & { amqpUrl: string | undefined },
  io: CommandIo,
  work: (client: TransportClient) => Promise<T>,
) {
  if (values.amqpUrl !== undefined) {
    const amqp = createAmqpClient({
      url: values.amqpUrl,
      env: {},
      logger: createCliLogger(values.logLevel, io.stderr),
    });
    try {
      return await work(amqp);
    } catch (error) {
      if (error instanceof ToolkitError) throw new CliError(`${error.message} [${error.code}]`, null, { cause: error });
      const reason = error instanceof Error ? error.message : String(error);
      throw new CliError(
        `RabbitMQ at ${amqp.address} failed: ${reason}`,
        "Check that RabbitMQ is running and that --amqp-url (or AMQP_URL) names it, with user and password.",
        { cause: error },
      );
    } finally {
      await amqp.close();
    }
  }
  const client = toolkitClient(values, io);
  try {
    return await work(client);
  } catch (error) {
    if (error instanceof CliError || error instanceof ArgumentError) throw error;
    if (error instanceof ToolkitError) {
      const explained = error.cause === undefined ? null : explainKafkaError(error.cause, values.brokers);
      const hint = explained !== null && explained.hint !== null ? explained.hint : null;
      throw new CliError(`${error.message} [${error.code}]`, hint, { cause: error });
    }
    throw explainKafkaError(error, values.brokers);
  }
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Text when the bytes are UTF-8, base64 otherwise, so that --json output never mangles a value. */
function bytesForJson(bytes: Buffer | null): string | { base64: string } | null {
  if (bytes === null) return null;
  try {
    return utf8.decode(bytes);
  } catch {
    return { base64: bytes.toString("base64") };
  }
}

function letterForJson(letter: DeadLetter) {
  return {
    eventId: letter.eventId,
    time: letter.time.toISOString(),
    originalTopic: letter.originalTopic,
    originalPartition: letter.originalPartition,
    originalOffset: letter.originalOffset,
    attempts: letter.attempts,
    errorCode: letter.errorCode,
    error: letter.error,
    consumerGroup: letter.consumerGroup,
    key: bytesForJson(letter.key),
    value: bytesForJson(letter.value),
    headers: letter.headers,
    valueDropped: letter.valueDropped,
    deadLetterPartition: letter.deadLetterPartition,
    deadLetterOffset: letter.deadLetterOffset,
  };
}

function shorten(text: string, charsMax: number): string {
  return text.length <= charsMax ? text : `${text.slice(0, charsMax - 1)}…`;
}

function lettersTable(letters: readonly DeadLetter[]): string {
  return renderTable(
    [
      { header: "TIME" },
      { header: "EVENT ID" },
      { header: "PARTITION", align: "right" },
      { header: "OFFSET", align: "right" },
      { header: "ATTEMPTS", align: "right" },
      { header: "GROUP" },
      { header: "CODE" },
      { header: "ERROR" },
    ],
    letters.map((letter) => [
      letter.time.toISOString(),
      letter.eventId,
      letter.originalPartition,
      letter.originalOffset,
      letter.attempts,
      letter.consumerGroup,
      letter.errorCode,
      shorten(letter.error, ERROR_COLUMN_CHARS_MAX),
    ]),
  );
}

const queryOptions = {
  since: timeOption("Only dead letters parked at or after this time"),
  until: timeOption("Only dead letters parked at or before this time"),
  json: flagOption({ description: "Print JSON for scripts instead of a table" }),
  amqpUrl: stringOption({
    description: "Read the dead-letter queue on this RabbitMQ (AMQP transport) instead of the Kafka topic",
    valueName: "amqp://user:password@host:port",
    env: "AMQP_URL",
  }),
  ...connectionOptions,
};

function queryOf(options: OptionValues<typeof queryOptions>) {
  if (options.since !== undefined && options.until !== undefined && options.since > options.until) {
    throw new ArgumentError("--until must not be before --since");
  }
  return {
    since: options.since,
    until: options.until,
    timeoutMs: options.timeoutMs * READ_TIMEOUTS_PER_REQUEST_TIMEOUT,
  };
}

const topicPositional = {
  name: "topic",
  description: "The original topic (its dead letters are in <topic>.dlt)",
  required: true,
};

const listCommand = defineCommand({
  name: "list",
  summary: "List the dead letters of a topic, oldest first",
  examples: ["sluice dlt list orders", "sluice dlt list orders --since 2h --json"],
  arguments: {
    options: {
      ...queryOptions,
      limit: integerOption({
        description: "Show at most this many",
        min: 1,
        max: DEAD_LETTER_LIMIT_MAX,
        default: DEFAULT_DEAD_LETTER_LIST_LIMIT,
      }),
    },
    positionals: [topicPositional],
  },
  async run({ options, positionals }, io) {
    const topic = positionals[0]!;
    const letters = await withToolkit(options, io, (client) =>
      listDeadLetters(client, topic, { ...queryOf(options), limit: options.limit }),
    );
    if (options.json) {
      io.stdout.write(JSON.stringify({ topic, deadLetters: letters.map(letterForJson) }) + "\n");
    } else if (letters.length === 0) {
      io.stdout.write(`no dead letters in ${deadLetterTopicName(topic)}\n`);
    } else {
      io.stdout.write(lettersTable(letters));
      if (letters.length === options.limit) {
        io.stderr.write(`showing the first ${options.limit}; raise --limit or narrow with --since to see more\n`);
      }
    }
    return EXIT_OK;
  },
});

const redriveCommand = defineCommand({
  name: "redrive",
  summary: "Re-publish dead letters to their original topic",
  details: [
    "Each dead letter goes back with its original key, value, headers and event id, to its original partition. " +
      "The consumer group that gave up on it processes it again; groups that had processed it skip it (their " +
      "inbox knows the event id). Fix the cause first: an event that fails again returns to the dead-letter topic.",
  ],
  examples: [
    "sluice dlt redrive orders --dry-run",
    "sluice dlt redrive orders --since 1h",
    "sluice dlt redrive orders --event-id <id>",
  ],
  arguments: {
    options: {
      ...queryOptions,
      eventId: listOption({
        description: "Only this event (repeatable)",
        valueName: "id",
        countMax: REDRIVE_EVENT_IDS_MAX,
      }),
      limit: integerOption({
        description: "Redrive at most this many (the oldest)",
        min: 1,
        max: DEAD_LETTER_LIMIT_MAX,
        default: DEFAULT_REDRIVE_LIMIT,
      }),
      dryRun: flagOption({ description: "Show what would be redriven without publishing anything" }),
    },
    positionals: [topicPositional],
  },
  async run({ options, positionals }, io) {
    const topic = positionals[0]!;
    const report = await withToolkit(options, io, (client) =>
      redriveDeadLetters(client, topic, {
        ...queryOf(options),
        limit: options.limit,
        dryRun: options.dryRun,
        ...(options.eventId.length > 0 ? { eventIds: options.eventId } : {}),
      }),
    );
    const count = report.deadLetters.length;
    for (const letter of report.skipped) {
      io.stderr.write(
        `skipped ${letter.eventId}: its dead letter has no value (${letter.valueDropped}); the event is still at ` +
          `${letter.originalTopic} partition ${letter.originalPartition} offset ${letter.originalOffset}\n`,
      );
    }
    if (options.json) {
      io.stdout.write(
        JSON.stringify({
          topic,
          dryRun: report.dryRun,
          redriven: report.dryRun ? 0 : count,
          deadLetters: report.deadLetters.map(letterForJson),
          skipped: report.skipped.map(letterForJson),
        }) + "\n",
      );
      return EXIT_OK;
    }
    const from = deadLetterTopicName(topic);
    if (count === 0) io.stdout.write(`no dead letters in ${from} match; nothing to redrive\n`);
    else if (report.dryRun) {
      io.stdout.write(lettersTable(report.deadLetters));
      io.stdout.write(`would redrive ${count} dead letter(s) from ${from} to ${topic} (dry run: nothing was sent)\n`);
    } else io.stdout.write(`redrove ${count} dead letter(s) from ${from} to ${topic}\n`);
    return EXIT_OK;
  },
});

export const dltCommand = defineCommandGroup({
  name: "dlt",
  summary: "List and redrive dead letters (events consumers gave up on)",
  commands: [listCommand, redriveCommand],
});
