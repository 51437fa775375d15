// Group commit (src/toolkit/group-commit.ts, outbox-group-commit.ts) against PGlite and the PostgreSQL server: writes
// submitted together share one transaction, each is answered only once that transaction committed, one item's own
// failure fails no other, events keep their order per key, and the queue and the committer's life have limits.

import assert from "node:assert/strict";

import { Type } from "@sinclair/typebox";

import type { Database, Queryable } from "../../src/store/index.js";
import { EventValidationError, ToolkitError, ToolkitErrorCode } from "../../src/toolkit/errors.js";
import { GroupCommit, type GroupOutcome } from "../../src/toolkit/group-commit.js";
import { OutboxGroupCommit } from "../../src/toolkit/outbox-group-commit.js";
import { defineTopic } from "../../src/toolkit/topic.js";
import { storeTest } from "../store/harness.js";

const noteAdded = defineTopic({
  name: "notes.added",
  eventType: "NoteAdded",
  schema: Type.Object(
    { author: Type.String({ minLength: 1 }), sequence: Type.Integer({ minimum: 0 }) },
    { additionalProperties: false },
  ),
  key: (event) => event.author,
});

async function createNotes(db: Database): Promise<void> {
  // The CHECK is a constraint the writer below does not check first, so a bad note fails its INSERT.
  await db.exec("CREATE TABLE notes (id integer PRIMARY KEY, body text NOT NULL CHECK (body <> 'bad'))");
}

interface Note {
  id: number;
  body: string;
}

/** Inserts a group of notes in one statement; a note with an empty body is refused before any SQL runs. */
async function writeNotes(tx: Queryable, notes: readonly Note[]): Promise<Array<GroupOutcome<number>>> {
  const valid = notes.filter((note) => note.body !== "");
  if (valid.length > 0) {
    const values = valid.map((_, index) => `($${2 * index + 1}::integer, $${2 * index + 2})`).join(", ");
    await tx.query(
      `INSERT INTO notes (id, body) VALUES ${values}`,
      valid.flatMap((note) => [note.id, note.body]),
    );
  }
  return notes.map((note) =>
    note.body === "" ? { ok: false, error: new Error(`note ${note.id} is empty`) } : { ok: true, value: note.id },
  );
}

async function noteIds(db: Queryable): Promise<number[]> {
  const { rows } = await db.query<{ id: number }>("SELECT id FROM notes ORDER BY id");
  return rows.map((row) => row.id);
}

storeTest("writes submitted together share transactions and each is answered after its commit", async (_t, target) => {
  const db = await target.open();
  await createNotes(db);
  const peer = await target.peer(db);
  const groupSizes: number[] = [];
  const group = new GroupCommit<Note, number>({ db, write: writeNotes, onGroup: (size) => groupSizes.push(size) });
  const count = 200;
  // Each answer is checked from another connection (on a server) the moment it arrives: the note must be visible,
  // which it is only once the transaction holding it committed.
  const seenAtAnswer = await Promise.all(
    Array.from({ length: count }, async (_, id) => {
      await group.submit({ id, body: `note ${id}` });
      const { rows } = await peer.query<{ id: number }>("SELECT id FROM notes WHERE id = $1", [id]);
      return rows.length;
    }),
  );
  assert.deepEqual(seenAtAnswer, Array(count).fill(1));
  assert.equal((await noteIds(db)).length, count);
  const status = group.status();
  assert.equal(status.items, count);
  assert.equal(
    groupSizes.reduce((sum, size) => sum + size, 0),
    count,
  );
  assert.ok(status.groups < count / 4, `${count} writes took ${status.groups} transactions`);
  await group.close();
});

storeTest("an item is not answered while its group's transaction is still open", async (_t, target) => {
  const db = await target.open();
  await createNotes(db);
  let release: () => void = () => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  let writes = 0;
  const group = new GroupCommit<Note, number>({
    db,
    write: async (tx, notes) => {
      writes += 1;
      const outcomes = await writeNotes(tx, notes);
      // The first group's transaction stays open until the test lets it commit.
      if (writes === 1) await held;
      return outcomes;
    },
  });
  let answered = false;
  const first = group.submit({ id: 1, body: "one" }).then((id) => {
    answered = true;
    return id;
  });
  while (writes === 0) await new Promise((resolve) => setTimeout(resolve, 5));
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal(answered, false, "answered before its transaction committed");
  release();
  assert.equal(await first, 1);
  assert.deepEqual(await noteIds(db), [1]);
  await group.close();
});

