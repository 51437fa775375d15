// The durable log file behind the group and transaction coordinators: a record that only needs to be written must not
// wait for an fsync already running (a transaction's AddPartitionsToTxn would wait for another transaction's
// Prepare), and what the fsync covered, and what was written after it started, must both be read back.

import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import pino from "pino";
import { GroupLogFile } from "../../../src/broker/group/log-file.js";
import { temporaryDir } from "../../helpers/environment.js";

const codec = {
  encode: (record: string): Buffer => Buffer.from(`${record}\n`),
  decode: (data: Buffer): { records: string[]; validBytes: number } => {
    const text = data.toString();
    const end = text.lastIndexOf("\n") + 1;
    return { records: text.slice(0, end).split("\n").filter(Boolean), validBytes: end };
  },
};

function openLog(path: string): Promise<GroupLogFile<string>> {
  return GroupLogFile.open<string>({
    path,
    codec,
    // Never rewritten here: a rewrite waits for the fsync in flight, by design.
    compactBytesMin: 1024 * 1024 * 1024,
    logger: pino({ level: "silent" }),
    snapshot: () => [],
  });
}

test("a write does not wait for an fsync in flight, and both records are read back", async (t) => {
  const path = join(temporaryDir(t), "test.log");
  const log = await openLog(path);
  const order: string[] = [];
  // Enough bytes that their fdatasync takes a while.
  const first = "x".repeat(16 * 1024 * 1024);
  log.append(first);
  await log.written();
  const synced = log.sync().then(() => order.push("fsync of first"));
  // Appended once that fsync has been handed to the thread pool: it is written without waiting for it.
  await new Promise((resolve) => setImmediate(resolve));
  log.append("second");
  await log.written().then(() => order.push("second written"));
  await synced;
  assert.deepEqual(order, ["second written", "fsync of first"]);
  await log.sync();
  await log.close();
  const reopened = await openLog(path);
  assert.deepEqual(reopened.recovered, [first, "second"]);
  await reopened.close();
});
