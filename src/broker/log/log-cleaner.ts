// The background log cleaner: one cleaner (Kafka's log.cleaner.threads=1) that, every backoff interval, cleans the
// compacted logs that need it, filthiest first, one at a time. A log on disk is cleaned in a worker thread
// (cleaner-thread.ts), only the swap of each cleaned group into the log runs on the broker's thread; a log in memory
// is cleaned in slices between the broker's other work (see cleaner.ts).

import type { Logger } from "pino";
import { performance } from "node:perf_hooks";
import {
  cleanLog,
  dirtyRatio,
  finishCleaning,
  needsCleaning,
  type AbortedRange,
  type CleanerLimits,
} from "./cleaner.js";
import { cleanableInWorker, CleanerThread } from "./cleaner-thread.js";
import type { PartitionLog } from "./partition-log.js";
import {
  LOG_CLEANER_BACKOFF_MS,
  LOG_CLEANER_DEDUPE_BUFFER_BYTES,
  LOG_CLEANER_IO_BYTES_PER_SECOND_MAX,
  LOG_CLEANER_THREAD_NICE,
  LOG_CLEANER_WORKER_HEAP_MB,
} from "../config.js";
/** How long the cleaner works before letting requests run. */
export const LOG_CLEANER_SLICE_MS = 1;

export interface CleanerLogEntry {
  log: PartitionLog;
  topic: string;
  partition: number;
  /** The partition's aborted transactions, whose batches the cleaning removes. */
  abortedTxns?: () => readonly AbortedRange[];
  /** The partition's last stable offset: nothing from the segment holding it on is cleaned. */
  lastStableOffset?: () => number;
  /**
   * Forgets aborted transactions whose markers a cleaning removes, before the cleaned group is swapped in (their
   * batches are gone already, so forgetting them early, or for a swap that then fails, hides nothing).
   */
  forgetAborted?: (ranges: readonly AbortedRange[]) => Promise<void>;
}

export interface LogCleanerOptions extends Partial<CleanerLimits> {
  /** The logs to consider; asked afresh at every pass. */
  logs: () => Iterable<CleanerLogEntry>;
  backoffMs?: number;
  /** The worker thread's old-generation heap limit. */
  workerHeapMb?: number;
  /** The worker thread's nice value (Linux). */
  threadNice?: number;
  logger: Logger;
  now?: () => number;
}

export interface LogCleanerStats {
  runs: number;
  bytesRead: number;
  bytesWritten: number;
  recordsRead: number;
  recordsKept: number;
  /** Wall time spent in cleanings, slices and the gaps between them included. */
  cleaningMs: number;
}

export class LogCleaner {
  readonly stats: LogCleanerStats = {
    runs: 0,
    bytesRead: 0,
    bytesWritten: 0,
    recordsRead: 0,
    recordsKept: 0,
    cleaningMs: 0,
  };
  private readonly limits: CleanerLimits;
  private readonly backoffMs: number;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<number> | null = null;
  private stopped = false;
  private readonly thread: CleanerThread;

  constructor(private readonly options: LogCleanerOptions) {
    this.thread = new CleanerThread(
      options.logger,
      options.workerHeapMb ?? LOG_CLEANER_WORKER_HEAP_MB,
      options.threadNice ?? LOG_CLEANER_THREAD_NICE,
      options.ioBytesPerSecondMax ?? LOG_CLEANER_IO_BYTES_PER_SECOND_MAX,
    );
    this.limits = {
      dedupeBufferBytes: options.dedupeBufferBytes ?? LOG_CLEANER_DEDUPE_BUFFER_BYTES,
      sliceMs: options.sliceMs ?? LOG_CLEANER_SLICE_MS,
      ioBytesPerSecondMax: options.ioBytesPerSecondMax ?? LOG_CLEANER_IO_BYTES_PER_SECOND_MAX,
    };
    this.backoffMs = options.backoffMs ?? LOG_CLEANER_BACKOFF_MS;
    this.now = options.now ?? Date.now;
  }

  start(): void {
    this.schedule();
  }

  /** The I/O limit in bytes a second (log.cleaner.io.max.bytes.per.second). */
  get ioBytesPerSecondMax(): number {
    return this.limits.ioBytesPerSecondMax;
  }

  /** Changes the I/O limit at run time; a cleaning in progress follows it from its next chunk. */
  setIoBytesPerSecondMax(bytesPerSecond: number): void {
    this.limits.ioBytesPerSecondMax = bytesPerSecond;
    this.thread.setIoBytesPerSecondMax(bytesPerSecond);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.cleanNow().finally(() => this.schedule());
    }, this.backoffMs);
    this.timer.unref();
  }

  /**
   * Cleans every log that needs it, filthiest first, and resolves with how many cleanings completed. A call while
   * a pass runs waits for that pass and then makes its own, so what was written before the call gets considered.
   */
  cleanNow(): Promise<number> {
    const previous = this.running ?? Promise.resolve(0);
    const pass = previous.then(() => this.pass());
    this.running = pass.finally(() => {
      if (this.running === pass) this.running = null;
    });
    return pass;
  }

  private async pass(): Promise<number> {
    let cleanings = 0;
    const tried = new Set<PartitionLog>();
    while (!this.stopped) {
      const nowMs = this.now();
      let filthiest: { entry: CleanerLogEntry; ratio: number } | null = null;
      for (const entry of this.options.logs()) {
        if (tried.has(entry.log)) continue;
        const view = entry.log.cleanable(nowMs, entry.lastStableOffset?.());
        if (view === null || !needsCleaning(view, nowMs)) continue;
        const { ratio } = dirtyRatio(view);
        if (filthiest === null || ratio > filthiest.ratio) filthiest = { entry, ratio };
      }
      if (filthiest === null) return cleanings;
      tried.add(filthiest.entry.log);
      if (await this.cleanOne(filthiest.entry)) cleanings++;
    }
    return cleanings;
  }

  private async cleanOne(entry: CleanerLogEntry): Promise<boolean> {
    const { log, topic, partition } = entry;
    const view = log.cleanable(this.now(), entry.lastStableOffset?.());
    if (view === null) return false;
    const started = performance.now();
    log.cleaning = true;
    try {
      const aborted = entry.abortedTxns?.() ?? [];
      const forget = entry.forgetAborted ?? (() => Promise.resolve());
      const result = cleanableInWorker(view)
        ? finishCleaning(
            log,
            view,
            this.limits,
            await this.thread.clean(log, view, this.limits, this.now(), aborted, forget),
          )
        : await cleanLog(log, view, this.limits, this.now, () => this.stopped, aborted, forget);
      if (result === null) return false;
      const elapsedMs = performance.now() - started;
      this.stats.runs++;
      this.stats.bytesRead += result.bytesRead;
      this.stats.bytesWritten += result.bytesWritten;
      this.stats.recordsRead += result.recordsRead;
      this.stats.recordsKept += result.recordsKept;
      this.stats.cleaningMs += elapsedMs;
      this.options.logger.info(
        { topic, partition, ...result, elapsedMs: Math.round(elapsedMs) },
        "log cleaner compacted a partition",
      );
      return true;
    } catch (error) {
      if (log.isClosed) return false;
      this.options.logger.error({ err: error, topic, partition }, "log cleaning failed; it is retried next pass");
      return false;
    } finally {
      log.cleaning = false;
    }
  }

  /** Stops scheduling and waits for a cleaning in progress to reach a safe point. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    await this.thread.stop();
    await this.running?.catch(() => undefined);
  }
}
