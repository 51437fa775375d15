// The inbox consumer's batch pipeline, for the records of one partition: each record is read (consumer-records.ts);
// consecutive events share one group transaction (consumer-group-transaction.ts), run at once and, when a handler
// fails, again with a savepoint per event (so that only the failed event's work is lost); after the commit each entry
// is finished (metrics, and for a failed event its retry or dead letter through the failure router); then the offset
// is committed (in the background where the client queues commits). When the database or the broker fail (not the
// handler), the partition is paused for a backoff and the same record is tried again: nothing is skipped.

import type { FailureRouter } from "./consumer-failures.js";
import { GroupTransaction, type GroupHost } from "./consumer-group-transaction.js";
import {
  COMMIT_RECORDS_MAX,
  DEFAULT_FAILURE_BACKOFF_BASE_MS,
  EVENTS_PER_TRANSACTION_MAX,
  HEARTBEAT_WHILE_HANDLING_MS,
  SimulatedCrash,
  type ResolvedConsumer,
} from "./consumer-options.js";
import { prepareRecord, prepareToDecode, type BlockingRecord, type GroupEntry } from "./consumer-records.js";
import { publishConsumerStage } from "./diagnostics.js";
import { describeError } from "./errors.js";
import type { ConsumerRecord, KafkaConsumer, PartitionBatch } from "./kafka/consumer.js";

/** What the pipeline needs of the consumer running it: its state, and its Kafka consumer to pause partitions. */
export interface PipelineHost extends GroupHost {
  /** Stops the consumer where it is, as if its process died. */
  crash(error: SimulatedCrash): void;
  kafkaConsumer(): KafkaConsumer | null;
}

function partitionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

/**
 * Events processed and skipped, by topic, counted while a group's entries are finished and added to the metrics
 * once per group: the counters hash their labels on every call, which per event was a noticeable cost.
 */
class OutcomeTally {
  readonly #consumer: ResolvedConsumer;
  readonly #counts = new Map<string, { consumed: number; skipped: number }>();

  constructor(consumer: ResolvedConsumer) {
    this.#consumer = consumer;
  }

  count(topic: string, outcome: "consumed" | "skipped"): void {
    let counts = this.#counts.get(topic);
    if (counts === undefined) this.#counts.set(topic, (counts = { consumed: 0, skipped: 0 }));
    counts[outcome] += 1;
  }

  addToMetrics(): void {
    const { metrics, groupId } = this.#consumer;
    for (const [topic, counts] of this.#counts) {
      if (counts.consumed > 0) metrics.consumed.inc({ topic, group: groupId }, counts.consumed);
      if (counts.skipped > 0) metrics.skipped.inc({ topic, group: groupId }, counts.skipped);
    }
    this.#counts.clear();
  }
}

export class BatchPipeline {
  readonly #consumer: ResolvedConsumer;
  readonly #failures: FailureRouter;
  readonly #host: PipelineHost;
  readonly #resumeTimers = new Map<string, NodeJS.Timeout>();
  readonly #failureCounts = new Map<string, number>();
  readonly #groups: GroupTransaction;

  constructor(consumer: ResolvedConsumer, failures: FailureRouter, host: PipelineHost) {
    this.#consumer = consumer;
    this.#failures = failures;
    this.#host = host;
    this.#groups = new GroupTransaction(consumer, host);
  }

  /** Cancels the resumptions of paused partitions, when the consumer stops. */
  clearTimers(): void {
    for (const timer of this.#resumeTimers.values()) clearTimeout(timer);
    this.#resumeTimers.clear();
  }

  /**
   * Tells the group every HEARTBEAT_WHILE_HANDLING_MS that the member is alive while a group's handlers run, until
   * the returned timer is cleared. A failed heartbeat is logged (the first of a run as a warning), since it may
   * mean the member is about to lose the partition to a rebalance.
   */
  #heartbeatWhileHandling(batch: PartitionBatch): NodeJS.Timeout {
    const { logger, groupId } = this.#consumer;
    let failures = 0;
    return setInterval(() => {
      batch.heartbeat().catch((error: unknown) => {
        failures += 1;
        logger[failures === 1 ? "warn" : "debug"](
          { topic: batch.topic, partition: batch.partition, failures, err: error },
          `consumer group ${groupId}: a heartbeat while handlers ran failed: ${describeError(error)}`,
        );
      });
    }, HEARTBEAT_WHILE_HANDLING_MS);
  }

