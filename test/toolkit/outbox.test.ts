import assert from "node:assert/strict";

import { Type } from "@sinclair/typebox";

import type { Database, Queryable } from "../../src/store/index.js";
import type { OutboxRow } from "../../src/store/sql/outbox-rows.js";
import { EventTooLargeError, EventValidationError, InvalidArgumentError } from "../../src/toolkit/errors.js";
import { encodeEvent, EVENT_HEADERS } from "../../src/toolkit/event.js";
import { addManyToOutbox, addToOutbox, addUnknownToOutbox } from "../../src/toolkit/outbox.js";
import { defineTopic } from "../../src/toolkit/topic.js";
import { parseTraceparent, runWithTraceparent } from "../../src/toolkit/tracing.js";
import { storeTest } from "../store/harness.js";

const accountOpened = defineTopic({
  name: "accounts.opened",
  eventType: "AccountOpened",
  schema: Type.Object(
    { accountId: Type.String(), owner: Type.String({ minLength: 1 }) },
    { additionalProperties: false },
  ),
  key: (event) => event.accountId,
});

const PARENT = "00-5a1f0c3b9e8d7c6b5a4f3e2d1c0b9a88-1122334455667788-01";

type OutboxRowView = Pick<OutboxRow, "event_id" | "topic" | "partition_key" | "key" | "value" | "headers">;

async function outboxRows(db: Database): Promise<OutboxRowView[]> {
  const { rows } = await db.query<OutboxRowView>(
    "SELECT event_id, topic, partition_key, key, value, headers FROM sluice_outbox ORDER BY id",
  );
  return rows;
}

async function createAccounts(db: Database): Promise<void> {
  await db.exec("CREATE TABLE accounts (id text PRIMARY KEY, owner text NOT NULL)");
}

async function openAccount(tx: Queryable, accountId: string, owner: string): Promise<string> {
  await tx.query("INSERT INTO accounts (id, owner) VALUES ($1, $2)", [accountId, owner]);
  return addToOutbox(tx, accountOpened, { accountId, owner });
}

storeTest("an event added with the business write commits with it, with its headers", async (_t, target) => {
  const db = await target.open();
  await createAccounts(db);
  const eventId = await runWithTraceparent(PARENT, () => db.transaction((tx) => openAccount(tx, "acc-1", "Ada")));

  assert.deepEqual((await db.query("SELECT id, owner FROM accounts")).rows, [{ id: "acc-1", owner: "Ada" }]);
  const [row, ...rest] = await outboxRows(db);
  assert.equal(rest.length, 0);
  assert.ok(row !== undefined);
  assert.equal(row.event_id, eventId);
  assert.equal(row.topic, "accounts.opened");
  assert.equal(row.partition_key, "acc-1", "the key orders the account's events");
  assert.equal(row.key?.toString(), "acc-1");
  assert.deepEqual(JSON.parse(row.value?.toString() ?? ""), { accountId: "acc-1", owner: "Ada" });
  assert.equal(row.headers[EVENT_HEADERS.id], eventId);
  assert.equal(row.headers[EVENT_HEADERS.type], "AccountOpened");
  assert.equal(row.headers[EVENT_HEADERS.contentType], "application/json");
  assert.ok(!Number.isNaN(Date.parse(row.headers[EVENT_HEADERS.time] ?? "")));
  const trace = parseTraceparent(row.headers[EVENT_HEADERS.traceparent]);
  assert.equal(trace?.traceId, "5a1f0c3b9e8d7c6b5a4f3e2d1c0b9a88", "the event joins the caller's trace");
});

storeTest("an explicit parent trace wins over the current one; null starts a new trace", async (_t, target) => {
  const db = await target.open();
  const other = "00-0123456789abcdef0123456789abcdef-1122334455667788-01";
  await db.transaction((tx) =>
    addToOutbox(tx, accountOpened, { accountId: "acc-1", owner: "Ada" }, { parentTraceparent: PARENT }),
  );
  await runWithTraceparent(other, () =>
    db.transaction((tx) =>
      addManyToOutbox(tx, accountOpened, [{ accountId: "acc-2", owner: "Bo" }], { parentTraceparent: null }),
    ),
  );
  await assert.rejects(
    db.transaction((tx) =>
      addToOutbox(
        tx,
        accountOpened,
        { accountId: "acc-3", owner: "Cy" },
        {
          parentTraceparent: 42 as unknown as string,
        },
      ),
    ),
    (error: unknown) => error instanceof InvalidArgumentError && /parentTraceparent/.test(error.message),
  );
  const [first, second, ...rest] = await outboxRows(db);
  assert.equal(rest.length, 0, "the event with a bad option was not added");
  assert.equal(parseTraceparent(first?.headers[EVENT_HEADERS.traceparent])?.traceId, PARENT.split("-")[1]);
  const fresh = parseTraceparent(second?.headers[EVENT_HEADERS.traceparent]);
  assert.ok(fresh !== null);
  assert.notEqual(fresh.traceId, other.split("-")[1], "null ignores the current trace");
});

