// The outbox relay's upkeep beside its publishing: the lag gauges, read when the metrics are scraped (at most once per
// lagIntervalMs), and the cleanup that deletes rows published longer than the retention ago, in bounded batches, on
// a timer that slows down while there is nothing to delete.

import { deletePublishedOutboxEvents, readOutboxLag, type Database, type OutboxLag } from "../store/index.js";
import { describeError } from "./errors.js";
import { IDLE_CLEANUP_INTERVAL_MS_MAX, IdleBackoffTimer } from "../platform/idle-backoff.js";
import type { ToolkitLogger } from "./logger.js";
import { publishingMetrics, readGaugeOnCollect, throttledReader, type PublishingMetrics } from "./metrics.js";

/** The gauges one lag reading sets; collecting any of them reads the lag. */
const OUTBOX_LAG_GAUGES = [
  "sluice_outbox_waiting_events",
  "sluice_outbox_in_flight_events",
  "sluice_outbox_oldest_age_seconds",
] as const;

/** Cleanup deletes at most this many batches per run, so a huge backlog cannot monopolise the database. */
export const OUTBOX_CLEANUP_BATCHES_PER_RUN_MAX = 20;

export interface OutboxUpkeepOptions {
  /** A scrape reuses a lag reading younger than this; 0 leaves the lag gauges unread. */
  lagIntervalMs: number;
  retentionMs: number;
  /** Time between cleanup runs while there are rows to delete (longer while there are none); 0: no periodic cleanup. */
  cleanupIntervalMs: number;
  cleanupBatchSize: number;
}

export class OutboxUpkeep {
  readonly #db: Database;
  readonly #relayId: string;
  readonly #options: OutboxUpkeepOptions;
  readonly #logger: ToolkitLogger;
  readonly #metrics: PublishingMetrics = publishingMetrics();
  #stopReadingLag: Array<() => void> = [];
  #cleanupTimer: IdleBackoffTimer | null = null;
  #cleanupRunning: Promise<number> | null = null;

  constructor(db: Database, relayId: string, options: OutboxUpkeepOptions, logger: ToolkitLogger) {
    this.#db = db;
    this.#relayId = relayId;
    this.#options = options;
    this.#logger = logger;
  }

  /** Has scrapes read the lag, and starts the cleanup timer. */
  start(): void {
    if (this.#options.lagIntervalMs > 0) {
      const reader = throttledReader(this.#options.lagIntervalMs, () => this.#refreshLagQuietly());
      this.#stopReadingLag = OUTBOX_LAG_GAUGES.map((name) => readGaugeOnCollect(name, reader));
    }
    if (this.#options.cleanupIntervalMs > 0) {
      const { cleanupIntervalMs } = this.#options;
      const maxMs = Math.max(cleanupIntervalMs, IDLE_CLEANUP_INTERVAL_MS_MAX);
      this.#cleanupTimer = new IdleBackoffTimer(
        cleanupIntervalMs,
        maxMs,
        async () => (await this.#cleanupQuietly()) > 0,
      );
      this.#cleanupTimer.start();
    }
  }

  /** Rows were published: the cleanup goes back to its base interval, as they will be due for deletion. */
  notePublished(): void {
    this.#cleanupTimer?.noteActivity();
  }

  /** Stops reading the lag and the cleanup timer, and waits for a cleanup that is running. */
  async stop(): Promise<void> {
    for (const stopReading of this.#stopReadingLag) stopReading();
    this.#stopReadingLag = [];
    this.#cleanupTimer?.stop();
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

  /** Returns how many rows went; 0 after a failure, which is logged. */
  async #cleanupQuietly(): Promise<number> {
    try {
      return await this.cleanup();
    } catch (error) {
      this.#logger.warn({ relayId: this.#relayId, err: error }, `outbox cleanup failed: ${describeError(error)}`);
      return 0;
    }
  }
}
