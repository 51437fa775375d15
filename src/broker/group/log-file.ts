// The durable, append-only file behind committed offsets and group existence (and, with its own codec, behind the
// transaction coordinator's state). Appends are synchronous and only buffer; written() hands everything buffered to
// the file (it then survives the process being killed, not a power failure), sync() also fsyncs it, and concurrent
// callers share one write and one fsync (group commit). When the file has grown well past its live content it is
// rewritten from a snapshot of the current state: a new file is written and fsynced beside it, then renamed over it,
// so a crash leaves one or the other whole.

import { writeSync } from "node:fs";
import { open, readFile, rename, rm, type FileHandle } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type { Logger } from "pino";

/** How the records of one durable log are framed; the group log and the transaction log each have their own. */
export interface LogRecordCodec<R> {
  encode(record: R): Buffer;
  /** The whole records from the start of `data`, and how many bytes they cover (the rest is a torn tail). */
  decode(data: Buffer): { records: R[]; validBytes: number };
}

export interface GroupLogFileOptions<R> {
  path: string;
  codec: LogRecordCodec<R>;
  /** Never rewrite a file smaller than this. */
  compactBytesMin: number;
  logger: Logger;
  /** The records that rebuild the current state; called synchronously when the file is rewritten. */
  snapshot: () => R[];
}

export class GroupLogFile<R> {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private appendedSequence = 0;
  private writtenSequence = 0;
  private durableSequence = 0;
  private writing: Promise<void> | null = null;
  private fsyncing: Promise<void> | null = null;
  /**
   * A rewrite (or close) replaces the handle, so it runs alone: after the writes and fsyncs already started, and
   * before any started later. Writes and fsyncs need not wait for each other: a write made while an fsync runs is
   * simply not counted as durable by it, and an fsync must not hold up the next write (a transactional step that
   * only needs its record written would wait for another transaction's fsync).
   */
  private fileQueue: Promise<unknown> = Promise.resolve();
  private readonly sharedInFlight = new Set<Promise<unknown>>();
  private fileSyncs = 0;
  private fileBytes = 0;
  private snapshotBytes = 0;
  private rewriteNeeded = false;
  private closed = false;

  private constructor(
    private readonly options: GroupLogFileOptions<R>,
    private handle: FileHandle,
    /** The records found on open, for the owner to rebuild its state from. */
    readonly recovered: R[],
    fileBytes: number,
  ) {
    this.fileBytes = fileBytes;
  }

