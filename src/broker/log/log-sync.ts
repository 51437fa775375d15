// Durability of one partition log: which segments and directory changes are not yet on disk, and sync(), where
// callers that arrive while an fdatasync runs all wait for the single next one, which covers everything appended up
// to its start (group commit).

import type { LogSegment } from "./segment.js";
import { LogStorageError, type SegmentStorage } from "./storage.js";

export class LogSync {
  private appendedBytes = 0;
  private syncedBytes = 0;
  private syncedOffset: number;
  private readonly unsyncedSegments = new Set<LogSegment>();
  private directoryChanged = false;
  private syncRunning: Promise<void> | null = null;
  private syncQueued: Promise<void> | null = null;
  private fileSyncCount = 0;

  constructor(
    private readonly storage: SegmentStorage,
    /** The log's end offset now, and whether a segment is still part of the log. */
    private readonly log: { logEndOffset(): number; holds(segment: LogSegment): boolean },
    recoveredEndOffset: number,
  ) {
    this.syncedOffset = recoveredEndOffset;
  }

  /** Everything below this offset is durable. */
  get lastSyncedOffset(): number {
    return this.storage.persistent ? this.syncedOffset : this.log.logEndOffset();
  }

  get unsyncedBytes(): number {
    return this.storage.persistent ? this.appendedBytes - this.syncedBytes : 0;
  }

  /** fdatasync calls made so far. */
  get syncCount(): number {
    return this.fileSyncCount;
  }

  appended(segment: LogSegment, bytes: number): void {
    this.appendedBytes += bytes;
    if (this.storage.persistent) this.unsyncedSegments.add(segment);
  }

  /** A segment was created, renamed or removed: the directory needs an fsync too. */
  directoryModified(): void {
    this.directoryChanged = true;
  }

  /** The segment left the log; its data no longer needs syncing. */
  forget(segment: LogSegment): void {
    this.unsyncedSegments.delete(segment);
  }

  /** Resolves once everything appended before the call is durable. */
  sync(): Promise<void> {
    if (!this.storage.persistent) return Promise.resolve();
    if (this.syncRunning === null) {
      if (this.appendedBytes === this.syncedBytes && !this.directoryChanged) return Promise.resolve();
      this.syncRunning = this.runSync().finally(() => {
        this.syncRunning = null;
      });
      return this.syncRunning;
    }
    this.syncQueued ??= this.syncRunning
      .catch(() => undefined)
      .then(() => {
        this.syncQueued = null;
        return this.sync();
      });
    return this.syncQueued;
  }

  /** Waits for an fdatasync in flight, ignoring its outcome. */
  async settled(): Promise<void> {
    await this.syncRunning?.catch(() => undefined);
  }

  private async runSync(): Promise<void> {
    const targetBytes = this.appendedBytes;
    const targetOffset = this.log.logEndOffset();
    const segments = [...this.unsyncedSegments];
    const directoryChanged = this.directoryChanged;
    this.unsyncedSegments.clear();
    this.directoryChanged = false;
    try {
      this.fileSyncCount += segments.length;
      await Promise.all([
        ...segments.map((segment) => segment.file.sync()),
        directoryChanged ? this.storage.syncDirectory() : Promise.resolve(),
      ]);
    } catch (error) {
      for (const segment of segments) if (this.log.holds(segment)) this.unsyncedSegments.add(segment);
      this.directoryChanged ||= directoryChanged;
      throw new LogStorageError(`fdatasync in ${this.storage.location} failed: ${(error as Error).message}`);
    }
    this.syncedBytes = Math.max(this.syncedBytes, targetBytes);
    this.syncedOffset = Math.max(this.syncedOffset, targetOffset);
  }
}
