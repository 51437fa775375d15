// One segment of a partition log: a `.log` file of batches exactly as stored, starting at `baseOffset`, with its
// sparse offset index and time index kept in memory and written beside it when the segment is sealed.

import type { Logger } from "pino";
import { UnsupportedCompressionError } from "../../kafka/protocol/compression/index.js";
import { ProtocolDecodeError } from "../../kafka/protocol/primitives.js";
import {
  BATCH_LENGTH_PREFIX_BYTES,
  BatchField,
  RECORD_BATCH_HEADER_BYTES,
  readBatchHeader,
  type RecordBatchHeader,
} from "../../kafka/protocol/record-batch.js";
import { findRecordAtTime } from "../../kafka/protocol/record-time-lookup.js";
import { HEADER_WALK_READ_BYTES, SCAN_READ_BYTES } from "./log-config.js";
import { OffsetIndex } from "./offset-index.js";
import { FileWindow, scanSegment } from "./segment-scan.js";
import { LogStorageError, type SegmentFile, type SegmentStorage } from "./storage.js";
import { TimeIndex } from "./time-index.js";

const EMPTY = Buffer.alloc(0);
const OFFSET_DIGITS = 20;
/** Bytes from a batch's start to the end of its lastOffsetDelta field. */
const LAST_OFFSET_DELTA_END = BatchField.lastOffsetDelta + 4;

/** The files of a partition directory named by a segment's base offset. */
export type SegmentFileExtension = ".log" | ".index" | ".timeindex" | ".producers";

export function segmentFileName(baseOffset: number, extension: SegmentFileExtension): string {
  return `${String(baseOffset).padStart(OFFSET_DIGITS, "0")}${extension}`;
}

/** The base offset in the name of a file with this extension, or null for any other file. */
export function parseSegmentFileName(name: string, extension: SegmentFileExtension = ".log"): number | null {
  if (!name.endsWith(extension)) return null;
  const digits = name.slice(0, -extension.length);
  if (!/^\d{20}$/.test(digits)) return null;
  const baseOffset = Number(digits);
  return Number.isSafeInteger(baseOffset) ? baseOffset : null;
}

function readInt64(buffer: Buffer, at: number): number {
  return buffer.readInt32BE(at) * 0x100000000 + buffer.readUInt32BE(at + 4);
}

export interface TimestampMatch {
  offset: number;
  timestamp: number;
}

/** A cleaned segment's file-independent state, as it crosses from the cleaner's worker to the broker's thread. */
export interface CleanedSegmentState {
  baseOffset: number;
  nextOffset: number;
  maxTimestamp: number;
  createdAtMs: number;
  lastAppendMs: number;
  offsetIndex: Uint8Array;
  timeIndex: Uint8Array;
}

export class LogSegment {
  /** One past the last offset stored; equal to baseOffset while empty. */
  nextOffset: number;
  /** The largest batch timestamp stored, or -1. */
  maxTimestamp = -1;
  lastAppendMs: number;
  private offsetIndex = new OffsetIndex();
  private timeIndex = new TimeIndex();
  private bytesSinceIndexEntry = 0;

  private constructor(
    private readonly storage: SegmentStorage,
    readonly baseOffset: number,
    readonly file: SegmentFile,
    /** When the segment began, for rolling by segmentMs. */
    public createdAtMs: number,
  ) {
    this.nextOffset = baseOffset;
    this.lastAppendMs = createdAtMs;
  }

  get sizeBytes(): number {
    return this.file.sizeBytes;
  }

  get isEmpty(): boolean {
    return this.file.sizeBytes === 0;
  }

  get name(): string {
    return segmentFileName(this.baseOffset, ".log");
  }

  static create(storage: SegmentStorage, baseOffset: number, nowMs: number): LogSegment {
    const segment = new LogSegment(storage, baseOffset, storage.open(segmentFileName(baseOffset, ".log")), nowMs);
    if (segment.sizeBytes !== 0) {
      segment.file.close();
      throw new LogStorageError(`new segment ${segment.name} in ${storage.location} already holds data`);
    }
    return segment;
  }

