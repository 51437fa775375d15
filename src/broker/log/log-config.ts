// Per-partition log settings (a topic's segment, retention and timestamp configs) with their defaults and limits.

import { integerOption, resolveIntegers } from "../../platform/options.js";
export type MessageTimestampType = "CreateTime" | "LogAppendTime";

export interface LogConfig {
  /** Roll to a new segment before one would grow past this size. */
  segmentBytesMax: number;
  /** Roll to a new segment once the active one is this old. */
  segmentMs: number;
  /** Delete a segment once its newest record is this old; -1 keeps segments forever. */
  retentionMs: number;
  /** Delete the oldest segments while the log stays at least this large without them; -1 for no size limit. */
  retentionBytes: number;
  messageTimestampType: MessageTimestampType;
  /** Bytes of batches between two entries of the sparse offset index. */
  indexIntervalBytes?: number;
  /** cleanup.policy includes compact: the log cleaner keeps the latest record of every key. */
  compact?: boolean;
  /** How long a tombstone stays after the cleaner first reaches it (delete.retention.ms). */
  deleteRetentionMs?: number;
  /** Records younger than this are not compacted (min.compaction.lag.ms). */
  minCompactionLagMs?: number;
  /** A dirty record older than this makes the log cleanable whatever its dirty ratio (max.compaction.lag.ms). */
  maxCompactionLagMs?: number;
  /** The share of the cleanable log not yet cleaned at which cleaning starts (min.cleanable.dirty.ratio). */
  minCleanableDirtyRatio?: number;
}

/** Kafka's defaults for the compaction configs. */
export const DELETE_RETENTION_MS = 86_400_000;
export const MIN_CLEANABLE_DIRTY_RATIO = 0.5;

export const INDEX_INTERVAL_BYTES = 4096;
/** Segment positions are stored as int32 in the offset index, so a segment can never be larger than this. */
export const SEGMENT_BYTES_LIMIT = 0x7fffffff;
/** The most producers whose recent batches are remembered while recovering a log. */
export const RECOVERED_PRODUCERS_MAX = 100_000;
/** How many recent batches per producer recovery reports: Kafka's idempotence window. */
export const RECOVERED_BATCHES_PER_PRODUCER = 5;
/** Bytes read at a time when recovery validates a segment or an index is rebuilt. */
export const SCAN_READ_BYTES = 1024 * 1024;
/** Bytes read at a time when walking batch headers from an index entry. */
export const HEADER_WALK_READ_BYTES = 16 * 1024;

export interface ResolvedLogConfig {
  segmentBytesMax: number;
  segmentMs: number;
  retentionMs: number;
  retentionBytes: number;
  messageTimestampType: MessageTimestampType;
  indexIntervalBytes: number;
  compact: boolean;
  deleteRetentionMs: number;
  minCompactionLagMs: number;
  maxCompactionLagMs: number;
  minCleanableDirtyRatio: number;
}

/** Fills defaults and rejects settings that cannot work, with a message naming the setting. */
/**
 * The integer settings of a log with the range each accepts, and the default an optional one takes (segmentBytesMax
 * and segmentMs are required, so theirs is never taken).
 */
const LOG_CONFIG_INTEGERS = {
  segmentBytesMax: integerOption(SEGMENT_BYTES_LIMIT, 1, SEGMENT_BYTES_LIMIT),
  segmentMs: integerOption(Number.MAX_SAFE_INTEGER, 1, Number.MAX_SAFE_INTEGER),
  indexIntervalBytes: integerOption(INDEX_INTERVAL_BYTES, 1, Number.MAX_SAFE_INTEGER),
  deleteRetentionMs: integerOption(DELETE_RETENTION_MS, 0, Number.MAX_SAFE_INTEGER),
  minCompactionLagMs: integerOption(0, 0, Number.MAX_SAFE_INTEGER),
  maxCompactionLagMs: integerOption(Number.MAX_SAFE_INTEGER, 1, Number.MAX_SAFE_INTEGER),
};

export function resolveLogConfig(config: LogConfig): ResolvedLogConfig {
  const integers = resolveIntegers(
    LOG_CONFIG_INTEGERS,
    config,
    (field, message) => new RangeError(`log config ${field} ${message}`),
  );
  const resolved: ResolvedLogConfig = {
    ...integers,
    retentionMs: config.retentionMs,
    retentionBytes: config.retentionBytes,
    messageTimestampType: config.messageTimestampType,
    compact: config.compact ?? false,
    minCleanableDirtyRatio: config.minCleanableDirtyRatio ?? MIN_CLEANABLE_DIRTY_RATIO,
  };
  if (!(resolved.minCleanableDirtyRatio >= 0 && resolved.minCleanableDirtyRatio <= 1)) {
    throw new RangeError(
      `log config minCleanableDirtyRatio must be from 0 to 1, got ${resolved.minCleanableDirtyRatio}`,
    );
  }
  for (const name of ["retentionMs", "retentionBytes"] as const) {
    const value = resolved[name];
    if (!Number.isSafeInteger(value) || value < -1) {
      throw new RangeError(`log config ${name} must be -1 or a non-negative integer, got ${value}`);
    }
  }
  if (resolved.messageTimestampType !== "CreateTime" && resolved.messageTimestampType !== "LogAppendTime") {
    throw new RangeError(`log config messageTimestampType must be CreateTime or LogAppendTime`);
  }
  return resolved;
}