  /** Opens (or creates) the file, reads its records and cuts off a torn tail. */
  static async open<R>(options: GroupLogFileOptions<R>): Promise<GroupLogFile<R>> {
    let data: Buffer;
    try {
      data = await readFile(options.path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      data = Buffer.alloc(0);
    }
    const { records, validBytes } = options.codec.decode(data);
    // A rewrite that a crash interrupted before its rename is garbage; the original file is still whole.
    await rm(rewritePath(options.path), { force: true });
    const appendHandle = await open(options.path, "a");
    if (data.length === 0) await syncDirectory(dirname(options.path));
    if (validBytes < data.length) {
      options.logger.warn(
        { path: options.path, validBytes, droppedBytes: data.length - validBytes },
        "log has a torn or corrupt tail; truncating it",
      );
      try {
        await appendHandle.truncate(validBytes);
        await appendHandle.datasync();
      } catch (error) {
        await appendHandle.close();
        throw error;
      }
    }
    return new GroupLogFile<R>(options, appendHandle, records, validBytes);
  }

  get sizeBytes(): number {
    return this.fileBytes + this.pendingBytes;
  }

  /** Rewrites the file from a snapshot when it has grown to twice its live size; call after rebuilding state. */
  async compactIfGrown(): Promise<void> {
    const snapshot = this.encodeSnapshot();
    this.snapshotBytes = snapshot.length;
    if (this.shouldCompact()) {
      this.pending = [];
      this.pendingBytes = 0;
      const sequence = this.appendedSequence;
      await this.exclusive(() => this.rewrite(snapshot));
      this.writtenSequence = Math.max(this.writtenSequence, sequence);
      this.durableSequence = Math.max(this.durableSequence, sequence);
    }
  }

  append(record: R): void {
    if (this.closed) throw new Error(`${basename(this.options.path)} is closed`);
    const frame = this.options.codec.encode(record);
    this.pending.push(frame);
    this.pendingBytes += frame.length;
    this.appendedSequence++;
  }

  /** fsyncs made so far (rewrites included); group commit keeps this below the number of sync() calls. */
  get syncCount(): number {
    return this.fileSyncs;
  }

  /** Resolves once every record appended before the call has been written to the file (not necessarily fsynced). */
  async written(): Promise<void> {
    const target = this.appendedSequence;
    while (this.writtenSequence < target) {
      if (this.writing === null) {
        this.writing = this.writeOnce().finally(() => {
          this.writing = null;
        });
      }
      await this.writing;
    }
  }

  /** Resolves once every record appended before the call is on disk. */
  async sync(): Promise<void> {
    const target = this.appendedSequence;
    while (this.durableSequence < target) {
      await this.written();
      if (this.durableSequence >= target) return;
      if (this.fsyncing === null) {
        this.fsyncing = this.fsyncOnce().finally(() => {
          this.fsyncing = null;
        });
      }
      await this.fsyncing;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    try {
      await this.sync();
    } finally {
      this.closed = true;
      await this.exclusive(() => this.handle.close());
    }
  }

  private exclusive<T>(operation: () => Promise<T>): Promise<T> {
    const result = Promise.all([this.fileQueue, ...this.sharedInFlight]).then(operation);
    this.fileQueue = result.catch(() => undefined);
    return result;
  }

  /** Runs a write or an fsync once the rewrites queued before it are done, alongside other writes and fsyncs. */
  private shared<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.fileQueue.then(operation);
    const settled = result.catch(() => undefined);
    this.sharedInFlight.add(settled);
    void settled.then(() => this.sharedInFlight.delete(settled));
    return result;
  }

  private writeOnce(): Promise<void> {
    const sequence = this.appendedSequence;
    const chunks = this.pending;
    const chunkBytes = this.pendingBytes;
    this.pending = [];
    this.pendingBytes = 0;
    if (this.rewriteNeeded || this.shouldCompact(chunkBytes)) {
      // The snapshot is taken now, synchronously, so it already holds everything appended so far.
      const snapshot = this.encodeSnapshot();
      return this.exclusive(async () => {
        await this.rewrite(snapshot);
        this.writtenSequence = Math.max(this.writtenSequence, sequence);
        this.durableSequence = Math.max(this.durableSequence, sequence);
      });
    }
    return this.shared(async () => {
      try {
        // Written on the broker's thread, as the partition logs are: a few bytes into the page cache take less time
        // than a trip to the thread pool, whose threads are often all busy with fsyncs of the logs.
        writeAllSync(this.handle.fd, Buffer.concat(chunks, chunkBytes));
        this.fileBytes += chunkBytes;
      } catch (error) {
        // A failed write may have left part of a frame behind; the next flush rewrites the whole file instead.
        this.rewriteNeeded = true;
        throw error;
      }
      this.writtenSequence = Math.max(this.writtenSequence, sequence);
    });
  }

  private fsyncOnce(): Promise<void> {
    return this.shared(async () => {
      const sequence = this.writtenSequence;
      if (this.durableSequence >= sequence) return;
      this.fileSyncs++;
      await this.handle.datasync();
      this.durableSequence = Math.max(this.durableSequence, sequence);
    });
  }

  private shouldCompact(extraBytes = 0): boolean {
    const bytes = this.fileBytes + extraBytes;
    return bytes >= this.options.compactBytesMin && bytes >= 2 * this.snapshotBytes;
  }

  private encodeSnapshot(): Buffer {
    return Buffer.concat(this.options.snapshot().map((record) => this.options.codec.encode(record)));
  }

  private async rewrite(snapshot: Buffer): Promise<void> {
    const { path, logger } = this.options;
    const temporaryPath = rewritePath(path);
    this.rewriteNeeded = true;
    const temporary = await open(temporaryPath, "w");
    try {
      await temporary.write(snapshot);
      this.fileSyncs++;
      await temporary.sync();
    } finally {
      await temporary.close();
    }
    await this.handle.close();
    try {
      await rename(temporaryPath, path);
      await syncDirectory(dirname(path));
    } finally {
      this.handle = await open(path, "a");
    }
    const previousBytes = this.fileBytes;
    this.fileBytes = snapshot.length;
    this.snapshotBytes = snapshot.length;
    this.rewriteNeeded = false;
    logger.info({ path, previousBytes, bytes: snapshot.length }, "log rewritten without superseded records");
  }
}

function writeAllSync(fd: number, data: Buffer): void {
  let written = 0;
  while (written < data.length) written += writeSync(fd, data, written, data.length - written);
}

function rewritePath(path: string): string {
  return join(dirname(path), `.${basename(path)}.rewrite`);
}

async function syncDirectory(path: string): Promise<void> {
  const directory = await open(path, "r");
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
}
