// The log cleaner's worker thread: cleans one log at a time (cleaner.ts's cleanSegments) off the broker's thread, so
// that reading segments, building the key map and writing cleaned segments never hold up produce or fetch. It reads
// the sealed segments through descriptors of its own, opened read-only when a job starts (a segment the broker
// removes meanwhile stays readable and is refused at the swap), writes each cleaned group under its swap name and
// asks the broker's thread to swap it in. A stop flag shared with the broker ends a cleaning at its next slice; a
// changed I/O limit arrives as a message, taken between chunks (a throttle pause lets it through).

import { closeSync, constants, openSync, readlinkSync, readSync } from "node:fs";
import { setPriority } from "node:os";
import { join } from "node:path";
import { parentPort, workerData } from "node:worker_threads";
import {
  cleanSegments,
  type AbortedRange,
  type CleaningJob,
  type CleaningOutcome,
  type SourceSegment,
} from "./cleaner.js";
import { FileSegmentStorage } from "./file-storage.js";
import { segmentFileName, type CleanedSegmentState } from "./segment.js";

/** What the broker sends: a job, the answer to a swap the worker asked for, or a new I/O limit. */
export type CleanerWorkerRequest =
  | { kind: "clean"; jobId: number; dir: string; job: Omit<CleaningJob, "segments"> & { segments: SegmentInfo[] } }
  | { kind: "installed"; jobId: number; ok: boolean }
  | { kind: "throttle"; ioBytesPerSecondMax: number };

/** What the worker sends: a cleaned group to swap in, or the end of a job. */
export type CleanerWorkerReply =
  | {
      kind: "install";
      jobId: number;
      first: number;
      count: number;
      swapName: string;
      state: CleanedSegmentState;
      forgotten: AbortedRange[];
    }
  | { kind: "done"; jobId: number; outcome: CleaningOutcome }
  | { kind: "failed"; jobId: number; message: string };

export type SegmentInfo = Omit<SourceSegment, "file" | "name">;

/** Index 0 of the shared flags: set to 1 when the broker shuts down. */
export const STOP_FLAG = 0;

export interface CleanerWorkerData {
  flags: Int32Array;
  /** This thread's nice value (LOG_CLEANER_THREAD_NICE). */
  nice: number;
  /** The I/O limit at start, in bytes a second (log.cleaner.io.max.bytes.per.second). */
  ioBytesPerSecondMax: number;
}

/**
 * Lowers this thread's priority: on Linux a thread has a nice value of its own, set through its thread id. Only a
 * higher value (a lower priority) is asked for, which needs no privilege; where it cannot be set the cleaner runs
 * at the broker's priority.
 */
function lowerPriority(nice: number): void {
  if (nice <= 0 || process.platform !== "linux") return;
  try {
    const threadId = Number(readlinkSync("/proc/thread-self").split("/").at(-1));
    setPriority(threadId, nice);
  } catch {
    // Without /proc or the permission, the cleaner keeps the broker's priority.
  }
}

const port = parentPort!;
const { flags, nice } = workerData as CleanerWorkerData;
let { ioBytesPerSecondMax } = workerData as CleanerWorkerData;
lowerPriority(nice);
let installed: ((ok: boolean) => void) | null = null;

function readOnlySegment(dir: string, info: SegmentInfo): SourceSegment & { fd: number } {
  const name = segmentFileName(info.baseOffset, ".log");
  const fd = openSync(join(dir, name), constants.O_RDONLY);
  return {
    ...info,
    name,
    fd,
    file: {
      readInto(target: Buffer, position: number): number {
        const available = Math.max(0, Math.min(target.length, info.sizeBytes - position));
        let filled = 0;
        while (filled < available) {
          const count = readSync(fd, target, filled, available - filled, position + filled);
          if (count === 0) break;
          filled += count;
        }
        return filled;
      },
    },
  };
}

async function clean(request: Extract<CleanerWorkerRequest, { kind: "clean" }>): Promise<CleaningOutcome> {
  const { jobId, dir } = request;
  const segments: Array<SourceSegment & { fd: number }> = [];
  try {
    for (const info of request.job.segments) segments.push(readOnlySegment(dir, info));
  } catch (error) {
    for (const segment of segments) closeSync(segment.fd);
    // A segment removed before the job started: the log changed, and the next pass looks again.
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { kind: "abandoned" };
    throw error;
  }
  try {
    return await cleanSegments(
      { ...request.job, segments },
      {
        storage: new FileSegmentStorage(dir),
        abandoned: () => Atomics.load(flags, STOP_FLAG) === 1,
        ioBytesPerSecondMax: () => ioBytesPerSecondMax,
        install: async (first, count, cleaned, swapName, forgotten) => {
          const answered = new Promise<boolean>((resolve) => (installed = resolve));
          const reply: CleanerWorkerReply = {
            kind: "install",
            jobId,
            first,
            count,
            swapName,
            state: cleaned.cleanedState(),
            forgotten,
          };
          port.postMessage(reply);
          const ok = await answered;
          // The broker's thread holds the swapped-in segment now, through a descriptor of its own.
          if (ok) cleaned.close();
          return ok;
        },
      },
    );
  } finally {
    for (const segment of segments) closeSync(segment.fd);
  }
}

port.on("message", (request: CleanerWorkerRequest) => {
  if (request.kind === "throttle") {
    ioBytesPerSecondMax = request.ioBytesPerSecondMax;
    return;
  }
  if (request.kind === "installed") {
    const resolve = installed;
    installed = null;
    resolve?.(request.ok);
    return;
  }
  clean(request).then(
    (outcome) => port.postMessage({ kind: "done", jobId: request.jobId, outcome } satisfies CleanerWorkerReply),
    (error: unknown) =>
      port.postMessage({
        kind: "failed",
        jobId: request.jobId,
        message: error instanceof Error ? error.message : String(error),
      } satisfies CleanerWorkerReply),
  );
});
