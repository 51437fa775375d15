// Keeps two `sluice up` processes from opening the same PGlite directory: PGlite has no locking of its own, and two
// processes writing one database directory would corrupt it.

import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

import { CliError } from "../command.js";

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Takes the lock file at path (beside the directory it guards, never inside PostgreSQL's own files) for this
 * process and returns the function that releases it. A lock left by a process that no longer runs (killed with
 * SIGKILL) is taken over.
 */
export function lockDataDir(dir: string, path: string): () => void {
  mkdirSync(dirname(path), { recursive: true });
  if (existsSync(path)) {
    const pid = Number(readFileSync(path, "utf8").trim());
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) {
      throw new CliError(
        `the database directory ${dir} is in use by process ${pid}`,
        "Stop that process first, or give this one another --data-dir.",
      );
    }
  }
  writeFileSync(path, String(process.pid));
  return () => rmSync(path, { force: true });
}
