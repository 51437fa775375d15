// Segment storage on disk: one directory per partition, plain synchronous file calls for every state change and
// fdatasync (async) for durability.

import {
  closeSync,
  fdatasync,
  fstatSync,
  fsync,
  fsyncSync,
  mkdirSync,
  open,
  close,
  openSync,
  readFileSync,
  readSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  ftruncateSync,
  writeSync,
  constants,
  rm,
} from "node:fs";
import { join } from "node:path";
import { DELETED_SUFFIX, type SegmentFile, type SegmentStorage } from "./storage.js";

class FileSegmentFile implements SegmentFile {
  sizeBytes: number;
  private syncsRunning = 0;
  private closeRequested = false;
  private closed = false;

  constructor(
    private readonly fd: number,
    readonly path: string,
  ) {
    this.sizeBytes = fstatSync(fd).size;
  }

  append(data: Uint8Array): void {
    let written = 0;
    // Regular files take the whole write at once; the loop only guards against a short write.
    while (written < data.length) {
      written += writeSync(this.fd, data, written, data.length - written, this.sizeBytes + written);
    }
    this.sizeBytes += data.length;
  }

  read(position: number, length: number): Buffer {
    const available = Math.max(0, Math.min(length, this.sizeBytes - position));
    const buffer = Buffer.allocUnsafe(available);
    let filled = 0;
    while (filled < available) {
      const count = readSync(this.fd, buffer, filled, available - filled, position + filled);
      if (count === 0) break;
      filled += count;
    }
    return filled === available ? buffer : buffer.subarray(0, filled);
  }

  readInto(target: Buffer, position: number): number {
    const available = Math.max(0, Math.min(target.length, this.sizeBytes - position));
    let filled = 0;
    while (filled < available) {
      const count = readSync(this.fd, target, filled, available - filled, position + filled);
      if (count === 0) break;
      filled += count;
    }
    return filled;
  }

  truncate(sizeBytes: number): void {
    ftruncateSync(this.fd, sizeBytes);
    this.sizeBytes = sizeBytes;
  }

  sync(): Promise<void> {
    if (this.closed || this.closeRequested) return Promise.resolve();
    this.syncsRunning++;
    return new Promise<void>((resolve, reject) => {
      fdatasync(this.fd, (error) => {
        this.syncsRunning--;
        if (this.closeRequested && this.syncsRunning === 0) this.closeNow();
        if (error) reject(error);
        else resolve();
      });
    });
  }

  close(): void {
    if (this.closed) return;
    this.closeRequested = true;
    if (this.syncsRunning === 0) this.closeNow();
  }

  private closeNow(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
  }
}

export class FileSegmentStorage implements SegmentStorage {
  readonly persistent = true;

  constructor(readonly location: string) {
    mkdirSync(location, { recursive: true });
  }

  list(): string[] {
    return readdirSync(this.location);
  }

  open(name: string): SegmentFile {
    const path = join(this.location, name);
    return new FileSegmentFile(openSync(path, constants.O_RDWR | constants.O_CREAT, 0o644), path);
  }

  readWhole(name: string): Buffer | null {
    try {
      return readFileSync(join(this.location, name));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw error;
    }
  }

  writeWhole(name: string, data: Uint8Array, durable: boolean): void {
    const path = join(this.location, name);
    const temporary = `${path}.tmp`;
    const fd = openSync(temporary, "w", 0o644);
    try {
      let written = 0;
      while (written < data.length) written += writeSync(fd, data, written, data.length - written);
      if (durable) fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, path);
  }

  remove(name: string): void {
    rmSync(join(this.location, name), { force: true });
  }

  removeInBackground(name: string): void {
    const deleted = join(this.location, `${name}${DELETED_SUFFIX}`);
    try {
      renameSync(join(this.location, name), deleted);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
      throw error;
    }
    // A failure leaves a `.deleted` file, which the next open of the log removes.
    rm(deleted, { force: true }, () => undefined);
  }

  rename(from: string, to: string): void {
    renameSync(join(this.location, from), join(this.location, to));
  }

  modifiedMs(name: string): number | null {
    try {
      return statSync(join(this.location, name)).mtimeMs;
    } catch {
      return null;
    }
  }

  syncDirectory(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      open(this.location, "r", (openError, fd) => {
        if (openError) return reject(openError);
        fsync(fd, (syncError) => {
          close(fd, () => (syncError ? reject(syncError) : resolve()));
        });
      });
    });
  }

  destroy(): void {
    rmSync(this.location, { recursive: true, force: true });
  }
}
