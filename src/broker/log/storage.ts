// The storage a partition log's segments live in: a directory of files, or the same shape held in memory so the
// whole log runs without a disk (for users' test suites). Everything but syncing is synchronous, because the broker
// changes log state on one serial path with no await in the middle.

export interface SegmentFile {
  readonly sizeBytes: number;
  /** Appends `data` at the end with a single write. */
  append(data: Uint8Array): void;
  /**
   * Returns `length` bytes from `position`, fewer only where the file ends. The bytes never change afterwards, even
   * if the file is later truncated or appended to.
   */
  read(position: number, length: number): Buffer;
  /** Copies up to `target.length` bytes from `position` into `target`; returns how many (fewer only at the end). */
  readInto(target: Buffer, position: number): number;
  truncate(sizeBytes: number): void;
  /** Makes everything appended so far durable. */
  sync(): Promise<void>;
  /** Releases the file; a sync still running finishes first. */
  close(): void;
}

export interface SegmentStorage {
  /** False for memory storage: nothing survives the process, and sync has nothing to do. */
  readonly persistent: boolean;
  /** Where the files live, for log messages. */
  readonly location: string;
  list(): string[];
  /** Opens a file for appending and reading, creating it empty if missing. */
  open(name: string): SegmentFile;
  /** A whole small file (an index, a checkpoint), or null when it does not exist. */
  readWhole(name: string): Buffer | null;
  /** Replaces a whole small file atomically; `durable` also waits for it to reach the disk. */
  writeWhole(name: string, data: Uint8Array, durable: boolean): void;
  remove(name: string): void;
  /**
   * Removes a file without waiting for the removal: it is renamed to `<name>.deleted` at once and unlinked in the
   * background, since unlinking a large file can take long enough to hold up requests.
   */
  removeInBackground(name: string): void;
  /** Renames a file (segment or whole), replacing any file named `to`; open handles stay valid. */
  rename(from: string, to: string): void;
  /** When the file last changed, or null if it does not exist. */
  modifiedMs(name: string): number | null;
  /** Makes file creations and removals durable. */
  syncDirectory(): Promise<void>;
  /** Removes every file and the storage itself. */
  destroy(): void;
}

/** The suffix of files being removed in the background; opening a log removes any a crash left. */
export const DELETED_SUFFIX = ".deleted";

/** A storage operation failed (disk full, I/O error); the partition answers KAFKA_STORAGE_ERROR. */
export class LogStorageError extends Error {
  override name = "LogStorageError";
}
