// Kills a process with SIGKILL while it compacts a log, at seeded moments, and proves that the log reopens with
// every record it must keep, nothing it never had, the same offsets, and that cleaning it again ends where an
// uninterrupted cleaning would. Replay one case with COMPACTION_CRASH_SEED=<seed>.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { cpSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import pino from "pino";
import { PartitionLog } from "../../src/broker/log/partition-log.js";
import { LogCleaner } from "../../src/broker/log/log-cleaner.js";
import type { LogConfig } from "../../src/broker/log/log-config.js";
import { temporaryDir } from "../helpers/environment.js";
import { appendKeyed, latestByKey, readAll } from "./log/compaction-helpers.js";

const SEGMENT_BYTES = 64 * 1024;
const KEYS = 500;
const RECORDS = 200_000;
const BATCH = 500;
const logger = pino({ level: "silent" });
const config: LogConfig = {
  segmentBytesMax: SEGMENT_BYTES,
  segmentMs: 7 * 24 * 3_600_000,
  retentionMs: -1,
  retentionBytes: -1,
  messageTimestampType: "CreateTime",
  compact: true,
  minCleanableDirtyRatio: 0.01,
};

function seededRandom(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 0x100000000;
  };
}

/** Runs the cleaning process and kills it `delayMs` after it starts cleaning; resolves with whether it finished. */
function cleanAndKill(dir: string, delayMs: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "test/fixtures/compaction-process.ts", dir, String(SEGMENT_BYTES)],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let output = "";
    let errors = "";
    child.stderr.on("data", (chunk: Buffer) => (errors += chunk.toString()));
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes("cleaning") && !output.includes("armed")) {
        output += "armed";
        setTimeout(() => child.kill("SIGKILL"), delayMs);
      }
    });
    child.on("exit", (code, signal) => {
      if (signal === "SIGKILL") resolve(false);
      else if (code === 0) resolve(true);
      else reject(new Error(`cleaning process exited with ${code}: ${errors}`));
    });
  });
}

test("a log killed at seeded moments of its cleaning reopens intact", async (t) => {
  const template = temporaryDir(t, "sluice-compaction-");
  const random = seededRandom(0x5eed);
  const written = PartitionLog.open({ dir: template, config, logger });
  for (let base = 0; base < RECORDS; base += BATCH) {
    appendKeyed(
      written,
      Array.from({ length: BATCH }, (_, i) => {
        const key = Math.floor(random() * KEYS);
        // Some writes are deletes, so that tombstones go through the cleaning too.
        return { key: `key-${key}`, value: random() < 0.02 ? null : `value-${base + i}` };
      }),
      1_700_000_000_000,
    );
  }
  const before = readAll(written);
  const activeBase = written.segmentBaseOffsets().at(-1)!;
  await written.close();
  const latest = latestByKey(before);
  const original = new Map(before.map((record) => [record.offset, record]));
  const latestSealed = latestByKey(before.filter((record) => record.offset < activeBase));
  const expectedFinal = before.filter(
    (record) => record.offset >= activeBase || latestSealed.get(record.key!)!.offset === record.offset,
  );

  const seeds = process.env.COMPACTION_CRASH_SEED ? [Number(process.env.COMPACTION_CRASH_SEED)] : [11, 22, 33, 44];
  let interrupted = 0;
  for (const seed of seeds) {
    const dir = join(temporaryDir(t, "sluice-compaction-"), "log");
    cpSync(template, dir, { recursive: true });
    const delays = seededRandom(Math.imul(seed, 0x9e3779b1));
    delays();
    const delayMs = Math.floor(delays() * 1500);
    const finished = await cleanAndKill(dir, delayMs);
    if (!finished) interrupted++;

    const reopened = PartitionLog.open({ dir, config, logger });
    const after = readAll(reopened);
    const context = `seed ${seed} (killed ${delayMs} ms into cleaning${finished ? ", after it finished" : ""})`;
    assert.equal(reopened.logStartOffset, 0, context);
    assert.equal(reopened.logEndOffset, RECORDS, context);
    for (const record of after) assert.deepEqual(record, original.get(record.offset), context);
    t.diagnostic(`${context}: ${after.length} of ${before.length} records on reopening`);
    const kept = new Set(after.map((record) => record.offset));
    for (const record of latest.values()) assert.ok(kept.has(record.offset), `${context}: latest of ${record.key}`);
    // Cleaning the reopened log ends where an uninterrupted cleaning ends.
    await new LogCleaner({ logs: () => [{ log: reopened, topic: "t", partition: 0 }], logger }).cleanNow();
    assert.deepEqual(readAll(reopened), expectedFinal, context);
    await reopened.close();
  }
  // Where each kill lands depends on the machine's speed; the in-process test in log/compaction.test.ts fails every
  // file operation of a swap in turn, so each step is covered whatever happens here.
  t.diagnostic(`${interrupted} of ${seeds.length} cleanings were killed before they finished`);
});
