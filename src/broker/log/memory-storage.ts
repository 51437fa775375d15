// Segment storage held in memory: the same files, as growable buffers, for brokers started without a data dir.

import type { SegmentFile, SegmentStorage } from "./storage.js";

const INITIAL_FILE_BYTES = 64 * 1024;

class MemorySegmentFile implements SegmentFile {
  private buffer = Buffer.allocUnsafe(0);
  sizeBytes = 0;

  constructor(private readonly touch: () => void) {}

  append(data: Uint8Array): void {
    const needed = this.sizeBytes + data.length;
    if (needed > this.buffer.length) {
      // Growing copies into a new buffer, so views handed out by read() keep their bytes.
      const grown = Buffer.allocUnsafe(Math.max(needed, this.buffer.length * 2, INITIAL_FILE_BYTES));
      this.buffer.copy(grown, 0, 0, this.sizeBytes);
      this.buffer = grown;
    }
    this.buffer.set(data, this.sizeBytes);
    this.sizeBytes = needed;
    this.touch();
  }

  read(position: number, length: number): Buffer {
    const end = Math.min(position + length, this.sizeBytes);
    return this.buffer.subarray(Math.min(position, end), end);
  }

  readInto(target: Buffer, position: number): number {
    const end = Math.min(position + target.length, this.sizeBytes);
    return position >= end ? 0 : this.buffer.copy(target, 0, position, end);
  }

  truncate(sizeBytes: number): void {
    // A fresh buffer, so later appends cannot overwrite bytes that an earlier read() still shows.
    const kept = Buffer.allocUnsafe(Math.max(sizeBytes, INITIAL_FILE_BYTES));
    this.buffer.copy(kept, 0, 0, Math.min(sizeBytes, this.sizeBytes));
    if (sizeBytes > this.sizeBytes) kept.fill(0, this.sizeBytes, sizeBytes);
    this.buffer = kept;
    this.sizeBytes = sizeBytes;
    this.touch();
  }

  sync(): Promise<void> {
    return Promise.resolve();
  }

  close(): void {}
}

export class MemorySegmentStorage implements SegmentStorage {
  readonly persistent = false;
  readonly location = "memory";
  private readonly files = new Map<string, MemorySegmentFile>();
  private readonly wholeFiles = new Map<string, Buffer>();
  private readonly modified = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  list(): string[] {
    return [...new Set([...this.files.keys(), ...this.wholeFiles.keys()])];
  }

  open(name: string): SegmentFile {
    let file = this.files.get(name);
    if (file === undefined) {
      file = new MemorySegmentFile(() => this.modified.set(name, this.now()));
      this.files.set(name, file);
      this.modified.set(name, this.now());
    }
    return file;
  }

  readWhole(name: string): Buffer | null {
    return this.wholeFiles.get(name) ?? null;
  }

  writeWhole(name: string, data: Uint8Array): void {
    this.wholeFiles.set(name, Buffer.from(data));
    this.modified.set(name, this.now());
  }

  remove(name: string): void {
    this.files.delete(name);
    this.wholeFiles.delete(name);
    this.modified.delete(name);
  }

  removeInBackground(name: string): void {
    this.remove(name);
  }

  rename(from: string, to: string): void {
    const file = this.files.get(from);
    const whole = this.wholeFiles.get(from);
    this.remove(to);
    if (file !== undefined) this.files.set(to, file);
    if (whole !== undefined) this.wholeFiles.set(to, whole);
    this.modified.set(to, this.modified.get(from) ?? this.now());
    this.files.delete(from);
    this.wholeFiles.delete(from);
    this.modified.delete(from);
  }

  modifiedMs(name: string): number | null {
    return this.modified.get(name) ?? null;
  }

  syncDirectory(): Promise<void> {
    return Promise.resolve();
  }

  destroy(): void {
    this.files.clear();
    this.wholeFiles.clear();
    this.modified.clear();
  }
}
