// Reads one topic from positions the caller chooses, and commits nothing. It reads by manual assignment through the
// toolkit's partition reader (no consumer group, so nothing is left behind for an operator to find): at start, and
// whenever the topic gains a partition, it asks the caller where each partition starts. One partition's records are
// handed over at a time; the next fetch begins once the caller has settled them. A failure the client gives up on
// (the broker gone for a while) is logged and the reader starts over by itself from where it was.

import { setTimeout as sleep } from "node:timers/promises";

import type { KafkaClient } from "../../toolkit/kafka/connection.js";
import type { ConsumerRecord } from "../../toolkit/kafka/consumer.js";
import { createPartitionReader, type KafkaPartitionReader } from "../../toolkit/kafka/reader.js";
import type { ToolkitLogger } from "../../toolkit/logger.js";

/** How long the reader waits before starting over after a failure. */
export const TOPIC_READER_RESTART_DELAY_MS = 1_000;
/** How often the reader looks for partitions the topic gained. */
export const TOPIC_READER_PARTITION_CHECK_MS = 10_000;

export interface BatchContext {
  /** False once the reader is stopping. */
  active(): boolean;
}

export interface TopicReaderOptions {
  kafka: KafkaClient;
  topic: string;
  /** Asked for each partition when the reader starts or finds it: the offset to read from, or null to skip it. */
  startOffset(partition: number): number | null;
  /** One partition's fetched records; the reader fetches again after this settles. */
  onRecords(partition: number, records: ConsumerRecord[], context: BatchContext): Promise<void> | void;
  /** When a partition's stored records start later than asked: read from the earliest (true) or the latest. */
  fromEarliestWhenOutOfRange: boolean;
  fetchWaitMs: number;
  partitionFetchBytesMax: number;
  logger: ToolkitLogger;
}

export interface TopicReader {
  /** Looks the topic up and starts fetching; rejects when the topic cannot be looked up. */
  start(): Promise<void>;
  /** Stops fetching one partition. */
  pause(partition: number): void;
  /** Stops fetching and waits for the records being handed over. */
  stop(): Promise<void>;
}

export function createTopicReader(options: TopicReaderOptions): TopicReader {
  const { topic, logger } = options;
  const reader: KafkaPartitionReader = createPartitionReader(options.kafka, {
    fetchWaitMs: options.fetchWaitMs,
    partitionFetchBytesMax: options.partitionFetchBytesMax,
    outOfRange: options.fromEarliestWhenOutOfRange ? "earliest" : "latest",
  });
  /** Partitions the caller was asked about, read or skipped: a partition is asked about once. */
  const known = new Set<number>();
  let stopping = false;
  let running: Promise<void> | null = null;
  let checkedAtMs = 0;
  const context: BatchContext = { active: () => !stopping };

  const addPartitions = async (): Promise<void> => {
    const partitions = await reader.partitionsOf(topic);
    checkedAtMs = Date.now();
    for (const partition of partitions) {
      if (known.has(partition)) continue;
      known.add(partition);
      const offset = options.startOffset(partition);
      if (offset !== null) reader.assign([{ topic, partition, from: { offset } }]);
    }
  };

  const loop = async (): Promise<void> => {
    while (!stopping) {
      try {
        if (Date.now() - checkedAtMs >= TOPIC_READER_PARTITION_CHECK_MS) await addPartitions();
        const records = await reader.read();
        const byPartition = new Map<number, ConsumerRecord[]>();
        for (const record of records) {
          const list = byPartition.get(record.partition) ?? [];
          list.push(record);
          byPartition.set(record.partition, list);
        }
        for (const [partition, list] of byPartition) {
          if (stopping) return;
          await options.onRecords(partition, list, context);
        }
      } catch (error) {
        if (stopping) return;
        logger.warn({ err: error, topic }, "a WebSocket gateway topic reader failed; it starts over by itself");
        await sleep(TOPIC_READER_RESTART_DELAY_MS);
      }
    }
  };

  return {
    async start() {
      if (stopping || running !== null) return;
      await addPartitions();
      if (stopping) return;
      running = loop();
    },

    pause(partition) {
      reader.unassign([{ topic, partition }]);
    },

    async stop() {
      stopping = true;
      await reader.close();
      await running;
    },
  };
}