  /**
   * The work on an entry after its transaction committed: metrics, the after-commit hook, and for a failed event
   * its retry or dead letter. Publishing only now means a crash before it leaves no inbox record for the failed
   * event, so the redelivery runs it again rather than losing it, and nothing is published twice. Null when the work
   * was done at once (nothing to wait for), which is every entry of a healthy consumer without hooks; the counters
   * of processed and skipped events are added to tally, which the caller adds to the metrics once per group.
   */
  #finishEntry(entry: GroupEntry, tally: OutcomeTally): Promise<void> | null {
    const { groupId, metrics, runHook } = this.#consumer;
    const prepared = entry.prepared;
    if (prepared.kind === "ignore" || entry.result === null) return null;
    const { event, origin, headers } = prepared;
    const result = entry.result;
    if (result.kind === "duplicate") {
      tally.count(origin.topic, "skipped");
      return null;
    }
    if (result.kind === "processed") {
      metrics.handlerDuration.observe({ topic: origin.topic, group: groupId, outcome: "ok" }, result.durationMs / 1000);
      if (runHook === null) {
        tally.count(origin.topic, "consumed");
        return null;
      }
      return runHook({
        point: "after-commit",
        eventId: event.id,
        topic: origin.topic,
        partition: origin.partition,
        offset: origin.offset,
      }).then(() => tally.count(origin.topic, "consumed"));
    }
    metrics.failed.inc({ topic: origin.topic, group: groupId });
    return this.#failures.routeFailure({
      record: entry.record,
      headers,
      eventId: event.id,
      origin,
      error: result.error,
    });
  }

  #pauseUntil(topic: string, partition: number, untilMs: number): void {
    const consumer = this.#host.kafkaConsumer();
    if (consumer === null || this.#host.halted()) return;
    const key = partitionKey(topic, partition);
    clearTimeout(this.#resumeTimers.get(key));
    consumer.pause(topic, partition);
    const timer = setTimeout(
      () => {
        this.#resumeTimers.delete(key);
        if (!this.#host.halted()) consumer.resume(topic, partition);
      },
      Math.max(0, untilMs - Date.now()),
    );
    this.#resumeTimers.set(key, timer);
  }

  /** Pauses a partition whose database or broker work failed, for an exponential backoff, and logs why. */
  backOff(topic: string, partition: number, error: unknown): void {
    const { settings, groupId, logger, random } = this.#consumer;
    const key = partitionKey(topic, partition);
    const failures = (this.#failureCounts.get(key) ?? 0) + 1;
    this.#failureCounts.set(key, failures);
    const exponential = DEFAULT_FAILURE_BACKOFF_BASE_MS * 2 ** Math.min(failures - 1, 30);
    const delayMs = Math.round(Math.min(settings.failureBackoffMaxMs, exponential) * (0.5 + random() / 2));
    logger.warn(
      { topic, partition, failures, delayMs, err: error },
      `consumer group ${groupId} could not finish a record of ${topic}[${partition}] (${describeError(error)}); ` +
        `trying it again in ${delayMs} ms`,
    );
    this.#pauseUntil(topic, partition, Date.now() + delayMs);
  }

  async processBatch(batch: PartitionBatch): Promise<void> {
    // Offsets are committed after the records' transactions, but once per batch (or every COMMIT_RECORDS_MAX
    // records) rather than per record: an OffsetCommit costs a broker round trip and fsync, and a record processed
    // but not yet committed when the process dies is redelivered and skipped by the inbox.
    let lastProcessed: string | null = null;
    let uncommitted = 0;
    const commitProcessed = async (): Promise<boolean> => {
      if (lastProcessed === null) return true;
      const nextOffset = (BigInt(lastProcessed) + 1n).toString();
      const key = partitionKey(batch.topic, batch.partition);
      if (batch.commitsQueued === true) {
        // The client keeps the partition's commits in order and waits for them on stop and rebalance, so the batch
        // (and the next fetch) need not wait for the broker to store this one. A crash before it is stored
        // redelivers the records, and their inbox records skip them.
        batch.markDone(lastProcessed);
        lastProcessed = null;
        uncommitted = 0;
        batch.commit(nextOffset).then(
          () => this.#failureCounts.delete(key),
          (error: unknown) => {
            if (batch.active() && !this.#host.halted()) this.backOff(batch.topic, batch.partition, error);
          },
        );
        return true;
      }
      try {
        await batch.commit(nextOffset);
      } catch (error) {
        // After a rebalance the partition belongs to another member, which redelivers the records; their inbox
        // records make that harmless. Otherwise the broker is unwell: try again later.
        if (batch.active() && !this.#host.halted()) this.backOff(batch.topic, batch.partition, error);
        return false;
      }
      // Marked done only once committed: after a failed commit the client must deliver these records again.
      batch.markDone(lastProcessed);
      lastProcessed = null;
      uncommitted = 0;
      this.#failureCounts.delete(key);
      return true;
    };
    /**
     * Counts a finished record; false when the partition's work must end here. A plain boolean when there was
     * nothing to wait for (no commit or heartbeat due), which spares most records a turn of the event loop.
     */
    const markProcessed = (offset: string, heartbeat: boolean): boolean | Promise<boolean> => {
      if (this.#host.crashed()) return false;
      lastProcessed = offset;
      uncommitted += 1;
      if (uncommitted < COMMIT_RECORDS_MAX && !heartbeat) return true;
      return (async () => {
        if (uncommitted >= COMMIT_RECORDS_MAX && !(await commitProcessed())) return false;
        if (heartbeat) await batch.heartbeat();
        return true;
      })();
    };
    const fail = async (error: unknown): Promise<void> => {
      if (error instanceof SimulatedCrash) {
        this.#host.crash(error);
        return;
      }
      if (await commitProcessed()) {
        if (!this.#host.halted()) this.backOff(batch.topic, batch.partition, error);
      }
    };
    const records = batch.records;
    publishConsumerStage("received", this.#consumer.groupId, () => records);
    if (this.#consumer.lowPriority) await new Promise((resolve) => setImmediate(resolve));
    let next = 0;
    while (next < records.length) {
      // A stopping consumer finishes the events in progress (and commits them) but starts no others.
      if (!batch.active() || this.#host.halted()) break;
      // Consecutive events share one transaction, each in its own savepoint: a COMMIT per event costs a round trip
      // and a WAL flush. A record that waits or is dead-lettered unread ends the group, so order is kept.
      const entries: GroupEntry[] = [];
      let blocker: { record: ConsumerRecord; prepared: BlockingRecord } | null = null;
      while (next < records.length && entries.length < EVENTS_PER_TRANSACTION_MAX) {
        const record = records[next];
        if (record === undefined) break;
        const preparing = prepareToDecode(this.#consumer, record);
        if (preparing !== null) await preparing;
        const prepared = prepareRecord(this.#consumer, record);
        if (prepared.kind === "wait" || prepared.kind === "reject") {
          if (entries.length === 0) {
            blocker = { record, prepared };
            next += 1;
          }
          break;
        }
        entries.push({ record, prepared, result: null });
        next += 1;
      }
      if (blocker !== null) {
        const prepared = blocker.prepared;
        if (prepared.kind === "wait") {
          if (await commitProcessed()) this.#pauseUntil(batch.topic, batch.partition, prepared.untilMs);
          return;
        }
        try {
          const { headers, eventId, origin, error, attempts } = prepared;
          await this.#failures.deadLetter({ record: blocker.record, headers, eventId, origin, error }, attempts);
        } catch (error) {
          await fail(error);
          return;
        }
        if (!(await markProcessed(blocker.record.offset, true))) return;
        continue;
      }
      let handled: number;
      const heartbeats = this.#heartbeatWhileHandling(batch);
      try {
        handled = await this.#groups.handle(batch, entries);
      } catch (error) {
        await fail(error);
        return;
      } finally {
        clearInterval(heartbeats);
      }
      publishConsumerStage("committed", this.#consumer.groupId, () =>
        entries.slice(0, handled).map((entry) => entry.record),
      );
      // A heartbeat after the group's last entry, and after each failed one, which waited for the broker to take its
      // retry or dead letter; the others finish in moments.
      const tally = new OutcomeTally(this.#consumer);
      try {
        for (let index = 0; index < handled; index++) {
          const entry = entries[index]!;
          try {
            const finishing = this.#finishEntry(entry, tally);
            if (finishing !== null) await finishing;
          } catch (error) {
            await fail(error);
            return;
          }
          const heartbeat = index === handled - 1 || entry.result?.kind === "failed";
          const marking = markProcessed(entry.record.offset, heartbeat);
          const goOn = typeof marking === "boolean" ? marking : await marking;
          if (!goOn) return;
        }
      } finally {
        tally.addToMetrics();
      }
      if (handled < entries.length) break;
    }
    // A crash (a dead process) commits nothing; a graceful stop commits what it finished.
    if (!this.#host.crashed()) await commitProcessed();
  }
}
