// Seeing and replaying dead letters. listDeadLetters reads `<topic>.dlt`; redriveDeadLetters re-publishes the chosen
// dead letters to their original topic with their original key, value and headers, event id included.
//
// Why keeping the event id is right: the inbox records an event id only when a handler commits, so the group that
// dead-lettered the event never recorded it and processes the redriven copy as new. Groups that did process the
// event (other groups reading the same topic) find its id in their inbox and skip it. Redriving the same dead
// letter twice is therefore harmless once it has been processed. Fix the cause first (the handler, or the data):
// an event that fails again goes through its retries and back to the dead-letter topic.

import type { AmqpClient } from "./amqp/client.js";
import { withDeadLetterQueue } from "./amqp/dead-letter-queue.js";
import { deadLetterTopicName, parseDeadLetter, type DeadLetter } from "./dead-letter.js";
import { InvalidArgumentError, ToolkitError, ToolkitErrorCode, UnknownTopicError } from "./errors.js";
import type { KafkaClient } from "./kafka/connection.js";
import { readTopic, type ConsumerRecord } from "./kafka/consumer.js";
import type { ProducerRecord } from "./kafka/producer.js";
import { silentLogger, type ToolkitLogger } from "./logger.js";
import type { TopicDefinition } from "./topic.js";
import type { TransportClient } from "./transports/transport.js";

export const DEFAULT_DEAD_LETTER_LIST_LIMIT = 100;
export const DEFAULT_REDRIVE_LIMIT = 1_000;
export const DEAD_LETTER_LIMIT_MAX = 10_000;
export const REDRIVE_EVENT_IDS_MAX = 10_000;
/** Records per produce call while redriving. */
export const REDRIVE_SEND_BATCH_SIZE = 100;

export interface DeadLetterQuery {
  /** Only dead letters parked at or after this time. */
  since?: Date;
  /** Only dead letters parked at or before this time. */
  until?: Date;
  /** Only these events. */
  eventIds?: readonly string[];
  /** The earliest this many matches (default 100 to list, 1000 to redrive). */
  limit?: number;
  timeoutMs?: number;
  logger?: ToolkitLogger;
}

export interface RedriveOptions extends DeadLetterQuery {
  /** Report what would be redriven without publishing anything. */
  dryRun?: boolean;
}

export interface RedriveReport {
  /** The dead letters re-published (or that would be, in a dry run), oldest first. */
  deadLetters: DeadLetter[];
  /**
   * Matching dead letters that cannot be redriven because the broker refused them with their value (see
   * DEAD_LETTER_HEADERS.valueDropped); their events are still at their original position.
   */
  skipped: DeadLetter[];
  originalTopic: string;
  dryRun: boolean;
}

function topicNameOf(topic: string | TopicDefinition<unknown>): string {
  const name = typeof topic === "string" ? topic : topic?.name;
  if (typeof name !== "string" || !/^[A-Za-z0-9._-]{1,249}$/.test(name)) {
    throw new InvalidArgumentError("topic", "must be a topic name or a topic definition");
  }
  return name;
}

function checkQuery(query: DeadLetterQuery, defaultLimit: number): number {
  for (const field of ["since", "until"] as const) {
    const value = query[field];
    if (value !== undefined && (!(value instanceof Date) || Number.isNaN(value.getTime()))) {
      throw new InvalidArgumentError(field, "must be a valid Date");
    }
  }
  if (query.since !== undefined && query.until !== undefined && query.since > query.until) {
    throw new InvalidArgumentError("until", "must not be before since");
  }
  if (query.eventIds !== undefined) {
    if (!Array.isArray(query.eventIds) || query.eventIds.length > REDRIVE_EVENT_IDS_MAX) {
      throw new InvalidArgumentError("eventIds", `must be a list of at most ${REDRIVE_EVENT_IDS_MAX} event ids`);
    }
  }
  const limit = query.limit ?? defaultLimit;
  if (!Number.isInteger(limit) || limit < 1 || limit > DEAD_LETTER_LIMIT_MAX) {
    throw new InvalidArgumentError("limit", `must be an integer from 1 to ${DEAD_LETTER_LIMIT_MAX}`);
  }
  return limit;
}