  /**
   * Opens a sealed segment, trusting its index files when they are consistent with the data, else rebuilding them
   * by walking the batch headers (no CRC check: sealed data was validated when it was the active segment).
   */
  static openSealed(
    storage: SegmentStorage,
    baseOffset: number,
    indexIntervalBytes: number,
    logger: Logger,
    nowMs: number,
  ): LogSegment {
    const name = segmentFileName(baseOffset, ".log");
    const segment = new LogSegment(storage, baseOffset, storage.open(name), storage.modifiedMs(name) ?? nowMs);
    if (segment.loadIndexes()) return segment;
    logger.info({ segment: name, location: storage.location }, "rebuilding segment indexes");
    segment.resetIndexes();
    const result = scanSegment(segment.file, {
      fromPosition: 0,
      expectedBaseOffset: baseOffset,
      allowGaps: true,
      verifyChecksums: false,
      readBytes: SCAN_READ_BYTES,
      onBatch: (position, header, batchBytes) =>
        segment.track(
          position,
          header.baseOffset,
          header.baseOffset + header.lastOffsetDelta,
          header.maxTimestamp,
          batchBytes,
          indexIntervalBytes,
        ),
    });
    if (result.problem !== null) segment.truncateDamage(result.endPosition, result.problem, logger);
    return segment;
  }

  /**
   * Opens the last segment, validating every batch (length, magic, offsets, CRC) and truncating a torn or corrupt
   * tail. `onBatch` sees each surviving batch header in order.
   */
  static openActive(
    storage: SegmentStorage,
    baseOffset: number,
    indexIntervalBytes: number,
    logger: Logger,
    nowMs: number,
    onBatch: (header: RecordBatchHeader) => void,
  ): LogSegment {
    const name = segmentFileName(baseOffset, ".log");
    const segment = new LogSegment(storage, baseOffset, storage.open(name), nowMs);
    segment.lastAppendMs = storage.modifiedMs(name) ?? nowMs;
    let firstTimestamp: number | null = null;
    const result = scanSegment(segment.file, {
      fromPosition: 0,
      expectedBaseOffset: baseOffset,
      verifyChecksums: true,
      readBytes: SCAN_READ_BYTES,
      onBatch: (position, header, batchBytes) => {
        firstTimestamp ??= header.maxTimestamp;
        const lastOffset = header.baseOffset + header.lastOffsetDelta;
        segment.track(position, header.baseOffset, lastOffset, header.maxTimestamp, batchBytes, indexIntervalBytes);
        onBatch(header);
      },
    });
    if (result.problem !== null) segment.truncateDamage(result.endPosition, result.problem, logger);
    // Like Kafka, age the segment from its first batch's timestamp, unless that lies in the future.
    if (firstTimestamp !== null && firstTimestamp >= 0 && firstTimestamp <= nowMs) segment.createdAtMs = firstTimestamp;
    return segment;
  }

  private truncateDamage(position: number, problem: string, logger: Logger): void {
    const droppedBytes = this.file.sizeBytes - position;
    logger.warn(
      { location: this.storage.location, file: this.name, position, droppedBytes, reason: problem },
      "truncating damaged log segment tail",
    );
    this.file.truncate(position);
  }

  private resetIndexes(): void {
    this.offsetIndex = new OffsetIndex();
    this.timeIndex = new TimeIndex();
    this.bytesSinceIndexEntry = 0;
    this.nextOffset = this.baseOffset;
    this.maxTimestamp = -1;
  }

  /** Loads `.index` and `.timeindex`; false when either is missing or disagrees with the data. */
  private loadIndexes(): boolean {
    const indexData = this.storage.readWhole(segmentFileName(this.baseOffset, ".index"));
    const timeIndexData = this.storage.readWhole(segmentFileName(this.baseOffset, ".timeindex"));
    if (indexData === null || timeIndexData === null || this.isEmpty) return false;
    const offsetIndex = OffsetIndex.parse(indexData, this.sizeBytes);
    if (offsetIndex === null) return false;
    // The index says where its last entry's batch starts; walking from there to the end checks that entry against
    // the data and finds where the segment's offsets end.
    const last = offsetIndex.lastEntry() ?? { relativeOffset: 0, position: 0 };
    let nextOffset = this.baseOffset;
    const tail = scanSegment(this.file, {
      fromPosition: last.position,
      expectedBaseOffset: this.baseOffset + last.relativeOffset,
      allowGaps: true,
      verifyChecksums: false,
      readBytes: HEADER_WALK_READ_BYTES,
      onBatch: (_position, header) => {
        nextOffset = header.baseOffset + header.lastOffsetDelta + 1;
      },
    });
    if (tail.problem !== null || nextOffset === this.baseOffset) return false;
    const timeIndex = TimeIndex.parse(timeIndexData, nextOffset - this.baseOffset);
    // A sealed index always ends at the segment's last offset (see TimeIndex.seal); anything else is stale or cut.
    if (timeIndex === null || timeIndex.lastRelativeOffset !== nextOffset - 1 - this.baseOffset) return false;
    this.offsetIndex = offsetIndex;
    this.timeIndex = timeIndex;
    this.nextOffset = nextOffset;
    this.maxTimestamp = timeIndex.lastTimestamp;
    return true;
  }

