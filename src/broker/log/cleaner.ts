// One cleaning of one compacted partition log, as Kafka's log cleaner does it: summarize the dirty part (the latest
// offset of every key, in a map of bounded size), then recopy the cleanable segments from the log start, group by
// group, keeping a record only if no later record has its key, and swap each cleaned group in. Offsets never change;
// whole batches may disappear, leaving gaps. Committed transactions' records are compacted like any others, the
// batches of aborted transactions go, and a transaction's marker goes once nothing of its transaction is left
// (cleaner-txns.ts). Tombstones and removable markers are kept until delete.retention.ms after the cleaner first
// reached them (their batch then carries the delete horizon), so consumers that catch up in time still see them.
// The cleaning itself (cleanSegments) knows nothing of the log it cleans: a file-backed log is cleaned in a worker
// thread (cleaner-thread.ts), which hands each cleaned group back to the broker to swap in; a log in memory is cleaned
// on the broker's thread (cleanLog), in slices of a few milliseconds between which produce and fetch keep flowing.

import { performance } from "node:perf_hooks";
import { UnsupportedCompressionError } from "../../kafka/protocol/compression/index.js";
import { ProtocolDecodeError } from "../../kafka/protocol/primitives.js";
import {
  RECORD_BATCH_HEADER_BYTES,
  batchBytesOf,
  isControlBatch,
  readBatchHeader,
  type RecordBatchHeader,
} from "../../kafka/protocol/record-batch.js";
import {
  hasDeleteHorizon,
  readRawRecords,
  rebuildBatch,
  scanRecords,
} from "../../kafka/protocol/record-batch-rewrite.js";
import { OffsetMap } from "./offset-map.js";
import type { CleanableLog, PartitionLog } from "./partition-log.js";
import type { ResolvedLogConfig } from "./log-config.js";
import type { SegmentStorage } from "./storage.js";
import { LogSegment } from "./segment.js";
import { LogStorageError } from "./storage.js";
import { cleanedFileName, swapFileName } from "./segment-swap.js";
import { CleanerTxnWalk, markerType, type AbortedRange } from "./cleaner-txns.js";
import { CleanerThrottle } from "./cleaner-throttle.js";

export type { AbortedRange } from "./cleaner-txns.js";

/** Bytes the cleaner reads at a time: small enough that one read never holds up requests for long. */
const CLEANER_READ_BYTES = 256 * 1024;
/** Relative offsets are int32 in the indexes, so one cleaned segment may span at most this many offsets. */
const SEGMENT_OFFSET_SPAN_MAX = 0x7fffffff;

export interface CleanerLimits {
  /** The most memory the offset map may take (Kafka's log.cleaner.dedupe.buffer.size). */
  dedupeBufferBytes: number;
  /** The longest the cleaner works before giving the event loop back. */
  sliceMs: number;
  /** The most bytes a second the cleaner reads and writes (log.cleaner.io.max.bytes.per.second); changeable. */
  ioBytesPerSecondMax: number;
}

/** Thrown out of a cleaning when the log closed or the cleaner stopped; the log is left as it was. */
class CleaningAbandoned extends Error {}

/** A sealed segment as the cleaning reads it: a LogSegment, or in the worker a read-only file of one. */
export interface SourceSegment {
  readonly baseOffset: number;
  readonly sizeBytes: number;
  readonly name: string;
  readonly createdAtMs: number;
  readonly lastAppendMs: number;
  readonly file: { readInto(target: Buffer, position: number): number };
}

/** What one cleaning works on: the cleanable part of a log (see PartitionLog.cleanable) and the limits. */
export interface CleaningJob {
  segments: readonly SourceSegment[];
  nextBaseOffsets: readonly number[];
  firstDirtyOffset: number;
  config: Pick<ResolvedLogConfig, "segmentBytesMax" | "deleteRetentionMs" | "indexIntervalBytes">;
  nowMs: number;
  dedupeBufferBytes: number;
  sliceMs: number;
  /** The partition's aborted transactions: their batches are removed, then their markers. */
  abortedTxns: readonly AbortedRange[];
}

