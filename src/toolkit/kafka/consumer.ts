// Our consumer interface over kafkajs's: a group member that hands over one partition's batch of records at a time,
// commits only the offsets it is told to (never automatically), and pauses and resumes single partitions. Also
// readTopic(), which reads what a topic holds now (a dead-letter topic, for listing) and stops at its end.

import { randomUUID } from "node:crypto";

import type { Consumer, ConsumerConfig, Kafka, KafkaMessage } from "kafkajs";

import { headersToStrings } from "../event.js";
import { integerOption, resolveInteger } from "../../platform/options.js";
import { InvalidArgumentError, ToolkitError, ToolkitErrorCode, UnknownTopicError } from "../errors.js";
import type { ToolkitLogger } from "../logger.js";

export const DEFAULT_SESSION_TIMEOUT_MS = 30_000;
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 3_000;
export const DEFAULT_REBALANCE_TIMEOUT_MS = 60_000;
/** How long one fetch waits for new records; it also bounds how long a stop waits for the fetch in progress. */
export const DEFAULT_FETCH_WAIT_MS = 500;
export const DEFAULT_PARTITION_FETCH_BYTES_MAX = 1024 * 1024;
export const DEFAULT_FETCH_BYTES_MAX = 10 * 1024 * 1024;
export const PARTITIONS_CONCURRENTLY_MAX = 64;
/** Headers per record the consumer reads; the rest are dropped (the producer side allows far fewer). */
export const RECORD_HEADERS_COUNT_MAX = 256;
export const DEFAULT_READ_TOPIC_TIMEOUT_MS = 30_000;
export const READ_TOPIC_RECORDS_MAX = 100_000;

export interface KafkaConsumerOptions {
  groupId: string;
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  rebalanceTimeoutMs?: number;
  fetchWaitMs?: number;
  partitionFetchBytesMax?: number;
  fetchBytesMax?: number;
}

/** One record as the consumer delivers it. */
export interface ConsumerRecord {
  topic: string;
  partition: number;
  /** A decimal string: offsets may exceed JavaScript's safe integers. */
  offset: string;
  /** Milliseconds since the epoch, as the producer (or broker) stamped it. */
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, string>;
}

/** What the consumer needs of a Kafka client (the kafkajs client underneath); a structural type, so this file does not
 * import connection.ts, which imports it. */
export interface KafkajsSource {
  raw(): Kafka;
}

/** The records of one partition fetched together, with what the member may do while it works through them. */
export interface PartitionBatch {
  readonly topic: string;
  readonly partition: number;
  readonly records: readonly ConsumerRecord[];
  /** False once the member is stopping or lost the partition: stop working on the batch (nothing is committed). */
  active(): boolean;
  /**
   * The record is done: the member's next fetch of this partition starts after it. Records left unmarked when the
   * batch ends are fetched again. This does not commit; commit() does.
   */
  markDone(offset: string): void;
  /**
   * Commits nextOffset (the offset after the last record done) for this partition, right away. Rejects when the
   * group has moved on (a rebalance) or the broker fails. Works while the member is stopping, unlike kafkajs's own
   * consumer.commitOffsets, which does nothing once a stop has begun.
   */
  commit(nextOffset: string): Promise<void>;
  /** Tells the group the member is alive during long batches. */
  heartbeat(): Promise<void>;
}

export interface GroupAssignment {
  memberId: string;
  /** Partitions this member now holds, by topic. */
  partitions: Record<string, number[]>;
}

export interface KafkaConsumer {
  readonly groupId: string;
  /** Connects, subscribes and starts fetching; batches go to eachBatch, concurrently for up to concurrency partitions. */
  start(options: {
    topics: readonly string[];
    fromBeginning: boolean;
    concurrency: number;
    eachBatch: (batch: PartitionBatch) => Promise<void>;
  }): Promise<void>;
  /** Stops fetching one partition until resume(); the batch in progress is not affected. */
  pause(topic: string, partition: number): void;
  resume(topic: string, partition: number): void;
  /** Called each time the member (re)joins the group, with its assignment. */
  onJoin(listener: (assignment: GroupAssignment) => void): void;
  /** Called when the Kafka client gave up on a failure; restarting tells whether it starts over by itself. */
  onCrash(listener: (error: Error, restarting: boolean) => void): void;
  /** Stops fetching, waits for the batches in progress, leaves the group and disconnects. */
  stop(): Promise<void>;
}

function positiveInteger(field: string, value: number | undefined, fallback: number, max: number): number {
  return resolveInteger(
    field,
    value,
    integerOption(fallback, 1, max),
    (name, message) => new InvalidArgumentError(name, message),
  );
}

