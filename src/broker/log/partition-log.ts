// A partition's append-only log: batches stored exactly as produced (base offset assigned) in a run of segments,
// on disk or in memory. Every state change is synchronous so the broker can make it on its one serial path; only
// sync() waits, and concurrent callers share one fdatasync (group commit, log-sync.ts).

import type { Logger } from "pino";
import { ErrorCode } from "../../kafka/protocol/error-codes.js";
import {
  batchBytesOf,
  setBaseOffset,
  setLogAppendTime,
  type RecordBatchHeader,
} from "../../kafka/protocol/record-batch.js";
import { FileSegmentStorage } from "./file-storage.js";
import { resolveLogConfig, type LogConfig, type ResolvedLogConfig } from "./log-config.js";
import { MemorySegmentStorage } from "./memory-storage.js";
import { ProducerBatches, producerSnapshotFileName, type RecoveredBatch } from "./producer-snapshot.js";
import { LogSegment, type TimestampMatch } from "./segment.js";
import { installSwap } from "./segment-swap.js";
import { CLEANER_CHECKPOINT_FILE, LOG_START_OFFSET_FILE, recoverLog } from "./log-recovery.js";
import { LogSync } from "./log-sync.js";
import { LogStorageError, type SegmentStorage } from "./storage.js";

export type { LogConfig, MessageTimestampType } from "./log-config.js";
export { LogStorageError } from "./storage.js";

const NO_ERROR = 0;
const EMPTY = Buffer.alloc(0);
/** Relative offsets are int32 in the indexes, so a segment may span at most this many offsets. */
const SEGMENT_OFFSET_SPAN_MAX = 0x7fffffff;

export interface PartitionLogOptions {
  /** The partition's directory, or null to keep the log in memory. */
  dir: string | null;
  config: LogConfig;
  logger: Logger;
  now?: () => number;
  /** Storage to use instead of the one `dir` implies. */
  storage?: SegmentStorage;
}

export interface AppendResult {
  baseOffset: number;
  /** The time stamped on the batch, or -1 when the log keeps producers' CreateTime. */
  logAppendTime: number;
}

export interface LogReadResult {
  /** 0, or OFFSET_OUT_OF_RANGE when `offset` is below the log start or past the end. */
  errorCode: number;
  /** Whole batches; empty at the log end. */
  records: Buffer;
}

export type DeleteRecordsResult =
  { errorCode: 0; logStartOffset: number } | { errorCode: number; logStartOffset: number; message: string };

/** The part of a compacted log the cleaner may rewrite now (see PartitionLog.cleanable). */
export interface CleanableLog {
  /** Sealed segments from the log start up to the first that is too young or active, oldest first. */
  segments: readonly LogSegment[];
  /** The base offset of the segment after each of `segments`. */
  nextBaseOffsets: readonly number[];
  /** Offsets from here on have not been cleaned yet. */
  firstDirtyOffset: number;
  /** The earliest delete horizon of a tombstone kept by the last cleaning, or -1. */
  tombstoneHorizonMs: number;
  config: ResolvedLogConfig;
  storage: SegmentStorage;
  logger: Logger;
}

export interface RetentionResult {
  segmentsDeleted: number;
  bytesDeleted: number;
}

export class PartitionLog {
  private segments: LogSegment[] = [];
  private startOffset = 0;
  private config: ResolvedLogConfig;
  private closed = false;
  /** Every idempotent producer's last batches, kept current so that a roll can snapshot them. */
  private readonly producerBatches = new ProducerBatches();

  private durability!: LogSync;
  private cleanerCheckpoint = { firstDirtyOffset: 0, tombstoneHorizonMs: -1 };
  /** Set while the log cleaner works on this log; retention waits for it, so the segments it reads stay. */
  cleaning = false;
  /** Segments removed so far (DeleteRecords, retention): a cleaning that sees this change stops reading. */
  segmentsRemoved = 0;

