// The outbox relay held back by another session's open transaction: the warning naming that session, the gauge, the
// status, and the log when rows flow again.

import assert from "node:assert/strict";
import { test, type TestContext } from "node:test";

import { Type } from "@sinclair/typebox";

import type { Database } from "../../src/store/index.js";
import { InvalidArgumentError } from "../../src/toolkit/errors.js";
import type { ToolkitLogger } from "../../src/toolkit/logger.js";
import { addToOutbox } from "../../src/toolkit/outbox.js";
import { OutboxRelay } from "../../src/toolkit/outbox-relay.js";
import { defineTopic } from "../../src/toolkit/topic.js";
import { openIdleTransaction, storeTest, waitFor, type StoreTarget } from "../store/harness.js";
import { databaseWithFault, metricValue, publishingScene, readTopic, withStoppables } from "./publishing-helpers.js";

const GAUGE = "sluice_outbox_relay_held_back_seconds";

const parcelShipped = defineTopic({
  name: "parcels.shipped",
  schema: Type.Object({ parcelId: Type.String() }),
  key: (event) => event.parcelId,
});

interface LogLine {
  level: string;
  details: Record<string, unknown>;
  message: string;
}

function capturingLogger(): ToolkitLogger & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  const log = (level: string) => (details: object, message: string) =>
    void lines.push({ level, details: details as Record<string, unknown>, message });
  return { lines, debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") };
}

const heldBackWarnings = (lines: readonly LogLine[]) =>
  lines.filter((line) => line.level === "warn" && line.message.includes("held back"));

/**
 * Commits an event while another session holds a transaction open, runs a relay on db (or what wrap makes of it) with
 * a short heldBackWarnAfterMs, and hands the blocking session, the relay and its log to check; the blocking
 * transaction always ends, since it would hold back every other relay test on the server.
 */
async function heldBackScene(
  t: TestContext,
  target: StoreTarget,
  check: (scene: {
    db: Database;
    relay: OutboxRelay;
    logger: ReturnType<typeof capturingLogger>;
    blocker: Awaited<ReturnType<typeof openIdleTransaction>>;
  }) => Promise<void>,
  wrap: (db: Database) => Database = (db) => db,
): Promise<void> {
  const { broker, client, db } = await publishingScene(t, target, [parcelShipped]);
  const blocker = await openIdleTransaction(`blocker-${process.pid}-${Date.now() % 100_000}`);
  try {
    await addToOutbox(db, parcelShipped, { parcelId: "p-1" });
    const logger = capturingLogger();
    await withStoppables(async (track) => {
      const relay = track(
        new OutboxRelay({ db: wrap(db), client, logger, heldBackWarnAfterMs: 300, lagIntervalMs: 0 }),
      );
      await relay.start();
      await check({ db, relay, logger, blocker });
      await blocker.end();
      await waitFor("the event to be published", () => relay.status().published === 1, 10_000);
      await waitFor("the flowing-again log", () => logger.lines.some((line) => line.message.includes("flowing again")));
      const flowing = logger.lines.find((line) => line.message.includes("flowing again"))!;
      assert.equal(flowing.level, "info");
      assert.ok((flowing.details.heldBackMs as number) >= 300);
      assert.equal(await metricValue(GAUGE, { schema: db.schema }), 0);
      assert.equal(relay.status().heldBackMs, 0);
    });
    assert.equal((await readTopic(broker, parcelShipped.name, 1)).length, 1);
  } finally {
    await blocker.end();
  }
}

storeTest(
  "a relay held back by another session's open transaction warns once, naming it, and logs when rows flow again",
  (t, target) =>
    heldBackScene(t, target, async ({ db, relay, logger, blocker }) => {
      await waitFor("the held-back warning", () => heldBackWarnings(logger.lines).length > 0, 5_000);
      const [warning] = heldBackWarnings(logger.lines);
      const holder = warning!.details.holder as Record<string, unknown>;
      if (holder.pid === blocker.pid) {
        assert.equal(holder.applicationName, blocker.applicationName);
        assert.equal(holder.state, "idle in transaction");
        assert.ok((holder.transactionAgeMs as number) >= 300);
      } else {
        // Another test on the shared server held a transaction open since before the blocker's: the relay names the
        // oldest, which then is that one, open at least as long as the rows (added after the blocker began) waited.
        assert.ok(
          (holder.transactionAgeMs as number) >= (warning!.details.heldBackMs as number),
          `${warning!.message}: it names session ${String(holder.pid)}, younger than the blocker ${blocker.pid}`,
        );
      }
      assert.match(warning!.message, new RegExp(`session ${String(holder.pid)} `));
      assert.match(warning!.message, /idle_in_transaction_session_timeout/);
      assert.ok((warning!.details.heldBackMs as number) >= 300);
      assert.ok((await metricValue(GAUGE, { schema: db.schema })) >= 0.3);
      assert.ok(relay.status().heldBackMs >= 300);
      assert.equal(relay.status().published, 0, "the event waits behind the open transaction");
      // The next warning comes only a minute later.
      await new Promise((resolve) => setTimeout(resolve, 500));
      assert.equal(heldBackWarnings(logger.lines).length, 1);
      assert.equal(relay.status().published, 0);
    }),
  { kinds: ["postgres"] },
);

storeTest(
  "a failed lookup of the holding session still warns, without its details, and the relay goes on",
  (t, target) =>
    heldBackScene(
      t,
      target,
      async ({ db, relay, logger }) => {
        await waitFor("the held-back warning", () => heldBackWarnings(logger.lines).length > 0, 5_000);
        const [warning] = heldBackWarnings(logger.lines);
        assert.equal(warning!.details.holder, undefined);
        assert.match(String(warning!.details.err), /permission denied for pg_stat_activity/);
        assert.match(warning!.message, /looking it up in pg_stat_activity failed/);
        assert.ok((await metricValue(GAUGE, { schema: db.schema })) > 0);
        assert.equal(relay.status().state, "running");
        assert.equal(relay.status().published, 0);
      },
      (db) =>
        databaseWithFault(db, async (sql) => {
          if (sql.includes("application_name")) throw new Error("permission denied for pg_stat_activity");
        }),
    ),
  { kinds: ["postgres"] },
);

test("heldBackWarnAfterMs must be a whole number of milliseconds from 1", () => {
  const db = { kind: "postgres", schema: "s" } as unknown as Database;
  const client = {} as never;
  assert.throws(() => new OutboxRelay({ db, client, heldBackWarnAfterMs: 0 }), InvalidArgumentError);
  assert.throws(() => new OutboxRelay({ db, client, heldBackWarnAfterMs: 1.5 }), /heldBackWarnAfterMs/);
});