/** Where a cleaning writes and how it swaps its output in. */
export interface CleaningIo {
  /** The log's directory (or memory), where cleaned segments are written and renamed. */
  storage: SegmentStorage;
  /** Checked between slices: true ends the cleaning, leaving the log as it is. */
  abandoned(): boolean;
  /** The I/O limit now, in bytes a second: asked at every chunk, so a change applies to the cleaning in progress. */
  ioBytesPerSecondMax(): number;
  /**
   * Swaps `cleaned` (synced, renamed to `swapName`) in for segments [first, first + count) of the job, on the
   * broker's serial path, after the partition forgets `forgotten` (the aborted transactions whose markers the cleaned
   * group no longer has); false when the segments are no longer in the log.
   */
  install(
    first: number,
    count: number,
    cleaned: LogSegment,
    swapName: string,
    forgotten: AbortedRange[],
  ): boolean | Promise<boolean>;
}

/** A cleaning's end: what it did, or why it did nothing. */
export type CleaningOutcome =
  | ({ kind: "cleaned"; tombstoneHorizonMs: number } & CleaningResult)
  | { kind: "abandoned" }
  | { kind: "dedupe-buffer-too-small"; keys: number };

export interface CleaningResult {
  bytesRead: number;
  bytesWritten: number;
  recordsRead: number;
  recordsKept: number;
  segmentsCleaned: number;
  /** Offsets below this are clean now. */
  cleanedUpTo: number;
}

interface StoredBatch {
  header: RecordBatchHeader;
  bytes: Buffer;
}

/**
 * The batches of a segment, read through one buffer that is reused: a batch's bytes are valid only until the next
 * is asked for. Reading hundreds of megabytes into fresh buffers would make the garbage collector stop the broker
 * for tens of milliseconds at a time.
 */
function* batchesOf(segment: SourceSegment, buffer: { bytes: Buffer }): Generator<StoredBatch> {
  const sizeBytes = segment.sizeBytes;
  let windowStart = 0;
  let windowBytes = 0;
  const at = (position: number, length: number): number => {
    if (position < windowStart || position + length > windowStart + windowBytes) {
      if (buffer.bytes.length < length) buffer.bytes = Buffer.allocUnsafe(length);
      windowStart = position;
      windowBytes = segment.file.readInto(buffer.bytes, position);
    }
    return position - windowStart;
  };
  let position = 0;
  while (position + RECORD_BATCH_HEADER_BYTES <= sizeBytes) {
    const headerAt = at(position, RECORD_BATCH_HEADER_BYTES);
    const header = readBatchHeader(buffer.bytes, headerAt);
    const batchBytes = batchBytesOf(header);
    const index = at(position, batchBytes);
    if (index + batchBytes > windowBytes) throw new LogStorageError(`${segment.name}: batch at ${position} is cut off`);
    yield { header, bytes: buffer.bytes.subarray(index, index + batchBytes) };
    position += batchBytes;
  }
}

/** Runs `read`; a batch whose records cannot be read (a codec this runtime lacks, bad bytes) gives null. */
function unlessUnreadable<T>(read: () => T): T | null {
  try {
    return read();
  } catch (error) {
    if (error instanceof UnsupportedCompressionError || error instanceof ProtocolDecodeError) return null;
    throw error;
  }
}

/** Gives the event loop back once a slice of work is used up. */
class Slicer {
  private sliceStart = performance.now();

  constructor(
    private readonly sliceMs: number,
    private readonly abandoned: () => boolean,
  ) {}

  async maybeYield(): Promise<void> {
    if (performance.now() - this.sliceStart < this.sliceMs) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (this.abandoned()) throw new CleaningAbandoned();
    this.sliceStart = performance.now();
  }
}

/** The bytes of the cleanable part not cleaned yet, and their share of it (Kafka's dirty ratio). */
export function dirtyRatio(view: CleanableLog): { dirtyBytes: number; ratio: number } {
  let cleanBytes = 0;
  let dirtyBytes = 0;
  for (const segment of view.segments) {
    if (segment.baseOffset >= view.firstDirtyOffset) dirtyBytes += segment.sizeBytes;
    else cleanBytes += segment.sizeBytes;
  }
  const total = cleanBytes + dirtyBytes;
  return { dirtyBytes, ratio: total === 0 ? 0 : dirtyBytes / total };
}