  private constructor(
    private readonly storage: SegmentStorage,
    config: LogConfig,
    private readonly logger: Logger,
    private readonly now: () => number,
  ) {
    this.config = resolveLogConfig(config);
  }

  /** Opens (recovering) or creates the log. Throws on invalid config or an unreadable directory. */
  static open(options: PartitionLogOptions): PartitionLog {
    const now = options.now ?? Date.now;
    const storage =
      options.storage ?? (options.dir === null ? new MemorySegmentStorage(now) : new FileSegmentStorage(options.dir));
    const log = new PartitionLog(storage, options.config, options.logger, now);
    log.recover();
    return log;
  }

  get logStartOffset(): number {
    return this.startOffset;
  }

  /** The next offset to be assigned; on a single node also the high watermark. */
  get logEndOffset(): number {
    return this.active.nextOffset;
  }

  /** Everything below this offset is durable. */
  get lastSyncedOffset(): number {
    return this.durability.lastSyncedOffset;
  }

  get unsyncedBytes(): number {
    return this.durability.unsyncedBytes;
  }

  /** fdatasync calls made so far; group commit keeps this well below the number of sync() calls. */
  get syncCount(): number {
    return this.durability.syncCount;
  }

  get sizeBytes(): number {
    return this.segments.reduce((total, segment) => total + segment.sizeBytes, 0);
  }

  get segmentCount(): number {
    return this.segments.length;
  }

  /** The base offsets of the segments, oldest first. */
  segmentBaseOffsets(): number[] {
    return this.segments.map((segment) => segment.baseOffset);
  }

  /**
   * For each idempotent producer, its last five batches, oldest first: right after opening, those recovered from the
   * snapshot taken at the last roll and from the active segment, so the broker can rebuild idempotent-producer state.
   */
  recoveredBatchHeaders(): readonly RecoveredBatch[] {
    return this.producerBatches.batches();
  }

  updateConfig(config: LogConfig): void {
    this.config = resolveLogConfig(config);
  }

  private get active(): LogSegment {
    return this.segments[this.segments.length - 1]!;
  }

  private recover(): void {
    const recovered = recoverLog(this.storage, this.config, this.logger, this.now(), this.producerBatches);
    this.segments = recovered.segments;
    this.startOffset = recovered.startOffset;
    if (recovered.cleanerCheckpoint !== null) this.cleanerCheckpoint = recovered.cleanerCheckpoint;
    this.durability = new LogSync(
      this.storage,
      { logEndOffset: () => this.logEndOffset, holds: (segment) => this.segments.includes(segment) },
      this.logEndOffset,
    );
  }

  private ensureOpen(): void {
    if (this.closed) throw new LogStorageError(`partition log at ${this.storage.location} is closed`);
  }

  /**
   * Appends one validated batch: assigns its base offset (rewriting the buffer in place), stamps LogAppendTime if
   * the topic asks for it, and writes it with one write. Throws LogStorageError if the write fails, leaving the log
   * as it was.
   */
  append(batch: Buffer, header: RecordBatchHeader): AppendResult {
    this.ensureOpen();
    const batchBytes = batchBytesOf(header);
    if (batch.length !== batchBytes) {
      throw new RangeError(`batch is ${batch.length} bytes but its header says ${batchBytes}`);
    }
    const nowMs = this.now();
    const baseOffset = this.logEndOffset;
    const lastOffset = baseOffset + header.lastOffsetDelta;
    this.maybeRoll(batchBytes, header.lastOffsetDelta, nowMs);
    setBaseOffset(batch, baseOffset);
    let logAppendTime = -1;
    let maxTimestamp = header.maxTimestamp;
    if (this.config.messageTimestampType === "LogAppendTime") {
      logAppendTime = nowMs;
      maxTimestamp = nowMs;
      setLogAppendTime(batch, nowMs);
    }
    const segment = this.active;
    const sizeBefore = segment.sizeBytes;
    try {
      segment.append(batch, baseOffset, lastOffset, maxTimestamp, this.config.indexIntervalBytes, nowMs);
    } catch (error) {
      this.undoPartialWrite(segment, sizeBefore);
      throw new LogStorageError(
        `append to ${this.storage.location}/${segment.name} failed: ${(error as Error).message}`,
      );
    }
    this.durability.appended(segment, batchBytes);
    // Only a log that outlives the process needs the producers' batches, for its next snapshot and recovery.
    if (this.storage.persistent) this.producerBatches.remember(header, baseOffset);
    return { baseOffset, logAppendTime };
  }