export function toConsumerRecord(topic: string, partition: number, message: KafkaMessage): ConsumerRecord {
  const rawHeaders = message.headers ?? {};
  const names = Object.keys(rawHeaders);
  const limited =
    names.length <= RECORD_HEADERS_COUNT_MAX
      ? rawHeaders
      : Object.fromEntries(names.slice(0, RECORD_HEADERS_COUNT_MAX).map((name) => [name, rawHeaders[name]]));
  const timestamp = Number(message.timestamp);
  return {
    topic,
    partition,
    offset: message.offset,
    timestamp: Number.isFinite(timestamp) ? timestamp : 0,
    key: message.key ?? null,
    value: message.value ?? null,
    headers: headersToStrings(limited),
  };
}

export function createKafkaConsumer(client: KafkajsSource, options: KafkaConsumerOptions): KafkaConsumer {
  let stopping = false;
  let started = false;
  const dayMs = 24 * 60 * 60 * 1000;
  const sessionTimeout = positiveInteger(
    "sessionTimeoutMs",
    options.sessionTimeoutMs,
    DEFAULT_SESSION_TIMEOUT_MS,
    dayMs,
  );
  const config: ConsumerConfig = {
    groupId: options.groupId,
    sessionTimeout,
    heartbeatInterval: positiveInteger(
      "heartbeatIntervalMs",
      options.heartbeatIntervalMs,
      Math.min(DEFAULT_HEARTBEAT_INTERVAL_MS, Math.floor(sessionTimeout / 3)),
      dayMs,
    ),
    rebalanceTimeout: positiveInteger(
      "rebalanceTimeoutMs",
      options.rebalanceTimeoutMs,
      DEFAULT_REBALANCE_TIMEOUT_MS,
      dayMs,
    ),
    maxWaitTimeInMs: positiveInteger("fetchWaitMs", options.fetchWaitMs, DEFAULT_FETCH_WAIT_MS, 60_000),
    maxBytesPerPartition: positiveInteger(
      "partitionFetchBytesMax",
      options.partitionFetchBytesMax,
      DEFAULT_PARTITION_FETCH_BYTES_MAX,
      1024 * 1024 * 1024,
    ),
    maxBytes: positiveInteger("fetchBytesMax", options.fetchBytesMax, DEFAULT_FETCH_BYTES_MAX, 1024 * 1024 * 1024),
    allowAutoTopicCreation: false,
    // After a failure the client gives up on, it starts over (rejoining the group) unless the member is stopping.
    retry: { restartOnFailure: async () => !stopping },
  };
  const consumer: Consumer = client.raw().consumer(config);
  const joinListeners: Array<(assignment: GroupAssignment) => void> = [];
  const crashListeners: Array<(error: Error, restarting: boolean) => void> = [];

  consumer.on(consumer.events.GROUP_JOIN, (event) => {
    const partitions: Record<string, number[]> = {};
    for (const [topic, list] of Object.entries(event.payload.memberAssignment)) partitions[topic] = [...list];
    for (const listener of joinListeners) listener({ memberId: event.payload.memberId, partitions });
  });
  consumer.on(consumer.events.CRASH, (event) => {
    const error = event.payload.error instanceof Error ? event.payload.error : new Error(String(event.payload.error));
    for (const listener of crashListeners) listener(error, event.payload.restart && !stopping);
  });

  return {
    groupId: options.groupId,

    async start({ topics, fromBeginning, concurrency, eachBatch }) {
      if (started)
        throw new ToolkitError(ToolkitErrorCode.CONSUMER_ALREADY_STARTED, "this consumer was started already");
      started = true;
      const partitionsConsumedConcurrently = positiveInteger(
        "concurrency",
        concurrency,
        1,
        PARTITIONS_CONCURRENTLY_MAX,
      );
      await consumer.connect();
      await consumer.subscribe({ topics: [...topics], fromBeginning });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently,
        eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale, commitOffsetsIfNecessary }) => {
          await eachBatch({
            topic: batch.topic,
            partition: batch.partition,
            records: batch.messages.map((message) => toConsumerRecord(batch.topic, batch.partition, message)),
            active: () => isRunning() && !isStale() && !stopping,
            markDone: (offset) => resolveOffset(offset),
            commit: (nextOffset) =>
              commitOffsetsIfNecessary({
                topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: nextOffset }] }],
              }),
            heartbeat,
          });
        },
      });
    },

    pause(topic, partition) {
      consumer.pause([{ topic, partitions: [partition] }]);
    },

    resume(topic, partition) {
      consumer.resume([{ topic, partitions: [partition] }]);
    },

    onJoin(listener) {
      joinListeners.push(listener);
    },

    onCrash(listener) {
      crashListeners.push(listener);
    },

    async stop() {
      stopping = true;
      // kafkajs's disconnect stops fetching, waits for the batches in progress, then leaves the group.
      await consumer.disconnect();
    },
  };
}

