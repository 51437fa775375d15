// Our consumer interface over kafkajs's: a group member that hands over one partition's batch of records at a time,
// commits only the offsets it is told to (never automatically), and pauses and resumes single partitions. Also
// readTopic(), which reads what a topic holds now (a dead-letter topic, for listing) by manual assignment and stops
// at its end.

import type { Consumer, ConsumerConfig, Kafka, KafkaMessage } from "kafkajs";

import { headersToStrings } from "../event.js";
import { integerOption, resolveInteger } from "../../platform/options.js";
import { InvalidArgumentError, ToolkitError, ToolkitErrorCode } from "../errors.js";
import { createPartitionReader, type KafkaPartitionReader, type NativeSource } from "./reader.js";
import { RECORD_HEADERS_COUNT_MAX, type ConsumerRecord } from "./record.js";

export { RECORD_HEADERS_COUNT_MAX, type ConsumerRecord } from "./record.js";

export const DEFAULT_SESSION_TIMEOUT_MS = 30_000;
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 3_000;
export const DEFAULT_REBALANCE_TIMEOUT_MS = 60_000;
/**
 * How long one fetch waits for new records; it also bounds how long a stop waits for the fetch in progress. Records
 * end the wait as soon as they arrive, so it costs no latency when busy; an idle consumer fetches once per wait, and
 * at 500 ms the ten consumers of an idle `sluice up` were most of its CPU (npm run bench:idle).
 */
export const DEFAULT_FETCH_WAIT_MS = 2_000;
export const DEFAULT_PARTITION_FETCH_BYTES_MAX = 1024 * 1024;
export const DEFAULT_FETCH_BYTES_MAX = 10 * 1024 * 1024;
export const PARTITIONS_CONCURRENTLY_MAX = 64;
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
  /**
   * True when the client sends this partition's commits in order in the background and the member's stop and
   * rebalances wait for them, so that the batch may end (and the next fetch go out) before its commit is answered.
   */
  readonly commitsQueued?: boolean;
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

export interface ConsumerSettings {
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  rebalanceTimeoutMs: number;
  fetchWaitMs: number;
  partitionFetchBytesMax: number;
  fetchBytesMax: number;
}

/** The consumer's options checked and defaulted, the same whichever client library runs the consumer. */
export function resolveConsumerSettings(options: KafkaConsumerOptions): ConsumerSettings {
  const dayMs = 24 * 60 * 60 * 1000;
  const sessionTimeoutMs = positiveInteger(
    "sessionTimeoutMs",
    options.sessionTimeoutMs,
    DEFAULT_SESSION_TIMEOUT_MS,
    dayMs,
  );
  return {
    sessionTimeoutMs,
    heartbeatIntervalMs: positiveInteger(
      "heartbeatIntervalMs",
      options.heartbeatIntervalMs,
      Math.min(DEFAULT_HEARTBEAT_INTERVAL_MS, Math.floor(sessionTimeoutMs / 3)),
      dayMs,
    ),
    rebalanceTimeoutMs: positiveInteger(
      "rebalanceTimeoutMs",
      options.rebalanceTimeoutMs,
      DEFAULT_REBALANCE_TIMEOUT_MS,
      dayMs,
    ),
    fetchWaitMs: positiveInteger("fetchWaitMs", options.fetchWaitMs, DEFAULT_FETCH_WAIT_MS, 60_000),
    partitionFetchBytesMax: positiveInteger(
      "partitionFetchBytesMax",
      options.partitionFetchBytesMax,
      DEFAULT_PARTITION_FETCH_BYTES_MAX,
      1024 * 1024 * 1024,
    ),
    fetchBytesMax: positiveInteger("fetchBytesMax", options.fetchBytesMax, DEFAULT_FETCH_BYTES_MAX, 1024 * 1024 * 1024),
  };
}

