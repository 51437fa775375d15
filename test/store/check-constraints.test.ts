import assert from "node:assert/strict";

import { MESSAGES_MIGRATIONS_COMPONENT, MESSAGES_MIGRATIONS_DIR } from "../../src/apps/messages/migrations.js";
import { runMigrations, sqlStateOf, type Database } from "../../src/store/index.js";
import { storeTest } from "./harness.js";

/** True when the statement was refused by a CHECK constraint, false when it succeeded. */
async function refusedByCheck(db: Database, sql: string, params: unknown[]): Promise<boolean> {
  try {
    await db.query(sql, params);
    return false;
  } catch (error) {
    if (sqlStateOf(error) === "23514") return true;
    throw error;
  }
}

storeTest("an outbox topic is 1 to 249 letters, digits, dots, underscores and hyphens", async (_t, target) => {
  const db = await target.open();
  const insert = "INSERT INTO sluice_outbox (event_id, topic) VALUES (gen_random_uuid(), $1)";
  for (const topic of ["t", "orders.placed", "A-Z_a-z.0-9", "x".repeat(249)]) {
    assert.equal(await refusedByCheck(db, insert, [topic]), false, `${topic.slice(0, 20)} was refused`);
  }
  for (const topic of ["", "x".repeat(250), "no spaces", "ünïcode", "tab\there", "slash/no", "line\n"]) {
    assert.equal(await refusedByCheck(db, insert, [topic]), true, `${JSON.stringify(topic.slice(0, 20))} was accepted`);
  }
});

storeTest("a stored message's template is a lower-case letter then up to 31 of a-z, 0-9 and -", async (_t, target) => {
  const db = await target.open();
  await runMigrations(db, { directory: MESSAGES_MIGRATIONS_DIR, component: MESSAGES_MIGRATIONS_COMPONENT });
  const insert =
    "INSERT INTO messages (id, body, template, accepted_at) VALUES (gen_random_uuid(), 'hello', $1, now())";
  for (const template of ["a", "default", "dark-blue-2", `a${"b".repeat(31)}`]) {
    assert.equal(await refusedByCheck(db, insert, [template]), false, `${template} was refused`);
  }
  for (const template of ["", `a${"b".repeat(32)}`, "Default", "1st", "-x", "with space", "ünï", "a_b", "a\n"]) {
    assert.equal(await refusedByCheck(db, insert, [template]), true, `${JSON.stringify(template)} was accepted`);
  }
});

storeTest(
  "a bytea parameter is written as given, also a Buffer that is a slice of a larger one",
  async (_t, target) => {
    const db = await target.open();
    const whole = Buffer.from([0, 1, 2, 0x7f, 0x80, 0xfe, 0xff, 0x5c, 0x78]);
    for (const value of [whole, whole.subarray(3, 7), new Uint8Array([9, 8, 7]), Buffer.alloc(0)]) {
      const { rows } = await db.query<{ value: Buffer; length: number }>(
        "SELECT $1::bytea AS value, octet_length($1::bytea) AS length",
        [value],
      );
      assert.deepEqual([...(rows[0]?.value ?? [])], [...value]);
      assert.equal(rows[0]?.length, value.length);
    }
  },
);
