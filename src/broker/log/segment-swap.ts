// Putting a cleaned segment in place of the segments it was made from, so that a crash at any moment leaves a log
// that reopens whole. The cleaner writes `<base>.log.cleaned` and syncs it, then renames it to
// `<base>.<end>.swap`: from that rename on, the swap file is the truth for offsets base to end. Installing removes
// the replaced segments' files and renames the swap file to `<base>.log`. Opening a log first finishes any
// installation a crash interrupted and deletes `.cleaned` files, which were never complete, and `.deleted` files,
// replaced segments whose removal in the background a crash cut short.

import type { Logger } from "pino";
import { parseSegmentFileName, segmentFileName, type SegmentFileExtension } from "./segment.js";
import { DELETED_SUFFIX, type SegmentStorage } from "./storage.js";

const CLEANED_SUFFIX = ".cleaned";
const SWAP_NAME = /^(\d{20})\.(\d{20})\.swap$/;
const SEGMENT_FILE_EXTENSIONS: readonly SegmentFileExtension[] = [".log", ".index", ".timeindex"];

export function cleanedFileName(baseOffset: number): string {
  return `${segmentFileName(baseOffset, ".log")}${CLEANED_SUFFIX}`;
}

/** The name of a cleaned segment that replaces every segment with a base offset from `baseOffset` below `endOffset`. */
export function swapFileName(baseOffset: number, endOffset: number): string {
  return `${String(baseOffset).padStart(20, "0")}.${String(endOffset).padStart(20, "0")}.swap`;
}

function parseSwapFileName(name: string): { baseOffset: number; endOffset: number } | null {
  const match = SWAP_NAME.exec(name);
  if (match === null) return null;
  return { baseOffset: Number(match[1]), endOffset: Number(match[2]) };
}

/**
 * Removes the files of every segment based from `baseOffset` below `endOffset` (in the background: unlinking large
 * files can take long) and renames the swap file to the first one's log. A crash in between leaves the swap file,
 * which opening the log installs.
 */
export function installSwap(storage: SegmentStorage, swapName: string, baseOffset: number, endOffset: number): void {
  for (const name of storage.list()) {
    for (const extension of SEGMENT_FILE_EXTENSIONS) {
      const segmentBase = parseSegmentFileName(name, extension);
      if (segmentBase === null || segmentBase < baseOffset || segmentBase >= endOffset) continue;
      storage.removeInBackground(name);
    }
  }
  storage.rename(swapName, segmentFileName(baseOffset, ".log"));
}

/** Finishes swaps a crash interrupted and removes cleaned segments that were never complete. */
export function recoverSwaps(storage: SegmentStorage, logger: Logger): void {
  for (const name of storage.list()) {
    if (name.endsWith(CLEANED_SUFFIX) || name.endsWith(DELETED_SUFFIX)) {
      storage.remove(name);
      continue;
    }
    const swap = parseSwapFileName(name);
    if (swap === null) continue;
    logger.warn(
      { location: storage.location, swap: name, ...swap },
      "finishing a cleaned segment swap interrupted by a crash",
    );
    installSwap(storage, name, swap.baseOffset, swap.endOffset);
  }
}
