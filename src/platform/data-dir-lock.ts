// One process per data dir (the broker's logs, PGlite's database files): a lock the kernel holds for the process
// and drops when it dies, in whatever state it dies. On Linux it is an open-file-description lock (fcntl F_OFD_SETLK)
// and on macOS a flock, both taken through fs-native-extensions: the kernel decides between two racing processes,
// and a killed process, reaped or not, holds nothing. The PID written into the file only names the holder in the
// error; it is never compared with a live process.

import { closeSync, ftruncateSync, openSync, readFileSync, writeSync, constants } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

interface NativeFileLocks {
  /** Takes an exclusive lock on the whole file without waiting; false when another open file description holds one. */
  tryLock(fd: number): boolean;
  unlock(fd: number): void;
}

let nativeFileLocks: NativeFileLocks | null = null;

// Loaded at the first lock, so that the commands that open no data dir never load the native addon.
function fileLocks(): NativeFileLocks {
  nativeFileLocks ??= createRequire(import.meta.url)("fs-native-extensions") as NativeFileLocks;
  return nativeFileLocks;
}

/** The lock file's name inside a data dir, where the dir itself is the thing guarded. */
export const DATA_DIR_LOCK_FILE = ".lock";

export class DataDirInUseError extends Error {
  constructor(
    readonly dir: string,
    /** The PID the holder wrote into the lock file, when it has written it yet; only for the message. */
    readonly holderPid: number | null,
  ) {
    super(`data dir ${dir} is in use by ${holderPid === null ? "another process" : `process ${holderPid}`}`);
    this.name = "DataDirInUseError";
  }
}

export interface DataDirLock {
  readonly lockPath: string;
  /** Drops the lock; the file stays, since deleting it would let two processes lock two different files. */
  release(): void;
}

/**
 * Locks dir for this process through the file at lockPath (by default inside dir) or throws DataDirInUseError.
 * A second lock on the same dir is refused within one process too, so two brokers in one test process conflict.
 */
export function lockDataDir(dir: string, lockPath = join(dir, DATA_DIR_LOCK_FILE)): DataDirLock {
  const fd = openSync(lockPath, constants.O_RDWR | constants.O_CREAT, 0o644);
  let locked: boolean;
  try {
    locked = fileLocks().tryLock(fd);
  } catch (error) {
    closeSync(fd);
    throw error;
  }
  if (!locked) {
    closeSync(fd);
    throw new DataDirInUseError(dir, recordedHolder(lockPath));
  }
  ftruncateSync(fd, 0);
  writeSync(fd, `${process.pid}\n`, 0);
  let released = false;
  return {
    lockPath,
    release() {
      if (released) return;
      released = true;
      ftruncateSync(fd, 0);
      fileLocks().unlock(fd);
      closeSync(fd);
    },
  };
}

function recordedHolder(lockPath: string): number | null {
  const pid = Number(readFileSync(lockPath, "utf8").trim());
  return Number.isInteger(pid) && pid > 0 ? pid : null;
}
