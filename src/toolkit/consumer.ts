// The idempotent (inbox) consumer: a consumer-group member that hands each event to a handler together with a
// database transaction. The inbox record saying "this group processed this event id" is written in that same
// transaction, so the handler's writes and the record commit together or not at all, and a redelivered event finds
// its record and is skipped. The Kafka offset is committed only after the transaction, so a crash at any point
// leads to a redelivery, never to a lost event: processing into PostgreSQL is effectively once.
//
// The consumer is built from parts, each in its own file: its options (consumer-options.ts); the batch pipeline that
// reads records, runs the group transaction with its savepoints and finishes each entry (consumer-records.ts,
// consumer-batch.ts); the failure router that sends failed events to retry topics and dead letters
// (consumer-failures.ts, beside retry.ts and dead-letter.ts); and its upkeep: topic set-up, inbox cleanup and lag
// (consumer-upkeep.ts). This file is its life: start, joining the group, stop and crash.

import type { PartitionLag } from "./consumer-metrics.js";
import { BatchPipeline } from "./consumer-batch.js";
import { FailureRouter } from "./consumer-failures.js";
import {
  DEFAULT_READY_TIMEOUT_MS,
  resolveConsumerOptions,
  SimulatedCrash,
  type ConsumerOptions,
  type ResolvedConsumer,
} from "./consumer-options.js";
import { ConsumerUpkeep } from "./consumer-upkeep.js";
import { describeError, ToolkitError, ToolkitErrorCode } from "./errors.js";
import type { KafkaConsumer } from "./kafka/consumer.js";
import type { KafkaProducer } from "./kafka/producer.js";
import { serializerFor } from "./serializer.js";
import type { Component } from "./service.js";
import type { TopicDefinition } from "./topic.js";

export {
  COMMIT_RECORDS_MAX,
  CONSUMER_GROUP_ID_CHARS_MAX,
  CONSUMER_TOPICS_MAX,
  DEFAULT_FAILURE_BACKOFF_BASE_MS,
  DEFAULT_FAILURE_BACKOFF_MAX_MS,
  DEFAULT_HANDLER_TIMEOUT_MS,
  DEFAULT_INBOX_CLEANUP_INTERVAL_MS,
  DEFAULT_INBOX_RETENTION_MS,
  DEFAULT_LAG_REFRESH_INTERVAL_MS,
  DEFAULT_READY_TIMEOUT_MS,
  EVENTS_PER_TRANSACTION_MAX,
  HANDLER_TIMEOUT_MS_MAX,
  HANDLERS_AT_ONCE_MAX,
  INBOX_CLEANUP_BATCH_SIZE,
  INBOX_CLEANUP_BATCHES_PER_RUN_MAX,
  type ConsumerCrashPoint,
  type ConsumerHookContext,
  type ConsumerHooks,
  type ConsumerOptions,
  type EventHandler,
} from "./consumer-options.js";

export type ConsumerState = "created" | "starting" | "running" | "stopping" | "stopped" | "crashed";

export interface InboxConsumer extends Component {
  readonly groupId: string;
  readonly state: ConsumerState;
  /** The retry topics this consumer reads for each of its topics, in tier order. */
  readonly retryTopics: ReadonlyMap<string, readonly string[]>;
  /** Resolves once the member has joined its group; rejects after timeoutMs or when it stops first. */
  whenReady(timeoutMs?: number): Promise<void>;
  /** Resolves when the consumer has stopped or crashed and released its connections. */
  whenStopped(): Promise<void>;
  /** Deletes inbox records older than the retention window now; returns how many went. */
  cleanInbox(): Promise<number>;
  /** Reads the group's lag from the broker now and updates the lag gauge. */
  refreshLag(): Promise<PartitionLag[]>;
  /**
   * For crash tests: the consumer behaves as if its process died now. A handler running now finishes but its
   * transaction rolls back, no further offset is committed, nothing more is processed, and the consumer disconnects
   * ("crashed" state). It returns at once (a handler may call it); whenStopped() resolves when it is down.
   */
  kill(): void;
}

function stateError(message: string): ToolkitError {
  return new ToolkitError(ToolkitErrorCode.CONSUMER_STATE_INVALID, message);
}