/** Whether to clean now: enough of the log dirty, a dirty record past max.compaction.lag.ms, or a tombstone due. */
export function needsCleaning(view: CleanableLog, nowMs: number): boolean {
  const { dirtyBytes, ratio } = dirtyRatio(view);
  if (dirtyBytes > 0 && ratio >= view.config.minCleanableDirtyRatio) return true;
  if (view.tombstoneHorizonMs >= 0 && nowMs >= view.tombstoneHorizonMs) return true;
  const firstDirty = view.segments.find((segment) => segment.baseOffset >= view.firstDirtyOffset);
  return firstDirty !== undefined && nowMs - firstDirty.createdAtMs >= view.config.maxCompactionLagMs;
}

/**
 * Maps the dirty segments' keys to their latest offsets until the map is full; returns the offset up to which the
 * map covers whole segments (the end of the part that can be cleaned this time).
 */
async function buildOffsetMap(
  view: CleaningJob,
  map: OffsetMap,
  slicer: Slicer,
  result: CleaningResult,
  readBuffer: { bytes: Buffer },
  txns: CleanerTxnWalk,
  throttle: CleanerThrottle,
): Promise<number> {
  let mappedUpTo = view.firstDirtyOffset;
  for (let i = 0; i < view.segments.length; i++) {
    const segment = view.segments[i]!;
    if (segment.baseOffset < view.firstDirtyOffset) continue;
    for (const batch of batchesOf(segment, readBuffer)) {
      result.bytesRead += batch.bytes.length;
      let full = false;
      const { baseOffset } = batch.header;
      // Markers and aborted transactions' records are not later records of their keys; committed ones are.
      if (!isControlBatch(batch.header) && !txns.isAborted(batch.header)) {
        unlessUnreadable(() =>
          scanRecords(batch.bytes, batch.header, (record) => {
            if (full || record.keyStart < 0) return;
            full = !map.put(record.body, record.keyStart, record.keyEnd, baseOffset + record.offsetDelta);
          }),
        );
      }
      if (full) return mappedUpTo;
      await throttle.moved(batch.bytes.length);
      await slicer.maybeYield();
    }
    mappedUpTo = view.nextBaseOffsets[i]!;
  }
  return mappedUpTo;
}

/** Consecutive segments below `endOffset` whose cleaned copy fits in one segment, as Kafka groups them. */
function groupSegments(
  view: CleaningJob,
  endOffset: number,
): Array<{ first: number; segments: SourceSegment[]; endOffset: number }> {
  const groups: Array<{ first: number; segments: SourceSegment[]; endOffset: number; sizeBytes: number }> = [];
  view.segments.forEach((segment, i) => {
    if (segment.baseOffset >= endOffset) return;
    const next = view.nextBaseOffsets[i]!;
    const last = groups.at(-1);
    if (
      last !== undefined &&
      last.sizeBytes + segment.sizeBytes <= view.config.segmentBytesMax &&
      next - last.segments[0]!.baseOffset <= SEGMENT_OFFSET_SPAN_MAX
    ) {
      last.segments.push(segment);
      last.sizeBytes += segment.sizeBytes;
      last.endOffset = next;
    } else {
      groups.push({ first: i, segments: [segment], endOffset: next, sizeBytes: segment.sizeBytes });
    }
  });
  return groups;
}

/**
 * Cleans the log on the broker's thread, in slices (a log in memory, which a worker cannot reach). Returns null when
 * the log changed underneath (a group was deleted by DeleteRecords or the log closed), in which case what was cleaned
 * so far stays cleaned and the rest waits for the next run.
 */
export async function cleanLog(
  log: PartitionLog,
  view: CleanableLog,
  limits: CleanerLimits,
  now: () => number,
  stopping: () => boolean,
  abortedTxns: readonly AbortedRange[] = [],
  forgetAborted: (ranges: readonly AbortedRange[]) => Promise<void> = () => Promise.resolve(),
): Promise<CleaningResult | null> {
  // A segment removed while the cleaner waits has its file closed, and its descriptor may already belong to another
  // file: the cleaner must not read on, so any removal ends the cleaning at its next slice.
  const removedAtStart = log.segmentsRemoved;
  const outcome = await cleanSegments(
    { ...view, nowMs: now(), dedupeBufferBytes: limits.dedupeBufferBytes, sliceMs: limits.sliceMs, abortedTxns },
    {
      storage: view.storage,
      abandoned: () => log.isClosed || stopping() || log.segmentsRemoved !== removedAtStart,
      ioBytesPerSecondMax: () => limits.ioBytesPerSecondMax,
      install: async (first, count, cleaned, swapName, forgotten) => {
        const group = view.segments.slice(first, first + count);
        if (!log.hasSegments(group)) return false;
        await forgetAborted(forgotten);
        return log.replaceSegments(group, cleaned, swapName);
      },
    },
  );
  return finishCleaning(log, view, limits, outcome);
}

