// Walking the batches of a segment file in order: for recovery (validating each batch, CRC included) and for
// rebuilding or checking indexes (headers only). Reads go through a window so a walk costs a few large reads rather
// than one per batch.

import {
  BATCH_LENGTH_PREFIX_BYTES,
  RECORD_BATCH_HEADER_BYTES,
  RECORD_BATCH_MAGIC,
  batchChecksumValid,
  readBatchHeader,
  type RecordBatchHeader,
} from "../../kafka/protocol/record-batch.js";
import type { SegmentFile } from "./storage.js";

const EMPTY = Buffer.alloc(0);
const BATCH_LENGTH_MIN = RECORD_BATCH_HEADER_BYTES - BATCH_LENGTH_PREFIX_BYTES;

/** Sequential or forward-jumping reads of one file through a reusable window. */
export class FileWindow {
  private window: Buffer = EMPTY;
  private windowStart = 0;

  constructor(
    private readonly file: SegmentFile,
    private readonly readBytes: number,
  ) {}

  /** A buffer and the index in it where `bytes` bytes from `position` start; fewer only at the end of the file. */
  at(position: number, bytes: number): { buffer: Buffer; index: number } {
    if (position < this.windowStart || position + bytes > this.windowStart + this.window.length) {
      this.window = this.file.read(position, Math.max(bytes, this.readBytes));
      this.windowStart = position;
    }
    return { buffer: this.window, index: position - this.windowStart };
  }
}

export interface ScanOptions {
  fromPosition: number;
  /** The base offset the first batch must have; each later batch must follow on from the one before. */
  expectedBaseOffset: number;
  /**
   * Accept a batch starting past the expected offset: a compacted segment keeps its records' offsets but may have
   * dropped whole batches in between.
   */
  allowGaps?: boolean;
  verifyChecksums: boolean;
  readBytes: number;
  onBatch(position: number, header: RecordBatchHeader, batchBytes: number): void;
}

export interface ScanResult {
  /** Where the last good batch ends. */
  endPosition: number;
  /** Why the walk stopped before the end of the file, or null if it reached the end. */
  problem: string | null;
}

export function scanSegment(file: SegmentFile, options: ScanOptions): ScanResult {
  const window = new FileWindow(file, options.readBytes);
  const sizeBytes = file.sizeBytes;
  let position = options.fromPosition;
  let expectedBaseOffset = options.expectedBaseOffset;
  while (position < sizeBytes) {
    const remaining = sizeBytes - position;
    if (remaining < RECORD_BATCH_HEADER_BYTES) {
      return { endPosition: position, problem: `${remaining} trailing bytes are too few for a batch header` };
    }
    const { buffer, index } = window.at(position, RECORD_BATCH_HEADER_BYTES);
    const header = readBatchHeader(buffer, index);
    const batchBytes = header.batchLength + BATCH_LENGTH_PREFIX_BYTES;
    let problem: string | null = null;
    if (header.magic !== RECORD_BATCH_MAGIC) problem = `batch magic is ${header.magic}, not 2`;
    else if (header.batchLength < BATCH_LENGTH_MIN) problem = `batch length ${header.batchLength} is impossible`;
    else if (batchBytes > remaining)
      problem = `batch of ${batchBytes} bytes is cut off after ${remaining} (torn write)`;
    else if (header.lastOffsetDelta < 0) problem = `last offset delta ${header.lastOffsetDelta} is negative`;
    else if (
      options.allowGaps === true ? header.baseOffset < expectedBaseOffset : header.baseOffset !== expectedBaseOffset
    ) {
      problem = `batch has base offset ${header.baseOffset} where ${expectedBaseOffset} was expected`;
    } else if (options.verifyChecksums) {
      const whole = window.at(position, batchBytes);
      if (!batchChecksumValid(whole.buffer, header, whole.index)) problem = `batch CRC does not match its contents`;
    }
    if (problem !== null) return { endPosition: position, problem };
    options.onBatch(position, header, batchBytes);
    expectedBaseOffset = header.baseOffset + header.lastOffsetDelta + 1;
    position += batchBytes;
  }
  return { endPosition: position, problem: null };
}