  /**
   * Starts the segment a log cleaner writes: a file under a temporary name holding the segment at `baseOffset`, to be
   * renamed into place when complete (see segment-swap.ts).
   */
  static createCleaned(storage: SegmentStorage, baseOffset: number, fileName: string, createdAtMs: number): LogSegment {
    const segment = new LogSegment(storage, baseOffset, storage.open(fileName), createdAtMs);
    if (segment.sizeBytes !== 0) segment.file.truncate(0);
    return segment;
  }

  /**
   * Takes over a cleaned segment another thread wrote (see cleaner-thread.ts): its file, under `fileName`, and the
   * indexes that thread built while writing it. Throws LogStorageError when they do not fit the file.
   */
  static adoptCleaned(storage: SegmentStorage, fileName: string, state: CleanedSegmentState): LogSegment {
    const segment = new LogSegment(storage, state.baseOffset, storage.open(fileName), state.createdAtMs);
    segment.lastAppendMs = state.lastAppendMs;
    if (segment.isEmpty) return segment;
    const offsetIndex = OffsetIndex.parse(Buffer.from(state.offsetIndex), segment.sizeBytes);
    const timeIndex = TimeIndex.parse(Buffer.from(state.timeIndex), state.nextOffset - state.baseOffset);
    if (offsetIndex === null || timeIndex === null) {
      segment.file.close();
      throw new LogStorageError(`the indexes of cleaned segment ${fileName} do not fit its data`);
    }
    segment.offsetIndex = offsetIndex;
    segment.timeIndex = timeIndex;
    segment.nextOffset = state.nextOffset;
    segment.maxTimestamp = state.maxTimestamp;
    return segment;
  }

  /** What another thread needs to adopt this cleaned segment (see adoptCleaned); seals its time index. */
  cleanedState(): CleanedSegmentState {
    this.timeIndex.seal(this.maxTimestamp, this.nextOffset - 1 - this.baseOffset);
    return {
      baseOffset: this.baseOffset,
      nextOffset: this.nextOffset,
      maxTimestamp: this.maxTimestamp,
      createdAtMs: this.createdAtMs,
      lastAppendMs: this.lastAppendMs,
      offsetIndex: this.offsetIndex.serialize(),
      timeIndex: this.timeIndex.serialize(),
    };
  }

  /** Appends one batch (already carrying its final base offset) with a single write. */
  append(
    batch: Uint8Array,
    baseOffset: number,
    lastOffset: number,
    maxTimestamp: number,
    indexIntervalBytes: number,
    nowMs: number,
  ): void {
    const position = this.file.sizeBytes;
    this.file.append(batch);
    this.track(position, baseOffset, lastOffset, maxTimestamp, batch.length, indexIntervalBytes);
    this.lastAppendMs = nowMs;
  }

  private track(
    position: number,
    baseOffset: number,
    lastOffset: number,
    maxTimestamp: number,
    batchBytes: number,
    indexIntervalBytes: number,
  ): void {
    if (position > 0 && this.bytesSinceIndexEntry >= indexIntervalBytes) {
      this.offsetIndex.add(baseOffset - this.baseOffset, position);
      this.timeIndex.maybeAdd(this.maxTimestamp, this.nextOffset - 1 - this.baseOffset);
      this.bytesSinceIndexEntry = 0;
    }
    this.bytesSinceIndexEntry += batchBytes;
    if (maxTimestamp > this.maxTimestamp) this.maxTimestamp = maxTimestamp;
    this.nextOffset = lastOffset + 1;
  }

