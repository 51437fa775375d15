// Migration 0004 (the relay's cursor) on a database that already has outbox rows: published ones stay published,
// waiting and leased ones are published next, in id order, before rows added after the upgrade.

import assert from "node:assert/strict";
import { copyFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import {
  addOutboxEvents,
  BUILT_IN_MIGRATIONS_DIR,
  readOutboxLag,
  runMigrations,
  takeOutboxCursor,
  type Database,
  type OutboxRead,
} from "../../src/store/index.js";
import { storeTest } from "./harness.js";
import { readSettled } from "./outbox-reads.js";

const BEFORE_CURSOR = ["0001-outbox-and-inbox.sql", "0002-users.sql", "0003-outbox-leased-key-index.sql"];
const CURSOR = "0004-outbox-cursor.sql";

/** Reads as the relay does: again while rows are held back by another test's transaction still running. */
async function readAll(db: Database, relayId: string): Promise<OutboxRead> {
  const { position } = await takeOutboxCursor(db, relayId);
  return readSettled(db, { relayId, after: position });
}

storeTest(
  "upgrading an outbox with waiting, leased and published rows publishes exactly the unsent ones",
  async (_t, target) => {
    const builtIn = fileURLToPath(BUILT_IN_MIGRATIONS_DIR);
    const dir = await target.tempDir();
    for (const file of BEFORE_CURSOR) await copyFile(join(builtIn, file), join(dir, file));
    const db = await target.open({ migrate: false });
    await runMigrations(db, { directory: dir });

    await addOutboxEvents(
      db,
      Array.from({ length: 6 }, (_, index) => ({ topic: "t", key: `k${index % 2}`, value: `old-${index + 1}` })),
    );
    // Rows 1 and 3 were published, row 4 is leased to a relay of the previous version, rows 2, 5 and 6 wait.
    await db.query("UPDATE sluice_outbox SET published_at = now() WHERE id IN (1, 3)");
    await db.query(
      "UPDATE sluice_outbox SET claimed_by = 'old-relay', claim_expires_at = now() + interval '1 hour', claim_count = 1 WHERE id = 4",
    );

    await copyFile(join(builtIn, CURSOR), join(dir, CURSOR));
    assert.deepEqual((await runMigrations(db, { directory: dir })).applied, [{ version: 4, name: "outbox-cursor" }]);
    await addOutboxEvents(db, [{ topic: "t", key: "k0", value: "new-7" }]);

    assert.equal((await readOutboxLag(db)).waiting, 5);
    const read = await readAll(db, "new-relay");
    assert.deepEqual(
      read.records.map((row) => [row.id, row.value?.toString(), row.failedAttempts]),
      [
        [2, "old-2", 0],
        [4, "old-4", 1],
        [5, "old-5", 0],
        [6, "old-6", 0],
        [7, "new-7", 0],
      ],
    );
  },
);