/** Records where a cleaning got to and returns its result (null when it did nothing). */
export function finishCleaning(
  log: PartitionLog,
  view: CleanableLog,
  limits: CleanerLimits,
  outcome: CleaningOutcome,
): CleaningResult | null {
  if (outcome.kind === "dedupe-buffer-too-small") {
    view.logger.warn(
      { dedupeBufferBytes: limits.dedupeBufferBytes, keys: outcome.keys },
      "log cleaner: the dedupe buffer cannot hold the keys of one segment; raise log.cleaner.dedupe.buffer.size",
    );
    return null;
  }
  if (outcome.kind === "abandoned") return null;
  const { kind: _kind, tombstoneHorizonMs, ...result } = outcome;
  log.recordCleaning(result.cleanedUpTo, tombstoneHorizonMs);
  return result;
}

/** One cleaning of the job's segments: map the dirty keys, then recopy and swap in group by group. */
export async function cleanSegments(job: CleaningJob, io: CleaningIo): Promise<CleaningOutcome> {
  const result: CleaningResult = {
    bytesRead: 0,
    bytesWritten: 0,
    recordsRead: 0,
    recordsKept: 0,
    segmentsCleaned: 0,
    cleanedUpTo: job.firstDirtyOffset,
  };
  const slicer = new Slicer(job.sliceMs, () => io.abandoned());
  const throttle = new CleanerThrottle(
    () => io.ioBytesPerSecondMax(),
    () => io.abandoned(),
  );
  // The map is sized for the dirty part's offsets (an upper bound of its keys) within the byte budget.
  let dirtyOffsets = 0;
  job.segments.forEach((segment, i) => {
    if (segment.baseOffset >= job.firstDirtyOffset) dirtyOffsets += job.nextBaseOffsets[i]! - segment.baseOffset;
  });
  const map = new OffsetMap(dirtyOffsets, job.dedupeBufferBytes);
  const readBuffer = { bytes: Buffer.allocUnsafe(CLEANER_READ_BYTES) };
  let endOffset: number;
  try {
    endOffset = await buildOffsetMap(
      job,
      map,
      slicer,
      result,
      readBuffer,
      new CleanerTxnWalk(job.abortedTxns),
      throttle,
    );
  } catch (error) {
    if (error instanceof CleaningAbandoned) return { kind: "abandoned" };
    throw error;
  }
  const dirtySegments = job.segments.filter((segment) => segment.baseOffset >= job.firstDirtyOffset).length;
  if (endOffset === job.firstDirtyOffset && dirtySegments > 0) {
    return { kind: "dedupe-buffer-too-small", keys: map.capacity };
  }
  const { nowMs, config } = job;
  // One walk from the log start through every group, so that a marker is judged on all its transaction's batches.
  const txns = new CleanerTxnWalk(job.abortedTxns);
  const { storage } = io;
  let tombstoneHorizonMs = -1;
  for (const group of groupSegments(job, endOffset)) {
    const first = group.segments[0]!;
    const cleanedName = cleanedFileName(first.baseOffset);
    const lastAppendMs = Math.max(...group.segments.map((segment) => segment.lastAppendMs));
    const cleaned = LogSegment.createCleaned(storage, first.baseOffset, cleanedName, first.createdAtMs);
    let swapName: string | null = null;
    const forgotten: AbortedRange[] = [];
    try {
      for (const segment of group.segments) {
        for (const batch of batchesOf(segment, readBuffer)) {
          const kept = isControlBatch(batch.header)
            ? cleanMarker(batch, txns, nowMs, config.deleteRetentionMs, forgotten)
            : txns.onDataBatch(batch.header)
              ? null
              : cleanBatch(batch, map, nowMs, config.deleteRetentionMs, result);
          let movedBytes = batch.bytes.length;
          if (kept !== null) {
            const { header } = kept;
            cleaned.append(
              kept.bytes,
              header.baseOffset,
              header.baseOffset + header.lastOffsetDelta,
              header.maxTimestamp,
              config.indexIntervalBytes,
              nowMs,
            );
            result.bytesWritten += kept.bytes.length;
            movedBytes += kept.bytes.length;
            if (kept.horizonMs >= 0 && (tombstoneHorizonMs < 0 || kept.horizonMs < tombstoneHorizonMs)) {
              tombstoneHorizonMs = kept.horizonMs;
            }
          }
          await throttle.moved(movedBytes);
          await slicer.maybeYield();
        }
      }
      cleaned.lastAppendMs = lastAppendMs;
      await cleaned.file.sync();
      if (io.abandoned()) throw new CleaningAbandoned();
      swapName = swapFileName(first.baseOffset, group.endOffset);
      storage.rename(cleanedName, swapName);
      await storage.syncDirectory();
      if (!(await io.install(group.first, group.segments.length, cleaned, swapName, forgotten))) {
        cleaned.close();
        storage.remove(swapName);
        return { kind: "abandoned" };
      }
    } catch (error) {
      cleaned.close();
      storage.remove(swapName ?? cleanedName);
      if (error instanceof CleaningAbandoned) return { kind: "abandoned" };
      throw error;
    }
    result.segmentsCleaned += group.segments.length;
  }
  result.cleanedUpTo = endOffset;
  return { kind: "cleaned", tombstoneHorizonMs, ...result };
}