function byTimeThenPosition(left: DeadLetter, right: DeadLetter): number {
  return (
    left.time.getTime() - right.time.getTime() ||
    left.deadLetterPartition - right.deadLetterPartition ||
    Number(BigInt(left.deadLetterOffset) - BigInt(right.deadLetterOffset))
  );
}

/** Keeps the records a query picks, parsed; records that are no dead letter are logged and skipped. */
function deadLetterFilter(
  topic: string,
  query: DeadLetterQuery,
  logger: ToolkitLogger,
): { matches: (record: ConsumerRecord) => boolean; parsed: Map<ConsumerRecord, DeadLetter> } {
  const wanted = query.eventIds === undefined ? null : new Set(query.eventIds);
  const parsed = new Map<ConsumerRecord, DeadLetter>();
  const matches = (record: ConsumerRecord): boolean => {
    let letter: DeadLetter;
    try {
      letter = parseDeadLetter(record);
    } catch (error) {
      logger.warn({ err: error, topic, partition: record.partition, offset: record.offset }, "skipped a record");
      return false;
    }
    if (query.since !== undefined && letter.time < query.since) return false;
    if (query.until !== undefined && letter.time > query.until) return false;
    if (wanted !== null && !wanted.has(letter.eventId)) return false;
    parsed.set(record, letter);
    return true;
  };
  return { matches, parsed };
}

function earliest(records: readonly ConsumerRecord[], parsed: Map<ConsumerRecord, DeadLetter>, limit: number) {
  return records
    .map((record) => parsed.get(record))
    .filter((letter): letter is DeadLetter => letter !== undefined)
    .sort(byTimeThenPosition)
    .slice(0, limit);
}

async function findDeadLetters(
  client: KafkaClient,
  originalTopic: string,
  query: DeadLetterQuery,
  limit: number,
): Promise<DeadLetter[]> {
  const logger = query.logger ?? silentLogger;
  const topic = deadLetterTopicName(originalTopic);
  const { matches, parsed } = deadLetterFilter(topic, query, logger);
  let records: ConsumerRecord[];
  try {
    records = await readTopic(client, topic, {
      since: query.since,
      filter: matches,
      // Each partition is in time order, so the earliest `limit` matches overall are among each one's first `limit`.
      recordsPerPartitionMax: limit,
      timeoutMs: query.timeoutMs,
    });
  } catch (error) {
    if (error instanceof UnknownTopicError && error.topic === topic) {
      throw new ToolkitError(
        ToolkitErrorCode.DEAD_LETTER_TOPIC_UNKNOWN,
        `there is no dead-letter topic "${topic}": no consumer of "${originalTopic}" has started against this ` +
          "broker yet (consumers create it), or the topic name is misspelt",
        { cause: error },
      );
    }
    throw error;
  }
  return earliest(records, parsed, limit);
}

/**
 * On RabbitMQ: lists (and, unless a dry run, redrives) the dead letters of a topic's dead-letter queue. A redriven
 * letter is acknowledged once RabbitMQ confirmed its copy on the original topic, which takes it off the queue.
 */
