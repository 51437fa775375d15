// Reads one topic from positions the caller chooses, and commits nothing. kafkajs reads only as a member of a
// consumer group, so each reader joins a throwaway group of its own; at every (re)join it asks the caller where each
// assigned partition starts and seeks there, so that the caller, not the group, owns the read position. The group
// never holds committed offsets and is deleted when the reader stops. This is the one file of the WebSocket gateway
// that uses the Kafka client library directly, because the toolkit's consumer does not seek.

import { randomUUID } from "node:crypto";

import type { Consumer } from "kafkajs";

import type { KafkaClient } from "../../toolkit/kafka/connection.js";
import { toConsumerRecord, type ConsumerRecord } from "../../toolkit/kafka/consumer.js";
import type { ToolkitLogger } from "../../toolkit/logger.js";

export interface BatchContext {
  /** Tells the group the reader is alive while a batch takes long (a client being slow to take a replay). */
  heartbeat(): Promise<void>;
  /** False once the reader is stopping. */
  active(): boolean;
}

export interface TopicReaderOptions {
  kafka: KafkaClient;
  topic: string;
  /** Names the throwaway group, so that an operator listing groups sees what it is. */
  groupIdPrefix: string;
  /** Asked at every (re)join for each assigned partition: the offset to read from, or null to leave it paused. */
  startOffset(partition: number): number | null;
  /** One partition's fetched records; that partition is fetched again after this settles. */
  onRecords(partition: number, records: ConsumerRecord[], context: BatchContext): Promise<void> | void;
  /** When a partition's stored records start later than asked: read from the earliest (true) or the latest. */
  fromEarliestWhenOutOfRange: boolean;
  fetchWaitMs: number;
  partitionFetchBytesMax: number;
  logger: ToolkitLogger;
}

export interface TopicReader {
  readonly groupId: string;
  /** Joins the group and starts fetching; resolves once the reader is running, before its first join completes. */
  start(): Promise<void>;
  /** Stops fetching one partition (until the next rejoin asks startOffset again). */
  pause(partition: number): void;
  /** Stops fetching, leaves and deletes the group. */
  stop(): Promise<void>;
}

export function createTopicReader(options: TopicReaderOptions): TopicReader {
  const { topic, logger } = options;
  const kafka = options.kafka.raw();
  const groupId = `${options.groupIdPrefix}-${randomUUID()}`;
  let stopping = false;
  let stopped: Promise<void> | null = null;
  const consumer: Consumer = kafka.consumer({
    groupId,
    maxWaitTimeInMs: options.fetchWaitMs,
    maxBytesPerPartition: options.partitionFetchBytesMax,
    allowAutoTopicCreation: false,
    // After a failure kafkajs gives up on (the broker gone for a while), it starts over unless the reader is stopping.
    retry: { restartOnFailure: async () => !stopping },
  });

  const disconnectQuietly = async (): Promise<void> => {
    await consumer.disconnect().catch((error: unknown) => {
      logger.debug({ err: error, groupId }, "a WebSocket gateway topic reader did not disconnect cleanly");
    });
  };

  // GROUP_JOIN is emitted before the first fetch of the new generation, so seeks made here decide where it reads.
  consumer.on(consumer.events.GROUP_JOIN, (event) => {
    const assigned = event.payload.memberAssignment[topic] ?? [];
    for (const partition of assigned) {
      const offset = options.startOffset(partition);
      if (offset === null) {
        consumer.pause([{ topic, partitions: [partition] }]);
      } else {
        consumer.resume([{ topic, partitions: [partition] }]);
        consumer.seek({ topic, partition, offset: String(offset) });
      }
    }
  });
  consumer.on(consumer.events.CRASH, (event) => {
    if (stopping) return;
    const error = event.payload.error;
    logger.warn(
      { err: error, topic, groupId, restarting: event.payload.restart },
      "a WebSocket gateway topic reader failed; it starts over by itself",
    );
  });

  return {
    groupId,

    async start() {
      // A stop() during a step disconnects at once; each step checks for it, so a late step does not reconnect.
      await consumer.connect();
      if (stopping) return disconnectQuietly();
      await consumer.subscribe({ topics: [topic], fromBeginning: options.fromEarliestWhenOutOfRange });
      if (stopping) return disconnectQuietly();
      await consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch, heartbeat, isRunning }) => {
          if (stopping || batch.messages.length === 0) return;
          const records = batch.messages.map((message) => toConsumerRecord(topic, batch.partition, message));
          await options.onRecords(batch.partition, records, {
            heartbeat,
            active: () => isRunning() && !stopping,
          });
        },
      });
      if (stopping) await disconnectQuietly();
    },

    pause(partition) {
      if (stopping) return;
      consumer.pause([{ topic, partitions: [partition] }]);
    },

    stop() {
      stopped ??= (async () => {
        stopping = true;
        await disconnectQuietly();
        const admin = kafka.admin();
        try {
          await admin.connect();
          await admin.deleteGroups([groupId]);
        } catch (error) {
          // The group committed nothing, so one left behind only shows in group listings until the broker drops it.
          logger.debug({ err: error, groupId }, "could not delete a WebSocket gateway reader's throwaway group");
        } finally {
          await admin.disconnect().catch(() => undefined);
        }
      })();
      return stopped;
    },
  };
}
