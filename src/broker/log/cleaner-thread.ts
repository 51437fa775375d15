// The broker's side of the log cleaner's worker thread (cleaner-worker.ts): starts the worker when first needed
// (with a bounded heap), hands it one cleaning at a time, and swaps each cleaned group it reports into the log on the
// broker's serial path. stop() ends a cleaning in progress at its next slice, waits for it and ends the worker.

import { Worker } from "node:worker_threads";
import type { Logger } from "pino";
import type { AbortedRange, CleanerLimits, CleaningOutcome } from "./cleaner.js";
import type { CleanerWorkerData, CleanerWorkerReply, CleanerWorkerRequest } from "./cleaner-worker.js";
import { FileSegmentStorage } from "./file-storage.js";
import type { CleanableLog, PartitionLog } from "./partition-log.js";
import { LogSegment } from "./segment.js";

const STOP_FLAG = 0;

interface RunningJob {
  jobId: number;
  log: PartitionLog;
  view: CleanableLog;
  removedAtStart: number;
  forgetAborted: (ranges: readonly AbortedRange[]) => Promise<void>;
  resolve: (outcome: CleaningOutcome) => void;
  reject: (error: Error) => void;
}

/**
 * Whether the worker can clean this log: it opens the log's directory itself, so only plain disk storage qualifies
 * (memory, or storage a test substitutes, stays on the broker's thread).
 */
export function cleanableInWorker(view: CleanableLog): boolean {
  return Object.getPrototypeOf(view.storage) === FileSegmentStorage.prototype;
}

export class CleanerThread {
  private worker: Worker | null = null;
  private readonly flags = new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT));
  private job: RunningJob | null = null;
  private jobs = 0;

  constructor(
    private readonly logger: Logger,
    private readonly heapMb: number,
    private readonly nice: number,
    private ioBytesPerSecondMax: number,
  ) {}

  /** Changes the I/O limit, for a cleaning in progress too. */
  setIoBytesPerSecondMax(bytesPerSecond: number): void {
    this.ioBytesPerSecondMax = bytesPerSecond;
    this.worker?.postMessage({ kind: "throttle", ioBytesPerSecondMax: bytesPerSecond } satisfies CleanerWorkerRequest);
  }

  /** Cleans the log in the worker; resolves once the last group is swapped in (or the cleaning ends early). */
  clean(
    log: PartitionLog,
    view: CleanableLog,
    limits: CleanerLimits,
    nowMs: number,
    abortedTxns: readonly AbortedRange[],
    forgetAborted: (ranges: readonly AbortedRange[]) => Promise<void>,
  ): Promise<CleaningOutcome> {
    if (Atomics.load(this.flags, STOP_FLAG) === 1) return Promise.resolve({ kind: "abandoned" });
    if (this.job !== null) return Promise.reject(new Error("the cleaner's worker is busy"));
    const worker = this.started();
    const jobId = ++this.jobs;
    const request: CleanerWorkerRequest = {
      kind: "clean",
      jobId,
      dir: view.storage.location,
      job: {
        segments: view.segments.map(({ baseOffset, sizeBytes, createdAtMs, lastAppendMs }) => ({
          baseOffset,
          sizeBytes,
          createdAtMs,
          lastAppendMs,
        })),
        nextBaseOffsets: view.nextBaseOffsets,
        firstDirtyOffset: view.firstDirtyOffset,
        config: {
          segmentBytesMax: view.config.segmentBytesMax,
          deleteRetentionMs: view.config.deleteRetentionMs,
          indexIntervalBytes: view.config.indexIntervalBytes,
        },
        nowMs,
        dedupeBufferBytes: limits.dedupeBufferBytes,
        sliceMs: limits.sliceMs,
        abortedTxns,
      },
    };
    return new Promise<CleaningOutcome>((resolve, reject) => {
      this.job = { jobId, log, view, removedAtStart: log.segmentsRemoved, forgetAborted, resolve, reject };
      // A cleaning in progress keeps the process alive, as one on the broker's thread would; an idle worker does not.
      worker.ref();
      worker.postMessage(request);
    });
  }

  /** Ends a cleaning in progress at its next slice, waits for it to leave the log whole, and ends the worker. */
  async stop(): Promise<void> {
    Atomics.store(this.flags, STOP_FLAG, 1);
    const worker = this.worker;
    this.worker = null;
    if (worker === null) return;
    if (this.job !== null) {
      const ended = new Promise<void>((resolve) => {
        const job = this.job!;
        const { resolve: done, reject } = job;
        job.resolve = (outcome) => {
          done(outcome);
          resolve();
        };
        job.reject = (error) => {
          reject(error);
          resolve();
        };
      });
      await ended;
    }
    await worker.terminate();
  }

  private started(): Worker {
    if (this.worker !== null) return this.worker;
    const worker = new Worker(new URL("./cleaner-worker.js", import.meta.url), {
      workerData: {
        flags: this.flags,
        nice: this.nice,
        ioBytesPerSecondMax: this.ioBytesPerSecondMax,
      } satisfies CleanerWorkerData,
      resourceLimits: { maxOldGenerationSizeMb: this.heapMb },
    });
    worker.unref();
    worker.on("message", (reply: CleanerWorkerReply) => this.received(worker, reply));
    worker.on("error", (error) => this.ended(worker, error));
    worker.on("exit", (code) => this.ended(worker, new Error(`the cleaner's worker exited with code ${code}`)));
    this.worker = worker;
    return worker;
  }

  private received(worker: Worker, reply: CleanerWorkerReply): void {
    const job = this.job;
    if (job === null || job.jobId !== reply.jobId) return;
    switch (reply.kind) {
      case "install": {
        void this.install(job, reply).then((ok) =>
          worker.postMessage({ kind: "installed", jobId: job.jobId, ok } satisfies CleanerWorkerRequest),
        );
        return;
      }
      case "done":
        this.job = null;
        worker.unref();
        job.resolve(reply.outcome);
        return;
      case "failed":
        this.job = null;
        worker.unref();
        job.reject(new Error(reply.message));
        return;
    }
  }

  /** Swaps a cleaned group in; false (the worker then removes it) when the log changed or closed meanwhile. */
  private async install(job: RunningJob, reply: Extract<CleanerWorkerReply, { kind: "install" }>): Promise<boolean> {
    const { log, view } = job;
    const group = view.segments.slice(reply.first, reply.first + reply.count);
    // Like a cleaning on the broker's thread, any removal of segments (DeleteRecords) ends this one.
    const unchanged = (): boolean => !log.isClosed && log.segmentsRemoved === job.removedAtStart;
    if (!unchanged() || !log.hasSegments(group)) return false;
    try {
      await job.forgetAborted(reply.forgotten);
    } catch (error) {
      this.logger.error({ err: error, location: view.storage.location }, "aborted transactions could not be forgotten");
      return false;
    }
    if (!unchanged()) return false;
    let cleaned: LogSegment;
    try {
      cleaned = LogSegment.adoptCleaned(view.storage, reply.swapName, reply.state);
    } catch (error) {
      this.logger.error({ err: error, location: view.storage.location }, "cleaned segment could not be adopted");
      return false;
    }
    const replaced = log.replaceSegments(group, cleaned, reply.swapName);
    if (!replaced) cleaned.close();
    return replaced;
  }

  private ended(worker: Worker, error: Error): void {
    if (this.worker === worker) this.worker = null;
    const job = this.job;
    this.job = null;
    job?.reject(error);
  }
}