  /** Where the batch holding `offset` starts (or the first batch after it, in a gap). */
  positionOf(offset: number): number {
    const sizeBytes = this.file.sizeBytes;
    const window = new FileWindow(this.file, HEADER_WALK_READ_BYTES);
    let position = this.offsetIndex.floorPosition(offset - this.baseOffset);
    while (true) {
      const current = window.at(position, LAST_OFFSET_DELTA_END);
      const batchLength = current.buffer.readInt32BE(current.index + BatchField.batchLength);
      if (batchLength < RECORD_BATCH_HEADER_BYTES - BATCH_LENGTH_PREFIX_BYTES) {
        throw new LogStorageError(`${this.storage.location}/${this.name}: corrupt batch length at ${position}`);
      }
      const next = position + BATCH_LENGTH_PREFIX_BYTES + batchLength;
      if (next + BATCH_LENGTH_PREFIX_BYTES > sizeBytes) return position;
      const following = window.at(next, BATCH_LENGTH_PREFIX_BYTES);
      // In a compacted segment the offset may fall in a gap left by removed batches: answer from the next batch.
      const lastOffset =
        readInt64(current.buffer, current.index) +
        current.buffer.readInt32BE(current.index + BatchField.lastOffsetDelta);
      if (readInt64(following.buffer, following.index) > offset && lastOffset >= offset) return position;
      position = next;
    }
  }

  /**
   * Whole batches from the one holding `offset`, up to `maxBytes`; when not even the first batch fits, that batch
   * alone if `minOneBatch` (KIP-74), else nothing.
   */
  read(offset: number, maxBytes: number, minOneBatch: boolean): Buffer {
    if (offset >= this.nextOffset) return EMPTY;
    const position = this.positionOf(offset);
    const available = this.file.sizeBytes - position;
    const wanted = Math.min(Math.max(maxBytes, 0), available);
    const chunk = wanted >= RECORD_BATCH_HEADER_BYTES ? this.file.read(position, wanted) : EMPTY;
    let wholeBytes = 0;
    while (wholeBytes + BATCH_LENGTH_PREFIX_BYTES <= chunk.length) {
      const batchBytes = chunk.readInt32BE(wholeBytes + BatchField.batchLength) + BATCH_LENGTH_PREFIX_BYTES;
      if (wholeBytes + batchBytes > chunk.length) break;
      wholeBytes += batchBytes;
    }
    if (wholeBytes > 0) return chunk.subarray(0, wholeBytes);
    if (!minOneBatch) return EMPTY;
    const prefix = this.file.read(position, BATCH_LENGTH_PREFIX_BYTES);
    return this.file.read(position, prefix.readInt32BE(BatchField.batchLength) + BATCH_LENGTH_PREFIX_BYTES);
  }

  /** The first record at or after `fromOffset` whose timestamp is at least `timestampMs`. */
  findByTimestamp(timestampMs: number, fromOffset: number): TimestampMatch | null {
    const start = Math.max(fromOffset, this.baseOffset + this.timeIndex.searchStart(timestampMs));
    if (start >= this.nextOffset) return null;
    const sizeBytes = this.file.sizeBytes;
    const window = new FileWindow(this.file, HEADER_WALK_READ_BYTES);
    let position = this.positionOf(start);
    while (position + RECORD_BATCH_HEADER_BYTES <= sizeBytes) {
      const { buffer, index } = window.at(position, RECORD_BATCH_HEADER_BYTES);
      const header = readBatchHeader(buffer, index);
      const batchBytes = header.batchLength + BATCH_LENGTH_PREFIX_BYTES;
      if (header.maxTimestamp >= timestampMs && header.baseOffset + header.lastOffsetDelta >= start) {
        try {
          const match = findRecordAtTime(this.file.read(position, batchBytes), start, timestampMs);
          if (match !== null) return match;
        } catch (error) {
          if (!(error instanceof UnsupportedCompressionError || error instanceof ProtocolDecodeError)) throw error;
          // The records cannot be read here: this runtime lacks the codec (zstd before Node 22.15), or a client stored
          // a batch whose CRC is right but whose compressed records are not. Per-record timestamps are out of reach,
          // so answer with the batch's first offset, the closest answer that never skips a matching record.
          return { offset: Math.max(header.baseOffset, start), timestamp: header.maxTimestamp };
        }
      }
      position += batchBytes;
    }
    return null;
  }

  /** Writes the indexes beside the segment; called when it is sealed or the log closes. */
  persistIndexes(): void {
    this.timeIndex.seal(this.maxTimestamp, this.nextOffset - 1 - this.baseOffset);
    if (!this.storage.persistent) return;
    this.storage.writeWhole(segmentFileName(this.baseOffset, ".index"), this.offsetIndex.serialize(), false);
    this.storage.writeWhole(segmentFileName(this.baseOffset, ".timeindex"), this.timeIndex.serialize(), false);
  }

  close(): void {
    this.file.close();
  }

  /** Closes and removes the segment's files. */
  remove(): void {
    this.file.close();
    for (const extension of [".log", ".index", ".timeindex"] as const) {
      this.storage.remove(segmentFileName(this.baseOffset, extension));
    }
  }
}
