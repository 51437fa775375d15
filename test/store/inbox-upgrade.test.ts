// Migration 0007 (the inbox's primary key with the event id first) on an inbox that already holds records: they stay,
// redeliveries of them are still skipped, and the key's columns are in their new order.

import assert from "node:assert/strict";
import { copyFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import {
  BUILT_IN_MIGRATIONS_DIR,
  deleteInboxEventsBefore,
  recordInboxEvent,
  recordInboxEvents,
  recordNewInboxEvents,
  runMigrations,
} from "../../src/store/index.js";
import { storeTest, testOnEveryPgliteThread } from "./harness.js";

testOnEveryPgliteThread();

const KEY_EVENT_FIRST = "0007-inbox-key-event-id-first.sql";

function key(eventId: string) {
  return { eventId, topic: "orders", partition: 1, offset: 9 };
}

storeTest("migration 0007 puts the event id first in the inbox's key and keeps the records", async (_t, target) => {
  const builtIn = fileURLToPath(BUILT_IN_MIGRATIONS_DIR);
  const before = (await readdir(builtIn)).filter((file) => file.endsWith(".sql") && file < KEY_EVENT_FIRST).sort();
  const dir = await target.tempDir();
  for (const file of before) await copyFile(join(builtIn, file), join(dir, file));
  const db = await target.open({ migrate: false });
  await runMigrations(db, { directory: dir });
  const keyColumns = async (): Promise<string> =>
    (
      await db.query<{ definition: string }>(
        "SELECT pg_get_indexdef(indexrelid) AS definition FROM pg_index " +
          "WHERE indrelid = 'sluice_inbox'::regclass AND indisprimary",
      )
    ).rows[0]!.definition.replace(/^.*\(/, "(");
  assert.equal(await keyColumns(), "(consumer_group, event_id)");
  await db.transaction((tx) => recordInboxEvents(tx, "billing", [key("e1"), key("e2")]));
  await db.transaction((tx) => recordInboxEvents(tx, "shipping", [key("e1")]));

  await copyFile(join(builtIn, KEY_EVENT_FIRST), join(dir, KEY_EVENT_FIRST));
  assert.deepEqual((await runMigrations(db, { directory: dir })).applied, [
    { version: 7, name: "inbox-key-event-id-first" },
  ]);
  assert.equal(await keyColumns(), "(event_id, consumer_group)");

  // The records from before are still recognised, by both statements, and new ones are recorded.
  assert.equal(await recordInboxEvent(db, { consumerGroup: "billing", ...key("e1") }), false);
  assert.deepEqual(
    await db.transaction((tx) => recordInboxEvents(tx, "shipping", [key("e1"), key("e2")])),
    new Set(["e2"]),
  );
  await assert.rejects(
    db.transaction(async (tx) => {
      assert.equal(await recordNewInboxEvents(tx, "billing", [key("e3"), key("e2")]), null);
      await tx.query("SELECT 1");
    }),
    (error: unknown) => error instanceof Error && /aborted/.test(error.message),
  );
  assert.deepEqual(await db.transaction((tx) => recordNewInboxEvents(tx, "billing", [key("e3")])), new Set(["e3"]));
  const { rows } = await db.query<{ consumer_group: string; event_id: string }>(
    "SELECT consumer_group, event_id FROM sluice_inbox ORDER BY consumer_group, event_id",
  );
  assert.deepEqual(
    rows.map((row) => `${row.consumer_group}/${row.event_id}`),
    ["billing/e1", "billing/e2", "billing/e3", "shipping/e1", "shipping/e2"],
  );
  await db.query("UPDATE sluice_inbox SET processed_at = processed_at - interval '8 days'");
  assert.equal(await deleteInboxEventsBefore(db, { olderThanMs: 7 * 24 * 60 * 60 * 1000 }), 5);
});