for (const oneStatement of [false, true]) {
  const how = oneStatement ? ", its one statement without a transaction" : "";
  storeTest(
    `one bad write in a group fails alone, whether refused first or by a constraint${how}`,
    async (_t, target) => {
      const db = await target.open();
      await createNotes(db);
      const targets = new Set<boolean>();
      const group = new GroupCommit<Note, number>({
        db,
        oneStatement,
        write: (tx, notes) => {
          targets.add(tx === db);
          return writeNotes(tx, notes);
        },
      });
      const notes: Note[] = Array.from({ length: 30 }, (_, id) => ({
        id,
        body: id === 7 ? "" : id === 19 ? "bad" : `note ${id}`,
      }));
      const results = await Promise.allSettled(notes.map((note) => group.submit(note)));
      for (const [id, result] of results.entries()) {
        if (id === 7 || id === 19) {
          assert.equal(result.status, "rejected", `note ${id}`);
        } else {
          assert.deepEqual(result, { status: "fulfilled", value: id });
        }
      }
      const rejected = results[19] as PromiseRejectedResult;
      assert.match(String((rejected.reason as Error).message), /check constraint/);
      assert.deepEqual(
        await noteIds(db),
        notes.filter((note) => note.id !== 7 && note.id !== 19).map((note) => note.id),
      );
      assert.ok(group.status().isolatedGroups >= 1, "the constraint failure was isolated by savepoints");
      // With oneStatement a group's write gets the database itself, and the isolating retry a transaction.
      assert.deepEqual([...targets].sort(), oneStatement ? [false, true] : [false]);
      // The committer goes on working after a failed group.
      assert.equal(await group.submit({ id: 100, body: "after" }), 100);
      await group.close();
    },
  );
}

storeTest("events added through the outbox group commit keep their order per key", async (_t, target) => {
  const db = await target.open();
  const outbox = new OutboxGroupCommit({ db, batchMax: 16 });
  const authors = ["ada", "grace", "linus"];
  const perAuthor = 60;
  const added: Array<Promise<string>> = [];
  // Submitted in sequence order per author, interleaved between authors, all at once.
  for (let sequence = 0; sequence < perAuthor; sequence += 1) {
    for (const author of authors) added.push(outbox.add(noteAdded, { author, sequence }));
  }
  const invalid = outbox.add(noteAdded, { author: "", sequence: 1 });
  await assert.rejects(invalid, EventValidationError);
  const ids = await Promise.all(added);
  assert.equal(new Set(ids).size, ids.length);
  const { rows } = await db.query<{ partition_key: string; value: Buffer }>(
    "SELECT partition_key, value FROM sluice_outbox ORDER BY id",
  );
  assert.equal(rows.length, authors.length * perAuthor);
  for (const author of authors) {
    const sequences = rows
      .filter((row) => row.partition_key === author)
      .map((row) => (JSON.parse(row.value.toString("utf8")) as { sequence: number }).sequence);
    assert.deepEqual(
      sequences,
      Array.from({ length: perAuthor }, (_, index) => index),
      `order of ${author}`,
    );
  }
  assert.ok(outbox.status().groups >= (authors.length * perAuthor) / 16, "groups stayed within batchMax");
  await outbox.close();
});

storeTest("waitMs gathers writes that arrive one after another into one group", async (_t, target) => {
  const db = await target.open();
  await createNotes(db);
  const group = new GroupCommit<Note, number>({ db, write: writeNotes, waitMs: 500 });
  const answers: Array<Promise<number>> = [];
  for (let id = 0; id < 5; id += 1) {
    answers.push(group.submit({ id, body: `note ${id}` }));
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.deepEqual(await Promise.all(answers), [0, 1, 2, 3, 4]);
  assert.equal(group.status().groups, 1);
  await group.close();
});

storeTest("a full queue and a closed committer refuse at once, with their codes", async (_t, target) => {
  const db = await target.open();
  await createNotes(db);
  const group = new GroupCommit<Note, number>({ db, write: writeNotes, queueMax: 3 });
  const accepted = [0, 1, 2].map((id) => group.submit({ id, body: `note ${id}` }));
  await assert.rejects(
    group.submit({ id: 3, body: "one too many" }),
    (error: unknown) => error instanceof ToolkitError && error.code === ToolkitErrorCode.GROUP_COMMIT_FULL,
  );
  const closing = group.close();
  await assert.rejects(
    group.submit({ id: 4, body: "too late" }),
    (error: unknown) => error instanceof ToolkitError && error.code === ToolkitErrorCode.GROUP_COMMIT_CLOSED,
  );
  await closing;
  // close() waited for the queued writes, which all committed.
  assert.deepEqual(await Promise.all(accepted), [0, 1, 2]);
  assert.deepEqual(await noteIds(db), [0, 1, 2]);
});