async function amqpDeadLetters(
  client: AmqpClient,
  originalTopic: string,
  query: RedriveOptions,
  limit: number,
  redrive: boolean,
): Promise<{ found: DeadLetter[]; deadLetters: DeadLetter[] }> {
  const logger = query.logger ?? silentLogger;
  const topic = deadLetterTopicName(originalTopic);
  return withDeadLetterQueue(client, topic, originalTopic, async (records, acknowledge) => {
    const { matches, parsed } = deadLetterFilter(topic, query, logger);
    const found = earliest(records.filter(matches), parsed, limit);
    const deadLetters = found.filter((letter) => letter.valueDropped === null);
    if (!redrive || query.dryRun === true || deadLetters.length === 0) return { found, deadLetters };
    const recordOf = new Map([...parsed].map(([record, letter]) => [letter, record]));
    const producer = client.producer();
    try {
      for (let start = 0; start < deadLetters.length; start += REDRIVE_SEND_BATCH_SIZE) {
        const chunk = deadLetters.slice(start, start + REDRIVE_SEND_BATCH_SIZE);
        await producer.send(
          chunk.map((letter) => ({
            topic: originalTopic,
            key: letter.key,
            value: letter.value,
            headers: letter.headers,
          })),
        );
        acknowledge(chunk.flatMap((letter) => recordOf.get(letter) ?? []));
      }
    } finally {
      await producer.disconnect();
    }
    return { found, deadLetters };
  });
}

function isAmqp(client: TransportClient): client is AmqpClient {
  return client.kind === "amqp";
}

function asKafka(client: TransportClient): KafkaClient {
  return client as KafkaClient;
}

/** The dead letters of a topic, oldest first. */
export async function listDeadLetters(
  client: TransportClient,
  topic: string | TopicDefinition<unknown>,
  query: DeadLetterQuery = {},
): Promise<DeadLetter[]> {
  const name = topicNameOf(topic);
  const limit = checkQuery(query, DEFAULT_DEAD_LETTER_LIST_LIMIT);
  if (isAmqp(client)) return (await amqpDeadLetters(client, name, query, limit, false)).found;
  return findDeadLetters(asKafka(client), name, query, limit);
}

/**
 * Re-publishes a topic's dead letters (those the query picks, oldest first) to the topic, each with its original
 * key, value and headers and to its original partition, so that consumers process them again.
 */
export async function redriveDeadLetters(
  client: TransportClient,
  topic: string | TopicDefinition<unknown>,
  options: RedriveOptions = {},
): Promise<RedriveReport> {
  const name = topicNameOf(topic);
  const limit = checkQuery(options, DEFAULT_REDRIVE_LIMIT);
  if (isAmqp(client)) {
    const { found, deadLetters } = await amqpDeadLetters(client, name, options, limit, true);
    const skipped = found.filter((letter) => letter.valueDropped !== null);
    return { deadLetters, skipped, originalTopic: name, dryRun: options.dryRun === true };
  }
  const found = await findDeadLetters(asKafka(client), name, options, limit);
  const deadLetters = found.filter((letter) => letter.valueDropped === null);
  const skipped = found.filter((letter) => letter.valueDropped !== null);
  const dryRun = options.dryRun === true;
  if (dryRun || deadLetters.length === 0) return { deadLetters, skipped, originalTopic: name, dryRun };

  const admin = client.admin();
  let partitions: number | null;
  try {
    partitions = await admin.partitionCount(name);
  } finally {
    await admin.disconnect();
  }
  if (partitions === null) throw new UnknownTopicError(name);
  const records: ProducerRecord[] = deadLetters.map((letter) => ({
    topic: name,
    key: letter.key,
    value: letter.value,
    headers: letter.headers,
    ...(letter.originalPartition < (partitions ?? 0) ? { partition: letter.originalPartition } : {}),
  }));
  const producer = client.producer();
  try {
    for (let start = 0; start < records.length; start += REDRIVE_SEND_BATCH_SIZE) {
      await producer.send(records.slice(start, start + REDRIVE_SEND_BATCH_SIZE));
    }
  } finally {
    await producer.disconnect();
  }
  (options.logger ?? silentLogger).info(
    { topic: name, count: deadLetters.length },
    `redrove ${deadLetters.length} dead letter(s) from ${deadLetterTopicName(name)} to ${name}`,
  );
  return { deadLetters, skipped, originalTopic: name, dryRun };
}