/** The partitions a member may work on at once, checked the same for every client library. */
export function resolveConcurrency(concurrency: number): number {
  return positiveInteger("concurrency", concurrency, 1, PARTITIONS_CONCURRENTLY_MAX);
}

/** The toolkit's consumer on kafkajs (KAFKA_CLIENT=kafkajs); native-consumer.ts has the one on Sluice's client. */
export function createKafkaConsumer(client: KafkajsSource, options: KafkaConsumerOptions): KafkaConsumer {
  let stopping = false;
  let started = false;
  const settings = resolveConsumerSettings(options);
  const config: ConsumerConfig = {
    groupId: options.groupId,
    sessionTimeout: settings.sessionTimeoutMs,
    heartbeatInterval: settings.heartbeatIntervalMs,
    rebalanceTimeout: settings.rebalanceTimeoutMs,
    maxWaitTimeInMs: settings.fetchWaitMs,
    maxBytesPerPartition: settings.partitionFetchBytesMax,
    maxBytes: settings.fetchBytesMax,
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
      const partitionsConsumedConcurrently = resolveConcurrency(concurrency);
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
}

/**
 * Reads the records a topic holds now, up to its current end, and returns them by partition and offset. It reads by
 * manual assignment through Sluice's own client, so no consumer group is joined and nothing is committed.
 * Throws UnknownTopicError when the topic does not exist.
 */
export async function readTopic(
  client: NativeSource,
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
  const reader = createPartitionReader(client, { fetchWaitMs: 100 });
  const deadlineMs = Date.now() + timeoutMs;
  const kept = new Map<number, ConsumerRecord[]>();
  try {
    const ranges = await readRanges(reader, topic, options.since);
    const pending = new Set(ranges.keys());
    for (const [partition, range] of ranges) {
      kept.set(partition, []);
      reader.assign([{ topic, partition, from: { offset: range.start } }]);
    }
    while (pending.size > 0) {
      if (Date.now() >= deadlineMs) {
        throw new ToolkitError(
          ToolkitErrorCode.TOPIC_READ_TIMED_OUT,
          `reading topic "${topic}" took longer than ${timeoutMs} ms; check that the broker is healthy, or allow ` +
            "more time",
        );
      }
      for (const record of await reader.read()) {
        const range = ranges.get(record.partition);
        const list = kept.get(record.partition);
        if (range === undefined || list === undefined || !pending.has(record.partition)) continue;
        const offset = Number(record.offset);
        if (offset < range.end && filter(record)) list.push(record);
        if (offset + 1 >= range.end || list.length >= perPartitionMax) {
          pending.delete(record.partition);
          reader.unassign([{ topic, partition: record.partition }]);
        }
      }
    }
  } finally {
    await reader.close();
  }
  return [...kept.entries()].sort(([left], [right]) => left - right).flatMap(([, records]) => records);
}

/** The offsets each non-empty partition is read between: from its start (or the first record since a time) to its end. */
async function readRanges(
  reader: KafkaPartitionReader,
  topic: string,
  since: Date | undefined,
): Promise<Map<number, { start: number; end: number }>> {
  const partitions = await reader.partitionsOf(topic);
  const ranges = new Map<number, { start: number; end: number }>();
  const offsets = await reader.offsets(
    partitions.flatMap((partition) => [
      { topic, partition, spec: "earliest" as const },
      { topic, partition, spec: "latest" as const },
      ...(since === undefined ? [] : [{ topic, partition, spec: { timestamp: since.getTime() } }]),
    ]),
  );
  const perPartition = since === undefined ? 2 : 3;
  partitions.forEach((partition, index) => {
    const low = offsets[index * perPartition]!;
    const high = offsets[index * perPartition + 1]!;
    // An offset of -1 by timestamp means no record is that recent.
    const byTime = since === undefined ? low : offsets[index * perPartition + 2]!;
    const start = byTime < 0 ? high : Math.max(low, byTime);
    if (start < high) ranges.set(partition, { start, end: high });
  });
  return ranges;
}
