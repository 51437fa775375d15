// Outbox rows parked as the relay parks them (the broker refused them for good), for the tests of the operator's
// ways to requeue them: the console's API and page, and `sluice outbox`.

import assert from "node:assert/strict";

import {
  addOutboxEvents,
  parkOutboxRow,
  takeOutboxCursor,
  type AddedOutboxEvent,
  type Database,
} from "../../src/store/index.js";

const PARKING_RELAY_ID = "parking-test-relay";

/** Adds one event per key to topic and parks each, in order, with reason; returns the parked rows. */
export async function parkedRowsForTest(
  db: Database,
  topic: string,
  keys: readonly string[],
  reason = "MESSAGE_TOO_LARGE",
): Promise<AddedOutboxEvent[]> {
  const added = await db.transaction((tx) =>
    addOutboxEvents(
      tx,
      keys.map((key) => ({ topic, key, value: `${key}-value` })),
    ),
  );
  assert.equal((await takeOutboxCursor(db, PARKING_RELAY_ID)).taken, true);
  const { rows } = await db.query<{ id: string; xid: string }>(
    "SELECT id::text, xid::text FROM sluice_outbox WHERE id = ANY ($1::bigint[]) ORDER BY id",
    [added.map((row) => row.id)],
  );
  for (const row of rows) {
    assert.equal(await parkOutboxRow(db, PARKING_RELAY_ID, { xid: row.xid, id: Number(row.id) }, reason), true);
  }
  return added;
}