storeTest("an event added in a transaction that rolls back is gone with the business write", async (_t, target) => {
  const db = await target.open();
  await createAccounts(db);
  await assert.rejects(
    db.transaction(async (tx) => {
      await openAccount(tx, "acc-1", "Ada");
      // The business rule fails after the event was added: both must disappear.
      await tx.query("INSERT INTO accounts (id, owner) VALUES ($1, $2)", ["acc-1", "duplicate"]);
    }),
    /duplicate key|unique/i,
  );
  assert.deepEqual((await db.query("SELECT * FROM accounts")).rows, []);
  assert.deepEqual(await outboxRows(db), []);
});

storeTest("an invalid event fails the transaction and never enters the outbox", async (_t, target) => {
  const db = await target.open();
  await createAccounts(db);
  await assert.rejects(
    db.transaction(async (tx) => {
      await tx.query("INSERT INTO accounts (id, owner) VALUES ('acc-2', 'Bob')");
      await addToOutbox(tx, accountOpened, { accountId: "acc-2", owner: "" });
    }),
    (error: unknown) =>
      error instanceof EventValidationError && error.topic === "accounts.opened" && error.field === "owner",
  );
  await assert.rejects(
    db.transaction((tx) => addToOutbox(tx, accountOpened, { accountId: "acc-3", owner: "x".repeat(1_000_001) })),
    EventTooLargeError,
  );
  assert.deepEqual((await db.query("SELECT * FROM accounts")).rows, []);
  assert.deepEqual(await outboxRows(db), []);
});

storeTest("a batch is validated whole, added in order, and a repeated event id adds nothing", async (_t, target) => {
  const db = await target.open();
  const values = Array.from({ length: 700 }, (_, index) => ({ accountId: `acc-${index % 7}`, owner: `o${index}` }));
  const ids = await db.transaction((tx) =>
    addManyToOutbox(tx, accountOpened, values, { headers: { source: "import" } }),
  );
  assert.equal(ids.length, 700);
  assert.equal(new Set(ids).size, 700);
  const rows = await outboxRows(db);
  assert.deepEqual(
    rows.map((row) => row.event_id),
    ids,
  );
  assert.deepEqual(
    rows.map((row) => JSON.parse(row.value?.toString() ?? "").owner),
    values.map((value) => value.owner),
  );
  assert.ok(rows.every((row) => row.headers.source === "import"));

  await assert.rejects(
    db.transaction((tx) =>
      addManyToOutbox(tx, accountOpened, [{ accountId: "a", owner: "ok" }, { accountId: "b" } as never]),
    ),
    (error: unknown) => error instanceof EventValidationError && error.field === "owner",
  );
  await assert.rejects(
    db.transaction((tx) => addManyToOutbox(tx, accountOpened, "nope" as never)),
    InvalidArgumentError,
  );
  const again = await db.transaction((tx) =>
    addToOutbox(tx, accountOpened, { accountId: "acc-0", owner: "retried" }, { eventId: ids[0] }),
  );
  assert.equal(again, ids[0]);
  assert.equal((await outboxRows(db)).length, 700, "the retried command added nothing");
  assert.deepEqual(await db.transaction((tx) => addManyToOutbox(tx, accountOpened, [])), []);
});

storeTest(
  "addUnknownToOutbox adds only ids known nowhere, in order, and says where the others were found",
  async (_t, target) => {
    const db = await target.open();
    await db.exec("CREATE TABLE kept_accounts (id uuid PRIMARY KEY, owner text NOT NULL)");
    const inOutbox = await db.transaction((tx) => addToOutbox(tx, accountOpened, { accountId: "acc-1", owner: "Ada" }));
    const kept = "5d0c2a52-8f4e-4d35-9b1a-0c7e3f6a1b2c";
    await db.query("INSERT INTO kept_accounts (id, owner) VALUES ($1, $2)", [kept, "Bob"]);
    const encode = (accountId: string, eventId: string) =>
      encodeEvent(accountOpened, { accountId, owner: "New" }, { eventId });
    const fresh = ["0b6f4c1e-2f64-4b0a-a0a8-0d2d8f1e9a01", "0b6f4c1e-2f64-4b0a-a0a8-0d2d8f1e9a02"];
    const events = [
      await encode("acc-2", fresh[0]!),
      await encode("acc-1", inOutbox),
      await encode("acc-3", kept),
      await encode("acc-4", fresh[1]!),
    ];
    const found = await db.transaction((tx) =>
      addUnknownToOutbox(tx, accountOpened, events, {
        lookupIds: [inOutbox, kept, fresh[0]!],
        knownIn: { table: "kept_accounts", idColumn: "id", columns: ["owner"] },
      }),
    );
    assert.equal(found.added, 2);
    assert.deepEqual([...found.inOutbox], [[inOutbox, { accountId: "acc-1", owner: "Ada" }]]);
    assert.deepEqual([...found.elsewhere], [[kept, { owner: "Bob" }]]);
    // The two unknown events were added after the first, in the order given; the known ones added nothing.
    assert.deepEqual(
      (await outboxRows(db)).map((row) => row.event_id),
      [inOutbox, fresh[0], fresh[1]],
    );
    await assert.rejects(
      db.transaction((tx) =>
        addUnknownToOutbox(tx, accountOpened, [events[0]!], {
          lookupIds: [],
          knownIn: { table: "kept accounts", idColumn: "id", columns: ["owner"] },
        }),
      ),
      /knownIn.table/,
    );
  },
);