  private undoPartialWrite(segment: LogSegment, sizeBytes: number): void {
    try {
      // A failed write may still have put some bytes on disk past the end the log knows about.
      segment.file.truncate(sizeBytes);
    } catch (error) {
      this.logger.error({ err: error, segment: segment.name }, "could not undo a failed append");
    }
  }

  private maybeRoll(batchBytes: number, lastOffsetDelta: number, nowMs: number): void {
    const active = this.active;
    if (active.isEmpty) return;
    const full = active.sizeBytes + batchBytes > this.config.segmentBytesMax;
    const old = nowMs - active.createdAtMs >= this.config.segmentMs;
    const offsetSpanFull = active.nextOffset + lastOffsetDelta - active.baseOffset > SEGMENT_OFFSET_SPAN_MAX;
    if (full || old || offsetSpanFull) this.roll(nowMs);
  }

  /** Seals the active segment and starts a new one at the log end. */
  private roll(nowMs: number): void {
    const sealed = this.active;
    sealed.persistIndexes();
    // The new snapshot is written before the new segment exists and the old one removed after, so that a crash at
    // any point leaves the active segment with its snapshot. Not durable, like the indexes: a snapshot lost in a
    // power failure costs only what it would have saved.
    if (this.storage.persistent) {
      this.producerBatches.dropBefore(this.startOffset);
      this.storage.writeWhole(producerSnapshotFileName(sealed.nextOffset), this.producerBatches.encode(), false);
    }
    this.segments.push(LogSegment.create(this.storage, sealed.nextOffset, nowMs));
    if (this.storage.persistent) this.storage.remove(producerSnapshotFileName(sealed.baseOffset));
    this.durability.directoryModified();
    this.logger.debug({ segment: this.active.name, sealed: sealed.name }, "rolled log segment");
  }

  /**
   * Reads whole batches starting with the one that holds `offset`, up to `maxBytes`. With `minOneBatch` (the first
   * partition of a fetch, KIP-74) the first batch comes back even when it alone exceeds `maxBytes`.
   */
  read(offset: number, maxBytes: number, minOneBatch = true): LogReadResult {
    if (!Number.isSafeInteger(offset) || offset < this.startOffset || offset > this.logEndOffset) {
      return { errorCode: ErrorCode.OFFSET_OUT_OF_RANGE, records: EMPTY };
    }
    const segment = this.segmentHolding(offset);
    if (segment === null) return { errorCode: NO_ERROR, records: EMPTY };
    return { errorCode: NO_ERROR, records: segment.read(offset, maxBytes, minOneBatch) };
  }

