// Reads of the outbox's cursor as a relay makes them, shared by the store's outbox tests.

import assert from "node:assert/strict";

import { readOutboxBatch, type Database, type OutboxPosition, type OutboxRead } from "../../src/store/index.js";

/**
 * How long a read waits for rows held back by an older transaction. On a shared server other tests' (and other
 * processes') transactions in the same database hold rows back, under load for seconds; a relay would wait as long.
 */
const SETTLE_WAIT_MS_MAX = 60_000;

/** Reads for a relay as the relay does: again while rows are held back by an older transaction still running. */
export async function readSettled(db: Database, options: Parameters<typeof readOutboxBatch>[1]): Promise<OutboxRead> {
  const deadline = Date.now() + SETTLE_WAIT_MS_MAX;
  for (;;) {
    const read = await readOutboxBatch(db, options);
    if (!read.heldBack) return read;
    assert.ok(Date.now() < deadline, `rows were still held back after ${SETTLE_WAIT_MS_MAX} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * Reads for a relay from options.after to the end, as the relay does over several reads: a read returns the rows
 * before the first one an older transaction holds back, and says whether the next row is held back, so rows of a
 * later transaction may need another read once the older one ends.
 */
export async function readThrough(db: Database, options: Parameters<typeof readOutboxBatch>[1]): Promise<OutboxRead> {
  const deadline = Date.now() + SETTLE_WAIT_MS_MAX;
  const records: OutboxRead["records"] = [];
  let after = options.after;
  for (;;) {
    const read = await readOutboxBatch(db, { ...options, after });
    records.push(...read.records);
    const last = read.records[read.records.length - 1];
    if (last !== undefined) after = { xid: last.xid, id: last.id };
    else if (!read.heldBack) return { ...read, records };
    else {
      assert.ok(Date.now() < deadline, `rows were still held back after ${SETTLE_WAIT_MS_MAX} ms`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
}

/** Reads for a relay and returns the ids it got, in order. */
export async function readIds(db: Database, options: Parameters<typeof readOutboxBatch>[1]): Promise<number[]> {
  const read = await readSettled(db, options);
  assert.ok(read.held, `${options.relayId} holds the cursor`);
  return read.records.map((row) => row.id);
}

/** The cursor's position, as the relay that takes it sees it. */
export async function cursorPosition(db: Database): Promise<OutboxPosition> {
  const { rows } = await db.query<{ xid: string; id: string }>(
    "SELECT position_xid::text AS xid, position_id::text AS id FROM sluice_outbox_cursor",
  );
  return { xid: rows[0]?.xid ?? "", id: Number(rows[0]?.id) };
}
