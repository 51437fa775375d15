// Makes sure a data directory exists and is writable before anything is started in it, so that a bad --data-dir is
// reported as what it is (the path and the operation that failed) rather than as a failure of whatever touched it
// first. It creates missing directories one level at a time: Node's recursive mkdir never returns on paths such as
// /proc/x (the kernel answers ENOENT for a parent that exists), and it blocks the event loop, SIGTERM included.

import { closeSync, mkdirSync, openSync, rmSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

import { CliError } from "./command.js";

const WRITE_CHECK_FILE_NAME = ".sluice-write-check";

function errorCode(error: unknown): string {
  return typeof error === "object" && error !== null && "code" in error ? String(error.code) : "";
}

function reasonOf(error: unknown): string {
  const code = errorCode(error);
  const explanations: Record<string, string> = {
    EACCES: "permission denied",
    EPERM: "operation not permitted",
    EROFS: "the file system is read-only",
    ENOSPC: "no space left on the device",
    ENOTDIR: "a part of the path is not a directory",
    ENOENT: "its parent takes no new directories, as in a virtual file system such as /proc",
  };
  return explanations[code] !== undefined ? `${code}, ${explanations[code]}` : String(error);
}

function dataDirError(dir: string, operation: string, path: string, error: unknown, flag: string): CliError {
  return new CliError(
    `cannot use the data directory ${dir}: ${operation} ${path} failed (${reasonOf(error)})`,
    `Give ${flag} a directory this user (uid ${process.getuid?.() ?? "?"}) may create and write in.`,
    { cause: error },
  );
}

/** Creates dir if needed and checks that files can be written in it; throws a CliError naming what failed. */
export function prepareDataDir(dir: string, flag = "--data-dir"): void {
  const absolute = resolve(dir);
  const missing: string[] = [];
  let existing = absolute;
  for (;;) {
    try {
      if (!statSync(existing).isDirectory()) {
        throw dataDirError(
          dir,
          "using",
          existing,
          Object.assign(new Error("not a directory"), { code: "ENOTDIR" }),
          flag,
        );
      }
      break;
    } catch (error) {
      if (error instanceof CliError) throw error;
      if (errorCode(error) !== "ENOENT" || dirname(existing) === existing) {
        throw dataDirError(dir, "stat", existing, error, flag);
      }
      missing.unshift(existing);
      existing = dirname(existing);
    }
  }
  for (const path of missing) {
    try {
      mkdirSync(path);
    } catch (error) {
      // Another process may have created it in the meantime; that is as good as creating it here.
      if (errorCode(error) !== "EEXIST") throw dataDirError(dir, "mkdir", path, error, flag);
    }
  }
  const probe = join(absolute, `${WRITE_CHECK_FILE_NAME}.${process.pid}`);
  try {
    closeSync(openSync(probe, "w"));
  } catch (error) {
    throw dataDirError(dir, "creating a file in", absolute, error, flag);
  }
  rmSync(probe, { force: true });
}