/**
 * Creates an inbox consumer (a Component: start() joins the group, stop() finishes the events in progress, commits
 * and leaves). Handler writes go through the tx it receives.
 */
export function createConsumer<const D extends readonly TopicDefinition<unknown>[]>(
  options: ConsumerOptions<D>,
): InboxConsumer {
  return new Consumer(resolveConsumerOptions(options));
}

/** The consumer's life: start, joining, stop, crash; the work itself is in its pipeline, router and upkeep. */
class Consumer implements InboxConsumer {
  readonly name: string;
  readonly groupId: string;
  readonly retryTopics: ReadonlyMap<string, readonly string[]>;
  readonly #consumer: ResolvedConsumer;
  readonly #upkeep: ConsumerUpkeep;
  readonly #pipeline: BatchPipeline;
  #state: ConsumerState = "created";
  #joined = false;
  #kafkaConsumer: KafkaConsumer | null = null;
  #producer: KafkaProducer | null = null;
  #readyWaiters: Array<{ resolve: () => void; reject: (error: Error) => void }> = [];
  #teardown: Promise<void> | null = null;
  #starting: Promise<void> | null = null;
  #resolveStopped: () => void = () => undefined;
  readonly #stopped = new Promise<void>((resolve) => {
    this.#resolveStopped = resolve;
  });

  constructor(consumer: ResolvedConsumer) {
    this.#consumer = consumer;
    this.groupId = consumer.groupId;
    this.name = consumer.options.name ?? `consumer:${consumer.groupId}`;
    this.retryTopics = consumer.retryTopics;
    this.#upkeep = new ConsumerUpkeep(consumer);
    const failures = new FailureRouter(consumer, () => this.#requireProducer(), this.#upkeep.partitionCounts);
    this.#pipeline = new BatchPipeline(consumer, failures, {
      halted: () => this.#halted(),
      crashed: () => this.#state === "crashed",
      crash: (error) => this.#crash(error),
      kafkaConsumer: () => this.#kafkaConsumer,
    });
  }

  get state(): ConsumerState {
    return this.#state;
  }

  get ready(): boolean {
    return this.#state === "running" && this.#joined;
  }

  async start(): Promise<void> {
    if (this.#state !== "created") {
      throw stateError(`start() was called on a consumer that is ${this.#state}; create a new one`);
    }
    this.#state = "starting";
    this.#starting = this.#begin();
    await this.#starting;
  }

  async stop(): Promise<void> {
    if (this.#state === "created") {
      this.#state = "stopped";
      this.#resolveStopped();
      return;
    }
    if (!this.#halted()) this.#state = "stopping";
    // A stop during start waits for the start to finish (or fail), so that nothing it creates is left open.
    await this.#starting?.catch(() => undefined);
    if (!this.#halted()) this.#state = "stopping";
    await this.#release();
  }

  whenReady(timeoutMs = DEFAULT_READY_TIMEOUT_MS): Promise<void> {
    const groupId = this.groupId;
    const state = this.#state;
    if (state === "running" && this.#joined) return Promise.resolve();
    if (state === "stopped" || state === "crashed" || state === "stopping") {
      return Promise.reject(stateError(`the consumer of group ${groupId} is ${state}`));
    }
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#readyWaiters = this.#readyWaiters.filter((waiter) => waiter.resolve !== done);
        reject(
          new ToolkitError(
            ToolkitErrorCode.CONSUMER_NOT_READY,
            `the consumer of group ${groupId} did not join its group within ${timeoutMs} ms; check the broker`,
          ),
        );
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        resolve();
      };
      this.#readyWaiters.push({
        resolve: done,
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
    });
  }

  whenStopped(): Promise<void> {
    return this.#stopped;
  }

  cleanInbox(): Promise<number> {
    return this.#upkeep.cleanInbox();
  }

  refreshLag(): Promise<PartitionLag[]> {
    return this.#upkeep.refreshLag();
  }

  kill(): void {
    if (this.#state === "running" || this.#state === "stopping") {
      this.#crash(new SimulatedCrash("by kill()", new Error("killed")));
    }
  }

  // A method, not an inline comparison: TypeScript would otherwise keep a narrowed state across awaits.
  #halted(): boolean {
    return this.#state !== "running";
  }

  #requireProducer(): KafkaProducer {
    if (this.#producer === null) throw stateError("the consumer has no producer; start() it first");
    return this.#producer;
  }

  #settleReadyWaiters(error: Error | null): void {
    const waiters = this.#readyWaiters;
    this.#readyWaiters = [];
    for (const waiter of waiters) {
      if (error === null) waiter.resolve();
      else waiter.reject(error);
    }
  }

  #crash(error: SimulatedCrash): void {
    if (this.#state === "crashed" || this.#state === "stopped") return;
    this.#consumer.logger.warn({ err: error }, `consumer group ${this.groupId} crashed on purpose: ${error.message}`);
    this.#state = "crashed";
    this.#joined = false;
    this.#settleReadyWaiters(
      new ToolkitError(ToolkitErrorCode.CONSUMER_CRASHED, `the consumer crashed: ${error.message}`),
    );
    // Not awaited: the Kafka consumer's stop waits for the batch that is running this very call.
    void this.#release();
  }

  #release(): Promise<void> {
    const { logger, groupId } = this.#consumer;
    this.#teardown ??= (async () => {
      this.#upkeep.stopTimers();
      const consumer = this.#kafkaConsumer;
      try {
        if (consumer !== null) {
          await consumer.stop().catch((error: unknown) => {
            logger.warn({ err: error }, `consumer group ${groupId}: leaving the group failed`);
          });
        }
      } finally {
        this.#pipeline.clearTimers();
        await this.#upkeep.stop();
        await this.#producer?.disconnect().catch(() => undefined);
        if (this.#state !== "crashed") this.#state = "stopped";
        this.#settleReadyWaiters(stateError(`the consumer of group ${groupId} stopped before it joined its group`));
        this.#resolveStopped();
      }
    })();
    return this.#teardown;
  }

  async #begin(): Promise<void> {
    const { client, definitions, definitionOfTopic, groupId, logger, options, settings } = this.#consumer;
    try {
      await this.#upkeep.ensureTopics();
      for (const definition of definitions.values()) await serializerFor(definition).prepare?.(definition);
      this.#producer = client.producer();
      await this.#producer.connect();
      const consumer = client.consumer({
        groupId,
        sessionTimeoutMs: options.sessionTimeoutMs,
        heartbeatIntervalMs: options.heartbeatIntervalMs,
        rebalanceTimeoutMs: options.rebalanceTimeoutMs,
        fetchWaitMs: options.fetchWaitMs,
      });
      this.#kafkaConsumer = consumer;
      consumer.onJoin((assignment) => {
        this.#joined = true;
        logger.info({ assignment: assignment.partitions }, `consumer group ${groupId}: joined`);
        if (this.#state === "running") this.#settleReadyWaiters(null);
      });
      consumer.onCrash((error, restarting) => {
        this.#joined = false;
        logger.error(
          { err: error, restarting },
          `consumer group ${groupId}: the Kafka consumer failed (${describeError(error)})` +
            (restarting ? "; it is rejoining the group" : ""),
        );
        if (!restarting && this.#state === "running") {
          this.#state = "crashed";
          this.#settleReadyWaiters(
            new ToolkitError(ToolkitErrorCode.CONSUMER_CRASHED, `the consumer crashed: ${error.message}`),
          );
          void this.#release();
        }
      });
      // The state must say running before the first batch arrives, which can happen before start() returns.
      this.#state = "running";
      await consumer.start({
        topics: [...definitionOfTopic.keys()],
        fromBeginning: options.fromBeginning ?? true,
        concurrency: settings.concurrency,
        eachBatch: (batch) => this.#pipeline.processBatch(batch),
      });
    } catch (error) {
      this.#state = "stopping";
      await this.#release();
      this.#state = "stopped";
      throw error;
    }
    // A crash during the first batches may have ended the consumer already.
    if (this.#halted()) return;
    if (this.#joined) this.#settleReadyWaiters(null);
    this.#upkeep.start();
    logger.info({ topics: [...definitionOfTopic.keys()] }, `consumer group ${groupId}: started`);
  }
}
