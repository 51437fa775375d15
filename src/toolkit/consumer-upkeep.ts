// The inbox consumer's upkeep beside its batches: setting its topics up at start (the declared ones, their retry
// topics and dead-letter topic, with their partition counts), deleting inbox records past the retention on a timer
// that slows down while there is nothing to delete, and reading the lag gauge when the metrics are scraped.

import { deleteInboxEventsBefore } from "../store/inbox.js";
import { refreshConsumerLag, type PartitionLag } from "./consumer-metrics.js";
import {
  INBOX_CLEANUP_BATCH_SIZE,
  INBOX_CLEANUP_BATCHES_PER_RUN_MAX,
  type ResolvedConsumer,
} from "./consumer-options.js";
import { deadLetterTopicName } from "./dead-letter.js";
import { UnknownTopicError } from "./errors.js";
import { IDLE_CLEANUP_INTERVAL_MS_MAX, IdleBackoffTimer } from "../platform/idle-backoff.js";
import type { KafkaAdmin } from "./kafka/admin.js";
import { readGaugeOnCollect, throttledReader } from "./metrics.js";

/** The gauge a lag reading sets. */
const CONSUMER_LAG_GAUGE = "sluice_consumer_lag";

export class ConsumerUpkeep {
  readonly #consumer: ResolvedConsumer;
  /** Partition counts of every topic the consumer reads or writes, known once ensureTopics() ran. */
  readonly partitionCounts = new Map<string, number>();
  #cleanupTimer: IdleBackoffTimer | null = null;
  #stopReadingLag: (() => void) | null = null;
  #lagAdmin: KafkaAdmin | null = null;
  #cleaning: Promise<number> | null = null;
  #refreshingLag: Promise<PartitionLag[]> | null = null;

  constructor(consumer: ResolvedConsumer) {
    this.#consumer = consumer;
  }

  /** Creates missing topics (unless createTopics is false) and reads the partition counts of all of them. */
  async ensureTopics(): Promise<void> {
    const { client, definitions, retryTopics, options } = this.#consumer;
    const admin = client.admin();
    try {
      const specs: Array<{ name: string; partitions: number }> = [];
      for (const [name, definition] of definitions) {
        let partitions = await admin.partitionCount(name);
        if (partitions === null) {
          if (options.createTopics === false) throw new UnknownTopicError(name);
          partitions = definition.partitions;
          specs.push({ name, partitions });
        }
        // Retry and dead-letter topics get the original's partition count, so records keep their partition number.
        for (const derived of [...(retryTopics.get(name) ?? []), deadLetterTopicName(name)]) {
          specs.push({ name: derived, partitions });
        }
      }
      if (options.createTopics !== false) await admin.ensureTopics(specs);
      for (const spec of specs) {
        const count = await admin.partitionCount(spec.name);
        if (count === null) throw new UnknownTopicError(spec.name);
        this.partitionCounts.set(spec.name, count);
      }
    } finally {
      await admin.disconnect();
    }
  }

  /** Starts the periodic inbox cleanup, and has scrapes read the lag (at most once per lagRefreshIntervalMs). */
  start(): void {
    const { settings } = this.#consumer;
    const cleanupMs = settings.inboxCleanupIntervalMs;
    this.#cleanupTimer = new IdleBackoffTimer(
      cleanupMs,
      Math.max(cleanupMs, IDLE_CLEANUP_INTERVAL_MS_MAX),
      async () => {
        return (await this.#quietly(() => this.cleanInbox(), "inbox cleanup", 0)) > 0;
      },
    );
    this.#cleanupTimer.start();
    const reader = throttledReader(settings.lagRefreshIntervalMs, () =>
      this.#quietly(() => this.refreshLag(), "reading the consumer lag", []),
    );
    this.#stopReadingLag = readGaugeOnCollect(CONSUMER_LAG_GAUGE, reader);
  }

  stopTimers(): void {
    this.#cleanupTimer?.stop();
    this.#cleanupTimer = null;
    this.#stopReadingLag?.();
    this.#stopReadingLag = null;
  }

  /** Stops the timers, waits for a cleanup or refresh that is running, and closes the lag's admin connection. */
  async stop(): Promise<void> {
    this.stopTimers();
    await this.#cleaning?.catch(() => 0);
    await this.#refreshingLag?.catch(() => []);
    await this.#lagAdmin?.disconnect().catch(() => undefined);
    this.#lagAdmin = null;
  }

  /** Deletes inbox records older than the retention window now; returns how many went. */
  cleanInbox(): Promise<number> {
    const { db, groupId, metrics, settings } = this.#consumer;
    this.#cleaning ??= (async () => {
      let total = 0;
      try {
        for (let round = 0; round < INBOX_CLEANUP_BATCHES_PER_RUN_MAX; round++) {
          const deleted = await deleteInboxEventsBefore(db, {
            olderThanMs: settings.inboxRetentionMs,
            limit: INBOX_CLEANUP_BATCH_SIZE,
          });
          total += deleted;
          if (deleted < INBOX_CLEANUP_BATCH_SIZE) break;
        }
      } finally {
        if (total > 0) metrics.inboxCleaned.inc({ group: groupId }, total);
        this.#cleaning = null;
      }
      return total;
    })();
    return this.#cleaning;
  }

  /** Reads the group's lag from the broker now and updates the lag gauge. */
  refreshLag(): Promise<PartitionLag[]> {
    const { client, groupId, metrics, retryTopics } = this.#consumer;
    this.#refreshingLag ??= (async () => {
      try {
        this.#lagAdmin ??= client.admin();
        const topics = [...retryTopics].flatMap(([topic, tiers]) => [topic, ...tiers]);
        return await refreshConsumerLag(metrics, this.#lagAdmin, groupId, topics);
      } finally {
        this.#refreshingLag = null;
      }
    })();
    return this.#refreshingLag;
  }

  async #quietly<T>(task: () => Promise<T>, what: string, otherwise: T): Promise<T> {
    const { logger, groupId } = this.#consumer;
    try {
      return await task();
    } catch (error) {
      logger.warn({ err: error }, `consumer group ${groupId}: ${what} failed`);
      return otherwise;
    }
  }
}
