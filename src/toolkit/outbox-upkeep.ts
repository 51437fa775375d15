// The outbox relay's upkeep beside its publishing: the lag gauges, refreshed on a timer, and the cleanup that deletes
// rows published longer than the retention ago, in bounded batches.

import { deletePublishedOutboxEvents, readOutboxLag, type Database, type OutboxLag } from "../store/index.js";
import { describeError } from "./errors.js";
import type { ToolkitLogger } from "./logger.js";
import { publishingMetrics, type PublishingMetrics } from "./metrics.js";

/** Cleanup deletes at most this many batches per run, so a huge backlog cannot monopolise the database. */
export const OUTBOX_CLEANUP_BATCHES_PER_RUN_MAX = 20;

export interface OutboxUpkeepOptions {
  /** Time between refreshes of the lag gauges; 0 turns the refresh off. */
  lagIntervalMs: number;
  retentionMs: number;
  /** Time between cleanup runs; 0 turns periodic cleanup off. */
  cleanupIntervalMs: number;
  cleanupBatchSize: number;
}

export class OutboxUpkeep {
  readonly #db: Database;
  readonly #relayId: string;
  readonly #options: OutboxUpkeepOptions;
  readonly #logger: ToolkitLogger;
  readonly #metrics: PublishingMetrics = publishingMetrics();
  #lagTimer: NodeJS.Timeout | null = null;
  #cleanupTimer: NodeJS.Timeout | null = null;
  #cleanupRunning: Promise<number> | null = null;

  constructor(db: Database, relayId: string, options: OutboxUpkeepOptions, logger: ToolkitLogger) {
    this.#db = db;
    this.#relayId = relayId;
    this.#options = options;
    this.#logger = logger;
  }

  /** Starts the timers; the lag is read at once. */
  start(): void {
    if (this.#options.lagIntervalMs > 0) {
      this.#lagTimer = setInterval(() => void this.#refreshLagQuietly(), this.#options.lagIntervalMs);
      this.#lagTimer.unref();
      void this.#refreshLagQuietly();
    }
    if (this.#options.cleanupIntervalMs > 0) {
      this.#cleanupTimer = setInterval(() => void this.#cleanupQuietly(), this.#options.cleanupIntervalMs);
      this.#cleanupTimer.unref();
    }
  }

  /** Stops the timers and waits for a cleanup that is running. */
  async stop(): Promise<void> {
    if (this.#lagTimer !== null) clearInterval(this.#lagTimer);
    if (this.#cleanupTimer !== null) clearInterval(this.#cleanupTimer);
    this.#lagTimer = null;
    this.#cleanupTimer = null;
    await this.#cleanupRunning?.catch(() => 0);
  }

  /** Reads the outbox lag now and updates the gauges. */
  async refreshLag(): Promise<OutboxLag> {
    const lag = await readOutboxLag(this.#db);
    const labels = { schema: this.#db.schema };
    this.#metrics.outboxWaiting.set(labels, lag.waiting);
    this.#metrics.outboxInFlight.set(labels, lag.inFlight);
    this.#metrics.outboxOldestAge.set(labels, (lag.oldestAgeMs ?? 0) / 1000);
    return lag;
  }

  /**
   * Deletes rows published more than retentionMs ago, in batches of cleanupBatchSize, up to
   * OUTBOX_CLEANUP_BATCHES_PER_RUN_MAX batches. Returns how many rows went.
   */
  cleanup(): Promise<number> {
    this.#cleanupRunning ??= this.#cleanupOnce().finally(() => {
      this.#cleanupRunning = null;
    });
    return this.#cleanupRunning;
  }

  async #cleanupOnce(): Promise<number> {
    let total = 0;
    for (let round = 0; round < OUTBOX_CLEANUP_BATCHES_PER_RUN_MAX; round += 1) {
      const deleted = await deletePublishedOutboxEvents(this.#db, {
        olderThanMs: this.#options.retentionMs,
        limit: this.#options.cleanupBatchSize,
      });
      total += deleted;
      if (deleted < this.#options.cleanupBatchSize) break;
    }
    if (total > 0) {
      this.#metrics.outboxCleaned.inc({ schema: this.#db.schema }, total);
      this.#logger.debug({ relayId: this.#relayId, deleted: total }, "outbox cleanup deleted published rows");
    }
    return total;
  }

  async #refreshLagQuietly(): Promise<void> {
    try {
      await this.refreshLag();
    } catch (error) {
      this.#logger.debug({ relayId: this.#relayId, err: error }, "reading the outbox lag failed");
    }
  }

  async #cleanupQuietly(): Promise<void> {
    try {
      await this.cleanup();
    } catch (error) {
      this.#logger.warn({ relayId: this.#relayId, err: error }, `outbox cleanup failed: ${describeError(error)}`);
    }
  }
}
