// Opening a partition log's storage: finishing swaps a crash interrupted, removing temporary files, opening the
// segments (the active one validated batch by batch, a torn tail cut off), and reading back the producers' snapshot,
// the log start offset and the cleaner's checkpoint.

import type { Logger } from "pino";
import type { ResolvedLogConfig } from "./log-config.js";
import { parseProducerSnapshotFileName, type ProducerBatches } from "./producer-snapshot.js";
import { LogSegment, parseSegmentFileName } from "./segment.js";
import { recoverSwaps } from "./segment-swap.js";
import type { SegmentStorage } from "./storage.js";

export const LOG_START_OFFSET_FILE = "log-start-offset";
/** Where the cleaner got to ("<first dirty offset> <earliest tombstone delete horizon or -1>"); losing it costs work. */
export const CLEANER_CHECKPOINT_FILE = "cleaner-offset-checkpoint";

export interface RecoveredLog {
  segments: LogSegment[];
  startOffset: number;
  cleanerCheckpoint: { firstDirtyOffset: number; tombstoneHorizonMs: number } | null;
}

export function recoverLog(
  storage: SegmentStorage,
  config: ResolvedLogConfig,
  logger: Logger,
  nowMs: number,
  producerBatches: ProducerBatches,
): RecoveredLog {
  recoverSwaps(storage, logger);
  const names = storage.list();
  for (const name of names) {
    if (name.endsWith(".tmp")) storage.remove(name);
  }
  const baseOffsets = names
    .map((name) => parseSegmentFileName(name))
    .filter((offset): offset is number => offset !== null)
    .sort((a, b) => a - b);
  const { indexIntervalBytes } = config;
  loadProducerSnapshot(storage, logger, producerBatches, names, baseOffsets.at(-1) ?? null);
  const segments: LogSegment[] = [];
  baseOffsets.forEach((baseOffset, i) => {
    const last = i === baseOffsets.length - 1;
    const segment = last
      ? LogSegment.openActive(storage, baseOffset, indexIntervalBytes, logger, nowMs, (header) =>
          producerBatches.remember(header),
        )
      : LogSegment.openSealed(storage, baseOffset, indexIntervalBytes, logger, nowMs);
    // A cleaned first segment may be left empty on purpose: it keeps the log start where Kafka keeps it.
    if (!last && segment.isEmpty && i > 0) {
      logger.warn({ segment: segment.name, location: storage.location }, "removing empty sealed segment");
      segment.remove();
      return;
    }
    segments.push(segment);
  });
  if (segments.length === 0) segments.push(LogSegment.create(storage, 0, nowMs));

  let startOffset = segments[0]!.baseOffset;
  const logEndOffset = segments.at(-1)!.nextOffset;
  const checkpoint = storage.readWhole(LOG_START_OFFSET_FILE);
  const saved = checkpoint === null ? NaN : Number(checkpoint.toString("utf8").trim());
  if (Number.isSafeInteger(saved) && saved > startOffset) startOffset = Math.min(saved, logEndOffset);
  const cleaner = storage.readWhole(CLEANER_CHECKPOINT_FILE)?.toString("utf8").trim().split(" ").map(Number);
  const cleanerCheckpoint =
    cleaner !== undefined && cleaner.length === 2 && cleaner.every((value) => Number.isSafeInteger(value))
      ? { firstDirtyOffset: cleaner[0]!, tombstoneHorizonMs: cleaner[1]! }
      : null;
  if (baseOffsets.length > 0) {
    logger.debug(
      { location: storage.location, segments: segments.length, logStartOffset: startOffset, logEndOffset },
      "partition log recovered",
    );
  }
  return { segments, startOffset, cleanerCheckpoint };
}

/**
 * Starts the producers' batches from the snapshot taken when the active segment was rolled, and removes snapshots
 * of other segments (left by a crash between writing a new snapshot and removing the old one).
 */
function loadProducerSnapshot(
  storage: SegmentStorage,
  logger: Logger,
  producerBatches: ProducerBatches,
  names: readonly string[],
  activeBaseOffset: number | null,
): void {
  for (const name of names) {
    const baseOffset = parseProducerSnapshotFileName(name);
    if (baseOffset === null) continue;
    if (baseOffset !== activeBaseOffset) {
      storage.remove(name);
      continue;
    }
    const data = storage.readWhole(name);
    if (data !== null && !producerBatches.load(data)) {
      logger.warn(
        { location: storage.location, snapshot: name },
        "unreadable producer snapshot ignored; idempotent producers that last wrote before the active segment " +
          "are treated as new",
      );
    }
  }
}