interface KeptBatch extends StoredBatch {
  /** The delete horizon of the tombstones the batch keeps, or -1. */
  horizonMs: number;
}

/** The batch as it should be after cleaning: unchanged, rebuilt with fewer records, or null when nothing is left. */
function cleanBatch(
  batch: StoredBatch,
  map: OffsetMap,
  nowMs: number,
  deleteRetentionMs: number,
  result: CleaningResult,
): KeptBatch | null {
  const { header } = batch;
  const horizonSet = hasDeleteHorizon(header);
  let recordCount = 0;
  let tombstones = 0;
  // Only the records kept become objects: most of a dirty log is usually dropped.
  const kept = unlessUnreadable(() =>
    readRawRecords(batch.bytes, header, (record) => {
      recordCount++;
      // Kafka's cleaner drops records without a key: a compacted topic cannot say which record they belong to.
      if (record.keyStart < 0) return false;
      if (map.get(record.body, record.keyStart, record.keyEnd) > header.baseOffset + record.offsetDelta) return false;
      if (record.tombstone) {
        if (horizonSet && nowMs >= header.baseTimestamp) return false;
        tombstones++;
      }
      return true;
    }),
  );
  if (kept === null) return { ...batch, horizonMs: -1 };
  result.recordsRead += recordCount;
  result.recordsKept += kept.length;
  if (kept.length === 0) return null;
  const horizonMs = tombstones === 0 ? -1 : horizonSet ? header.baseTimestamp : nowMs + deleteRetentionMs;
  if (kept.length === recordCount && (tombstones === 0 || horizonSet)) return { ...batch, horizonMs };
  const bytes = rebuildBatch(batch.bytes, header, kept, horizonMs >= 0 ? horizonMs : null);
  return { header: readBatchHeader(bytes), bytes, horizonMs };
}

/**
 * A marker as it should be after cleaning: kept while its transaction has records in the log; once it has none,
 * kept delete.retention.ms longer (its batch carrying the delete horizon, as a tombstone's does) and then removed,
 * an abort marker's aborted range going into `forgotten`.
 */
function cleanMarker(
  batch: StoredBatch,
  txns: CleanerTxnWalk,
  nowMs: number,
  deleteRetentionMs: number,
  forgotten: AbortedRange[],
): KeptBatch | null {
  const { header } = batch;
  const records = unlessUnreadable(() => readRawRecords(batch.bytes, header));
  if (records === null || records.length === 0) return { ...batch, horizonMs: -1 };
  const { removable, range } = txns.onMarker(header, markerType(records[0]!.key));
  if (!removable) return { ...batch, horizonMs: -1 };
  if (hasDeleteHorizon(header)) {
    if (nowMs < header.baseTimestamp) return { ...batch, horizonMs: header.baseTimestamp };
    if (range !== undefined) forgotten.push(range);
    return null;
  }
  const horizonMs = nowMs + deleteRetentionMs;
  const bytes = rebuildBatch(batch.bytes, header, records, horizonMs);
  return { header: readBatchHeader(bytes), bytes, horizonMs };
}