  /** The first segment holding an offset at or after `offset`, or null at the log end. */
  private segmentHolding(offset: number): LogSegment | null {
    let low = 0;
    let high = this.segments.length - 1;
    let found: LogSegment | null = null;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      const segment = this.segments[middle]!;
      if (segment.nextOffset > offset) {
        found = segment;
        high = middle - 1;
      } else {
        low = middle + 1;
      }
    }
    return found;
  }

  /** The first record at or after the log start whose timestamp is at least `timestampMs`, or null if none. */
  offsetForTimestamp(timestampMs: number): TimestampMatch | null {
    for (const segment of this.segments) {
      if (segment.nextOffset <= this.startOffset || segment.maxTimestamp < timestampMs) continue;
      const match = segment.findByTimestamp(timestampMs, this.startOffset);
      if (match !== null) return match;
    }
    return null;
  }

  /**
   * Moves the log start to `offset` (DeleteRecords), deleting segments that lie wholly below it. The offset may be
   * anywhere up to the log end.
   */
  deleteRecordsBefore(offset: number): DeleteRecordsResult {
    this.ensureOpen();
    if (!Number.isSafeInteger(offset) || offset < 0 || offset > this.logEndOffset) {
      return {
        errorCode: ErrorCode.OFFSET_OUT_OF_RANGE,
        logStartOffset: this.startOffset,
        message: `offset ${offset} is outside the log (${this.startOffset} to ${this.logEndOffset})`,
      };
    }
    if (offset <= this.startOffset) return { errorCode: NO_ERROR, logStartOffset: this.startOffset };
    this.startOffset = offset;
    const nowMs = this.now();
    if (this.active.nextOffset <= offset && !this.active.isEmpty) this.roll(nowMs);
    while (this.segments.length > 1 && this.segments[0]!.nextOffset <= offset)
      this.removeOldestSegment("records deleted");
    this.storage.writeWhole(LOG_START_OFFSET_FILE, Buffer.from(`${offset}\n`), true);
    return { errorCode: NO_ERROR, logStartOffset: this.startOffset };
  }

  /** Deletes whole segments past retention.ms (by their newest timestamp) and beyond retention.bytes. */
  enforceRetention(nowMs: number): RetentionResult {
    this.ensureOpen();
    const result: RetentionResult = { segmentsDeleted: 0, bytesDeleted: 0 };
    if (this.cleaning) return result;
    const deleteOldest = (reason: string): void => {
      result.bytesDeleted += this.segments[0]!.sizeBytes;
      result.segmentsDeleted++;
      this.removeOldestSegment(reason);
    };
    const { retentionMs, retentionBytes } = this.config;
    if (retentionMs >= 0) {
      while (true) {
        const oldest = this.segments[0]!;
        if (oldest.isEmpty && this.segments.length === 1) break;
        if (oldest.isEmpty) {
          deleteOldest("empty");
          continue;
        }
        const newestMs = oldest.maxTimestamp >= 0 ? oldest.maxTimestamp : oldest.lastAppendMs;
        if (nowMs - newestMs <= retentionMs) break;
        // Like Kafka, an expired active segment is rolled so that it can be deleted too.
        if (this.segments.length === 1) this.roll(nowMs);
        deleteOldest("retention.ms");
      }
    }
    if (retentionBytes >= 0) {
      let total = this.sizeBytes;
      while (this.segments.length > 1 && total - this.segments[0]!.sizeBytes >= retentionBytes) {
        total -= this.segments[0]!.sizeBytes;
        deleteOldest("retention.bytes");
      }
    }
    if (this.segments[0]!.baseOffset > this.startOffset) this.startOffset = this.segments[0]!.baseOffset;
    if (result.segmentsDeleted > 0) {
      this.logger.info({ location: this.storage.location, ...result, logStartOffset: this.startOffset }, "retention");
    }
    return result;
  }

  get compacted(): boolean {
    return this.config.compact;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * What the log cleaner may rewrite now, or null when the log is not compacted or has no sealed segment old enough:
   * the active segment, every segment from the first whose newest record is younger than min.compaction.lag.ms, and
   * every segment from the one holding `stableOffset` (the last stable offset: an open transaction's records are
   * not decided yet) stay as they are.
   */
  cleanable(nowMs: number, stableOffset = Number.POSITIVE_INFINITY): CleanableLog | null {
    if (!this.config.compact || this.closed) return null;
    const { minCompactionLagMs } = this.config;
    const segments: LogSegment[] = [];
    const nextBaseOffsets: number[] = [];
    for (let i = 0; i < this.segments.length - 1; i++) {
      const segment = this.segments[i]!;
      const newestMs = segment.maxTimestamp >= 0 ? segment.maxTimestamp : segment.lastAppendMs;
      if (minCompactionLagMs > 0 && newestMs > nowMs - minCompactionLagMs) break;
      const nextBaseOffset = this.segments[i + 1]!.baseOffset;
      if (nextBaseOffset > stableOffset) break;
      segments.push(segment);
      nextBaseOffsets.push(nextBaseOffset);
    }
    if (segments.length === 0) return null;
    const firstDirtyOffset = Math.min(
      Math.max(this.cleanerCheckpoint.firstDirtyOffset, this.segments[0]!.baseOffset),
      nextBaseOffsets.at(-1)!,
    );
    return {
      segments,
      nextBaseOffsets,
      firstDirtyOffset,
      tombstoneHorizonMs: this.cleanerCheckpoint.tombstoneHorizonMs,
      config: this.config,
      storage: this.storage,
      logger: this.logger,
    };
  }

  /**
   * Puts `cleaned` (complete, synced, renamed to `swapName`) in place of `group`, consecutive sealed segments of
   * this log; an empty cleaned segment is dropped unless it is the first, which keeps the log start. Returns false,
   * changing nothing, when the group is no longer in the log (retention, DeleteRecords or deletion got there first).
   */
  replaceSegments(group: readonly LogSegment[], cleaned: LogSegment, swapName: string): boolean {
    if (!this.hasSegments(group)) return false;
    const first = this.segments.indexOf(group[0]!);
    const after = this.segments[first + group.length]!;
    installSwap(this.storage, swapName, cleaned.baseOffset, after.baseOffset);
    for (const segment of group) {
      this.durability.forget(segment);
      segment.close();
    }
    if (cleaned.isEmpty && first > 0) {
      cleaned.remove();
      this.segments.splice(first, group.length);
    } else {
      cleaned.persistIndexes();
      this.segments.splice(first, group.length, cleaned);
    }
    this.durability.directoryModified();
    return true;
  }

  /** Whether `group` is still a run of consecutive sealed segments of this open log. */
  hasSegments(group: readonly LogSegment[]): boolean {
    if (this.closed || group.length === 0) return false;
    const first = this.segments.indexOf(group[0]!);
    const after = this.segments[first + group.length];
    return first !== -1 && after !== undefined && group.every((segment, i) => this.segments[first + i] === segment);
  }

  /** Remembers where cleaning got to, so that the next run (also after a restart) starts there. */
  recordCleaning(firstDirtyOffset: number, tombstoneHorizonMs: number): void {
    if (this.closed) return;
    this.cleanerCheckpoint = { firstDirtyOffset, tombstoneHorizonMs };
    this.storage.writeWhole(CLEANER_CHECKPOINT_FILE, Buffer.from(`${firstDirtyOffset} ${tombstoneHorizonMs}\n`), false);
  }

  private removeOldestSegment(reason: string): void {
    const segment = this.segments.shift()!;
    this.segmentsRemoved++;
    this.durability.forget(segment);
    segment.remove();
    this.durability.directoryModified();
    if (this.segments[0]!.baseOffset > this.startOffset) this.startOffset = this.segments[0]!.baseOffset;
    this.logger.debug({ segment: segment.name, reason }, "deleted log segment");
  }

  /** Resolves once everything appended before the call is durable (group commit, see log-sync.ts). */
  sync(): Promise<void> {
    return this.durability.sync();
  }

  /** Syncs, writes the active segment's indexes and releases the files. Further appends throw. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.sync();
    this.active.persistIndexes();
    for (const segment of this.segments) segment.close();
  }

  /** Closes the log without syncing and removes all of its files. */
  async delete(): Promise<void> {
    this.closed = true;
    await this.durability.settled();
    for (const segment of this.segments) segment.close();
    this.storage.destroy();
  }
}