export interface ReadTopicOptions {
  /** Start at the first record stamped at or after this time; from the earliest record when absent. */
  since?: Date;
  /**
   * Keeps the records it returns true for; each partition stops after recordsPerPartitionMax kept records, so a
   * caller that wants the N earliest matches overall asks for N per partition.
   */
  filter?: (record: ConsumerRecord) => boolean;
  recordsPerPartitionMax?: number;
  timeoutMs?: number;
  logger?: ToolkitLogger;
}

/**
 * Reads the records a topic holds now, up to its current end, and returns them by partition and offset. It joins a
 * throwaway consumer group (kafkajs reads only as a group member), commits nothing and deletes the group after.
 * Throws UnknownTopicError when the topic does not exist.
 */
export async function readTopic(
  client: KafkajsSource,
  topic: string,
  options: ReadTopicOptions = {},
): Promise<ConsumerRecord[]> {
  const timeoutMs = positiveInteger("timeoutMs", options.timeoutMs, DEFAULT_READ_TOPIC_TIMEOUT_MS, 24 * 60 * 60 * 1000);
  const perPartitionMax = positiveInteger(
    "recordsPerPartitionMax",
    options.recordsPerPartitionMax,
    READ_TOPIC_RECORDS_MAX,
    READ_TOPIC_RECORDS_MAX,
  );
  const filter = options.filter ?? (() => true);
  const kafka = client.raw();
  const admin = kafka.admin();
  await admin.connect();
  let ranges: Map<number, { start: bigint; end: bigint }>;
  try {
    if (!(await admin.listTopics()).includes(topic)) throw new UnknownTopicError(topic);
    const ends = await admin.fetchTopicOffsets(topic);
    const starts =
      options.since === undefined ? null : await admin.fetchTopicOffsetsByTimestamp(topic, options.since.getTime());
    ranges = new Map();
    for (const entry of ends) {
      const low = BigInt(entry.low);
      const high = BigInt(entry.high);
      const byTime = starts?.find((start) => start.partition === entry.partition)?.offset;
      // An offset of -1 by timestamp means no record is that recent.
      const start = byTime === undefined ? low : BigInt(byTime) < 0n ? high : BigInt(byTime);
      if (start < high) ranges.set(entry.partition, { start: start < low ? low : start, end: high });
    }
  } finally {
    await admin.disconnect();
  }
  if (ranges.size === 0) return [];

  const kept = new Map<number, ConsumerRecord[]>();
  // The next offset each partition needs: a fetch made before the seek below may deliver records again.
  const cursors = new Map([...ranges].map(([partition, range]) => [partition, range.start]));
  const pending = new Set(ranges.keys());
  const groupId = `sluice-read-${randomUUID()}`;
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100, allowAutoTopicCreation: false });
  let finish: () => void = () => undefined;
  let fail: (error: Error) => void = () => undefined;
  const done = new Promise<void>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  const timer = setTimeout(
    () =>
      fail(
        new ToolkitError(
          ToolkitErrorCode.TOPIC_READ_TIMED_OUT,
          `reading topic "${topic}" took longer than ${timeoutMs} ms; check that the broker is healthy, or allow ` +
            "more time",
        ),
      ),
    timeoutMs,
  );
  consumer.on(consumer.events.CRASH, (event) => {
    if (!event.payload.restart) fail(event.payload.error);
  });
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const range = ranges.get(batch.partition);
        if (range === undefined || !pending.has(batch.partition)) return;
        const list = kept.get(batch.partition) ?? [];
        kept.set(batch.partition, list);
        for (const message of batch.messages) {
          const offset = BigInt(message.offset);
          if (offset < (cursors.get(batch.partition) ?? range.start)) continue;
          cursors.set(batch.partition, offset + 1n);
          if (offset >= range.end || list.length >= perPartitionMax) break;
          const record = toConsumerRecord(topic, batch.partition, message);
          if (filter(record)) list.push(record);
          if (offset + 1n >= range.end || list.length >= perPartitionMax) {
            pending.delete(batch.partition);
            break;
          }
        }
        if (pending.size === 0) finish();
      },
    });
    for (const [partition, range] of ranges) consumer.seek({ topic, partition, offset: range.start.toString() });
    await done;
  } finally {
    clearTimeout(timer);
    await consumer.disconnect().catch(() => undefined);
    const cleanup = kafka.admin();
    try {
      await cleanup.connect();
      await cleanup.deleteGroups([groupId]);
    } catch (error) {
      // The group committed nothing, so one left behind does no harm until the broker expires it.
      options.logger?.debug({ err: error, groupId }, "could not delete the throwaway group of a topic read");
    } finally {
      await cleanup.disconnect().catch(() => undefined);
    }
  }
  return [...kept.entries()].sort(([left], [right]) => left - right).flatMap(([, records]) => records);
}
