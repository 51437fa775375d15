// A relay that starts after another died does not wait for the dead relay's lease on the cursor to run out when it
// knows that relay is dead: on a database its process holds alone (PGlite), and, on a server, when the lease carries
// its own identity (an earlier life of it). The lease of a relay that may still be alive is left alone.

import assert from "node:assert/strict";

import { Type } from "@sinclair/typebox";

import { readOutboxLag, type Database } from "../../src/store/index.js";
import type { KafkaClient } from "../../src/toolkit/kafka/connection.js";
import { addManyToOutbox } from "../../src/toolkit/outbox.js";
import { OutboxRelay } from "../../src/toolkit/outbox-relay.js";
import { defineTopic } from "../../src/toolkit/topic.js";
import { storeTest, waitFor } from "../store/harness.js";
import { publishingScene, readTopic, withStoppables } from "./publishing-helpers.js";

const noteAdded = defineTopic({
  name: "notes.added",
  partitions: 2,
  schema: Type.Object({ noteId: Type.String() }),
  key: (event) => event.noteId,
});
/** Far longer than the test waits: a takeover within the test can only come from knowing the relay is dead. */
const DEAD_LEASE_MS = 120_000;
const TAKEOVER_TIMEOUT_MS = 15_000;

async function addNotes(db: Database, count: number): Promise<void> {
  const values = Array.from({ length: count }, (_, index) => ({ noteId: `note-${index}` }));
  await db.transaction((tx) => addManyToOutbox(tx, noteAdded, values));
}

type Track = <T extends OutboxRelay>(relay: T) => T;

/** Starts a relay that reads every row and dies there, as a killed process would, leaving the cursor leased. */
async function crashAfterClaim(db: Database, client: KafkaClient, relayId: string, track: Track): Promise<void> {
  const doomed = track(
    new OutboxRelay({
      db,
      client,
      relayId,
      leaseMs: DEAD_LEASE_MS,
      hooks: {
        afterClaim: () => {
          throw new Error("killed after claim");
        },
      },
    }),
  );
  await doomed.start();
  await waitFor("the crash", () => doomed.status().state === "crashed", 20_000);
}

/** The rows waiting behind the cursor while relayId holds it; 0 when another relay (or none) holds it. */
async function leasedBy(db: Database, relayId: string): Promise<number> {
  const { rows } = await db.query<{ relay_id: string | null }>("SELECT relay_id FROM sluice_outbox_cursor");
  return rows[0]?.relay_id === relayId ? (await readOutboxLag(db)).waiting : 0;
}

storeTest(
  "on a database it holds alone, a starting relay takes over a dead relay's cursor at once",
  async (t, target) => {
    const { broker, client, db } = await publishingScene(t, target, [noteAdded]);
    await withStoppables(async (track) => {
      await addNotes(db, 12);
      await crashAfterClaim(db, client, "dead-relay", track);
      assert.equal(await leasedBy(db, "dead-relay"), 12);
      const successor = track(new OutboxRelay({ db, client, relayId: "successor", idlePollIntervalMs: 100 }));
      await successor.start();
      await waitFor(
        "the successor to publish every row",
        () => successor.status().published === 12,
        TAKEOVER_TIMEOUT_MS,
      );
      assert.equal((await readTopic(broker, noteAdded.name, 12)).length, 12, "nothing was sent twice");
    });
  },
  { kinds: ["pglite"] },
);

storeTest(
  "with a server, a relay restarting under its own identity takes back the cursor at once; another relay waits",
  async (t, target) => {
    const { broker, client, db } = await publishingScene(t, target, [noteAdded]);
    await withStoppables(async (track) => {
      await addNotes(db, 12);
      await crashAfterClaim(db, client, "pod-a", track);
      // Another relay on a shared server cannot tell whether pod-a is dead: it leaves the lease alone.
      const other = track(new OutboxRelay({ db, client, relayId: "pod-b", idlePollIntervalMs: 50 }));
      await other.start();
      await new Promise((resolve) => setTimeout(resolve, 500));
      assert.equal(other.status().published, 0);
      assert.equal(await leasedBy(db, "pod-a"), 12, "pod-a's lease still holds");

      const restarted = track(new OutboxRelay({ db, client, relayId: "pod-a", idlePollIntervalMs: 100 }));
      await restarted.start();
      await waitFor(
        "the restarted relay and its peer to publish every row",
        () => restarted.status().published + other.status().published === 12,
        TAKEOVER_TIMEOUT_MS,
      );
      assert.equal((await readTopic(broker, noteAdded.name, 12)).length, 12, "nothing was sent twice");
    });
  },
  { kinds: ["postgres"] },
);
