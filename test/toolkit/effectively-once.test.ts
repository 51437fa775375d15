// The effectively-once simulation: a producer service writes business rows and outbox events in transactions (some
// roll back), outbox relays publish them, and a consumer group writes one ledger row per event. Relays and consumer
// members crash at every point where a crash could lose or duplicate work, and are replaced by new instances until
// everything drains. In the end each committed event must have reached the topic and the ledger exactly once, and
// no rolled-back event anywhere. Every decision comes from a seeded generator: SIM_SEED=<n> replays the decisions
// of a failed run (the interleaving of the components still depends on timing).

import assert from "node:assert/strict";

import { Type } from "@sinclair/typebox";

import { readOutboxLag, type Database } from "../../src/store/index.js";
import type { ConsumerCrashPoint, InboxConsumer } from "../../src/toolkit/consumer.js";
import { EVENT_HEADERS } from "../../src/toolkit/event.js";
import type { KafkaClient } from "../../src/toolkit/kafka/connection.js";
import { addToOutbox } from "../../src/toolkit/outbox.js";
import { OutboxRelay } from "../../src/toolkit/outbox-relay.js";
import { defineTopic } from "../../src/toolkit/topic.js";
import { brokerForTest } from "../helpers/broker.js";
import { seededRandom, storeTest } from "../store/harness.js";
import { consumerFor, counterValue, createTopic, toolkitClientFor, uniqueGroup } from "./consumer-support.js";
import { readTopic, type ReadRecord } from "./publishing-helpers.js";

const ROUNDS = Number(process.env.SIM_ROUNDS ?? 6);
/**
 * Rounds added after the planned ones while some crash point has not been hit yet. A planned crash can miss (its
 * instance sees fewer arrivals than planned before the round drains), so coverage rounds plan the missed points at
 * their first arrival; without them a run could fail on luck rather than on a lost or duplicated event.
 */
const COVERAGE_ROUNDS_MAX = 6;
const EVENTS_PER_ROUND = 50;
const PARTITIONS = 3;
const ACCOUNTS = 8;
/** A producer transaction holds this many events at most. */
const EVENTS_PER_TRANSACTION_MAX = 4;
const ROLLBACK_PROBABILITY = 0.2;
/** Chance that an event's handler fails once (a retriable error, so it is retried through the retry topic). */
const FLAKY_PROBABILITY = 0.04;
/** Crashes per round at most, so that every round drains in bounded time. */
const RELAY_CRASHES_PER_ROUND_MAX = 3;
const CONSUMER_CRASHES_PER_ROUND_MAX = 3;
/** Chance that a newly started instance is given a crash (while the round's budget lasts). */
const CRASH_PLAN_PROBABILITY = 0.75;
const RELAY_LEASE_MS = 300;
const ROUND_DRAIN_TIMEOUT_MS = 30_000;
const SUPERVISOR_INTERVAL_MS = 25;
const TEST_TIMEOUT_MS = 120_000;

const RELAY_POINTS = ["afterClaim", "afterSend"] as const;
type RelayPoint = (typeof RELAY_POINTS)[number];
/** The consumer's hook points, plus "mid-handler": the process dies while the handler runs, after it wrote. */
const CONSUMER_POINTS = ["before-handler", "mid-handler", "after-handler", "after-commit"] as const;
type ConsumerPoint = (typeof CONSUMER_POINTS)[number];

const ledgerEntry = defineTopic({
  name: `ledger-entries-${process.pid}`,
  partitions: PARTITIONS,
  eventType: "LedgerEntryRecorded",
  schema: Type.Object({
    entryId: Type.String({ minLength: 1 }),
    accountId: Type.String({ minLength: 1 }),
    amountCents: Type.Integer(),
  }),
  key: (entry) => entry.accountId,
});

type LedgerEntry = { entryId: string; accountId: string; amountCents: number };

/** A crash one instance will have: at its `at`-th arrival at `point`. */
interface CrashPlan<P extends string> {
  point: P;
  at: number;
}

/** Decides which instances crash and where, favouring the points that crashed least so far. */
class CrashPlanner<P extends string> {
  readonly counts: Map<P, number>;
  #plannedThisRound = 0;
  #coverageOnly = false;

  constructor(
    readonly points: readonly P[],
    private readonly random: () => number,
    private readonly perRoundMax: number,
    private readonly arrivalsMax: number,
  ) {
    this.counts = new Map(points.map((point) => [point, 0]));
  }

  /** In a coverage round only points that never crashed are planned, each certainly and at its first arrival. */
  newRound(coverageOnly: boolean): void {
    this.#plannedThisRound = 0;
    this.#coverageOnly = coverageOnly;
  }

  get uncovered(): P[] {
    return this.points.filter((point) => this.counts.get(point) === 0);
  }

  plan(): CrashPlan<P> | null {
    if (this.#plannedThisRound >= this.perRoundMax) return null;
    if (this.#coverageOnly) {
      const point = this.uncovered[0];
      if (point === undefined) return null;
      this.#plannedThisRound += 1;
      return { point, at: 1 };
    }
    if (this.random() >= CRASH_PLAN_PROBABILITY) return null;
    this.#plannedThisRound += 1;
    const fewest = Math.min(...this.counts.values());
    const candidates = this.points.filter((point) => this.counts.get(point) === fewest);
    const point = candidates[Math.floor(this.random() * candidates.length)] ?? this.points[0]!;
    return { point, at: 1 + Math.floor(this.random() * this.arrivalsMax) };
  }

  crashed(point: P): void {
    this.counts.set(point, (this.counts.get(point) ?? 0) + 1);
  }
}

/** Counts an instance's arrivals at each point and says when its plan says to crash. */
function crashTrigger<P extends string>(plan: CrashPlan<P> | null, planner: CrashPlanner<P>): (point: P) => boolean {
  const arrivals = new Map<P, number>();
  let spent = false;
  return (point) => {
    if (plan === null || spent || point !== plan.point) return false;
    const count = (arrivals.get(point) ?? 0) + 1;
    arrivals.set(point, count);
    if (count < plan.at) return false;
    spent = true;
    planner.crashed(point);
    return true;
  };
}

interface Produced {
  committed: Map<string, string>;
  rolledBack: Map<string, string>;
  flaky: Set<string>;
}

/** The producer service: business rows and their outbox events, in transactions of which some roll back. */
async function produceRound(
  db: Database,
  round: number,
  random: () => number,
  produced: Produced,
  eventsPerRound: number,
): Promise<void> {
  let next = 0;
  // At least one committed flaky event per round, so that the retry path runs in every round.
  let flakyThisRound = false;
  while (next < eventsPerRound) {
    const size = Math.min(eventsPerRound - next, 1 + Math.floor(random() * EVENTS_PER_TRANSACTION_MAX));
    const rollBack = random() < ROLLBACK_PROBABILITY;
    const entries: LedgerEntry[] = [];
    for (let index = 0; index < size; index += 1) {
      entries.push({
        entryId: `r${round}-e${next + index}`,
        accountId: `account-${Math.floor(random() * ACCOUNTS)}`,
        amountCents: Math.floor(random() * 10_000) - 5_000,
      });
    }
    next += size;
    // Decided before the commit, so that a consumer never sees the event before its decision.
    for (const entry of entries) {
      if (random() < FLAKY_PROBABILITY || (!rollBack && !flakyThisRound)) {
        produced.flaky.add(entry.entryId);
        if (!rollBack) flakyThisRound = true;
      }
    }
    const eventIds = new Map<string, string>();
    try {
      await db.transaction(async (tx) => {
        for (const entry of entries) {
          await tx.query("INSERT INTO transfers (entry_id, account_id, amount_cents) VALUES ($1, $2, $3)", [
            entry.entryId,
            entry.accountId,
            entry.amountCents,
          ]);
          eventIds.set(entry.entryId, await addToOutbox(tx, ledgerEntry, entry));
        }
        if (rollBack) throw new RolledBack();
      });
    } catch (error) {
      if (!(error instanceof RolledBack)) throw error;
    }
    for (const [entryId, eventId] of eventIds) {
      if (rollBack) {
        produced.rolledBack.set(entryId, eventId);
        continue;
      }
      produced.committed.set(entryId, eventId);
    }
    await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 5)));
  }
}

class RolledBack extends Error {}

/**
 * Entries whose first delivery came after a later-committed entry of the same key. The producer commits one
 * transaction at a time, entries in order, so entry r<round>-e<n> was committed before every higher (round, n).
 */
function keyOrderViolations(records: readonly ReadRecord[]): string[] {
  const seen = new Set<string>();
  const lastByKey = new Map<string, number>();
  const violations: string[] = [];
  for (const record of records) {
    const eventId = record.headers[EVENT_HEADERS.id] ?? "";
    if (seen.has(eventId)) continue;
    seen.add(eventId);
    const { entryId } = JSON.parse(record.value ?? "{}") as { entryId: string };
    const [, round, index] = /^r(\d+)-e(\d+)$/.exec(entryId) ?? [];
    if (round === undefined || index === undefined) {
      violations.push(`${entryId} is not an entry id of this test`);
      continue;
    }
    const position = Number(round) * EVENTS_PER_ROUND + Number(index);
    const key = record.key ?? "";
    if (position <= (lastByKey.get(key) ?? -1)) violations.push(`${entryId} of ${key}`);
    lastByKey.set(key, Math.max(position, lastByKey.get(key) ?? -1));
  }
  return violations;
}

async function count(db: Database, sql: string): Promise<number> {
  const { rows } = await db.query<{ total: number }>(sql);
  return rows[0]?.total ?? 0;
}

storeTest(
  "effectively once: relays and consumers crashing at every point lose and duplicate nothing",
  async (t, target) => {
    const seed = process.env.SIM_SEED === undefined ? Date.now() % 2 ** 31 : Number(process.env.SIM_SEED);
    assert.ok(Number.isInteger(seed), `SIM_SEED must be an integer, got ${process.env.SIM_SEED}`);
    t.diagnostic(`SIM_SEED=${seed} (${ROUNDS} rounds of ${EVENTS_PER_ROUND} events)`);
    // Separate streams, so that the data produced and the n-th instance's crash plan replay whatever the timing.
    const producerRandom = seededRandom(seed);
    const topologyRandom = seededRandom(seed + 1);
    const relayRandom = seededRandom(seed + 2);
    const consumerRandom = seededRandom(seed + 3);
    const broker = await brokerForTest(t);
    const client: KafkaClient = toolkitClientFor(broker);
    await createTopic(client, ledgerEntry);
    const db = await target.open({ poolSize: 12 });
    await db.exec(`
      CREATE TABLE transfers (entry_id text PRIMARY KEY, account_id text NOT NULL, amount_cents integer NOT NULL);
      CREATE TABLE ledger (id serial PRIMARY KEY, entry_id text NOT NULL, account_id text NOT NULL,
        amount_cents integer NOT NULL);
    `);
    const groupId = uniqueGroup("ledger");
    const relayPlanner = new CrashPlanner<RelayPoint>(RELAY_POINTS, relayRandom, RELAY_CRASHES_PER_ROUND_MAX, 3);
    const consumerPlanner = new CrashPlanner<ConsumerPoint>(
      CONSUMER_POINTS,
      consumerRandom,
      CONSUMER_CRASHES_PER_ROUND_MAX,
      20,
    );
    const produced: Produced = { committed: new Map(), rolledBack: new Map(), flaky: new Set() };
    const failedOnce = new Set<string>();
    let handlerFailures = 0;
    const relays: OutboxRelay[] = [];
    const consumers: InboxConsumer[] = [];
    let relayCount = 0;

    const startRelay = async (): Promise<OutboxRelay> => {
      relayCount += 1;
      const crashesAt = crashTrigger(relayPlanner.plan(), relayPlanner);
      const relay = new OutboxRelay({
        db,
        client,
        relayId: `relay-${relayCount}`,
        batchSize: 5 + Math.floor(relayRandom() * 16),
        leaseMs: RELAY_LEASE_MS,
        idlePollIntervalMs: 100,
        pollIntervalMs: 50,
        backoffBaseMs: 20,
        backoffMaxMs: 200,
        lagIntervalMs: 0,
        cleanupIntervalMs: 0,
        random: seededRandom(Math.floor(relayRandom() * 2 ** 31)),
        hooks: {
          afterClaim: () => {
            if (crashesAt("afterClaim")) throw new Error("the relay process died between commit and send");
          },
          afterSend: () => {
            if (crashesAt("afterSend")) throw new Error("the relay process died between send and mark");
          },
        },
      });
      relays.push(relay);
      await relay.start();
      return relay;
    };

    const startConsumer = async (): Promise<InboxConsumer> => {
      const crashesAt = crashTrigger(consumerPlanner.plan(), consumerPlanner);
      let self: InboxConsumer | null = null;
      const consumer = consumerFor(consumers, {
        client,
        db,
        groupId,
        topics: [ledgerEntry],
        concurrency: 2,
        retry: { attempts: 5, baseDelayMs: 20, maxDelayMs: 100 },
        failureBackoffMaxMs: 200,
        inboxCleanupIntervalMs: 24 * 60 * 60 * 1000,
        random: seededRandom(Math.floor(consumerRandom() * 2 ** 31)),
        handler: async (event, tx) => {
          const { entryId, accountId, amountCents } = event.value;
          await tx.query("INSERT INTO ledger (entry_id, account_id, amount_cents) VALUES ($1, $2, $3)", [
            entryId,
            accountId,
            amountCents,
          ]);
          // The process dies while the handler runs, after its write: the transaction must roll back.
          if (crashesAt("mid-handler")) self?.kill();
          if (produced.flaky.has(entryId) && !failedOnce.has(entryId)) {
            failedOnce.add(entryId);
            handlerFailures += 1;
            throw new Error(`a transient failure handling ${entryId}`);
          }
        },
        hooks: {
          at: (context) => {
            const point: ConsumerCrashPoint = context.point;
            if (crashesAt(point)) throw new Error(`the consumer process died at ${point} of ${context.eventId}`);
          },
        },
      });
      self = consumer;
      await consumer.start();
      return consumer;
    };

    const live = {
      relays: [] as OutboxRelay[],
      consumers: [] as InboxConsumer[],
    };

    /** Replaces crashed instances with new ones (new relay ids, the same consumer group). */
    const supervise = async (): Promise<void> => {
      for (const [index, relay] of live.relays.entries()) {
        if (relay.status().state === "crashed") live.relays[index] = await startRelay();
      }
      for (const [index, consumer] of live.consumers.entries()) {
        if (consumer.state === "crashed") {
          await consumer.whenStopped();
          live.consumers[index] = await startConsumer();
        }
      }
    };

    const drained = async (): Promise<boolean> => {
      const { waiting } = await readOutboxLag(db);
      const ledgerEntries = await count(db, "SELECT count(DISTINCT entry_id)::int AS total FROM ledger");
      return waiting === 0 && ledgerEntries === produced.committed.size;
    };

    try {
      let roundsRun = 0;
      const uncovered = (): number => relayPlanner.uncovered.length + consumerPlanner.uncovered.length;
      for (let round = 0; round < ROUNDS || (uncovered() > 0 && round < ROUNDS + COVERAGE_ROUNDS_MAX); round += 1) {
        roundsRun = round + 1;
        relayPlanner.newRound(round >= ROUNDS);
        consumerPlanner.newRound(round >= ROUNDS);
        const relayInstances = 1 + Math.floor(topologyRandom() * 2);
        const consumerInstances = 1 + Math.floor(topologyRandom() * 2);
        for (let index = 0; index < relayInstances; index += 1) live.relays.push(await startRelay());
        for (let index = 0; index < consumerInstances; index += 1) live.consumers.push(await startConsumer());
        const production = produceRound(db, round, producerRandom, produced, EVENTS_PER_ROUND);
        let produceError: unknown = null;
        let producing = true;
        void production.then(
          () => (producing = false),
          (error: unknown) => {
            produceError = error;
            producing = false;
          },
        );
        const deadline = Date.now() + ROUND_DRAIN_TIMEOUT_MS;
        while (producing || !(await drained())) {
          if (produceError !== null) throw produceError;
          if (Date.now() > deadline) {
            const { waiting } = await readOutboxLag(db);
            const ledgerEntries = await count(db, "SELECT count(DISTINCT entry_id)::int AS total FROM ledger");
            throw new Error(
              `round ${round} did not drain within ${ROUND_DRAIN_TIMEOUT_MS} ms: ${waiting} outbox rows unpublished, ` +
                `${ledgerEntries} of ${produced.committed.size} committed entries in the ledger`,
            );
          }
          await supervise();
          await new Promise((resolve) => setTimeout(resolve, SUPERVISOR_INTERVAL_MS));
        }
        // A graceful stop between rounds: the next round starts new instances, as a redeploy would.
        await Promise.all([...live.relays, ...live.consumers].map((component) => component.stop()));
        live.relays = [];
        live.consumers = [];
      }

      const committedIds = new Set(produced.committed.values());
      const rolledBackIds = new Set(produced.rolledBack.values());
      assert.ok(
        committedIds.size >= ROUNDS * EVENTS_PER_ROUND * 0.5,
        `most transactions committed (${committedIds.size})`,
      );
      assert.ok(rolledBackIds.size > 0, "some producer transactions rolled back");

      const records = await readTopic(broker, ledgerEntry.name, committedIds.size, { timeoutMs: 30_000 });
      const delivered = new Set(records.map((record) => record.headers[EVENT_HEADERS.id] ?? ""));
      const undelivered = [...committedIds].filter((id) => !delivered.has(id));
      assert.deepEqual(undelivered, [], "every committed outbox event reached the topic");
      assert.deepEqual(
        [...delivered].filter((id) => !committedIds.has(id)),
        [],
        "only committed events reached the topic (no rolled-back one)",
      );
      assert.ok(
        records.length > delivered.size,
        `crashes between send and mark published some events twice (${records.length} records, ${delivered.size} events)`,
      );
      assert.deepEqual(keyOrderViolations(records), [], "each key's events arrived in commit order (first deliveries)");

      const { rows: ledgerRows } = await db.query<{ entry_id: string; rows: number }>(
        "SELECT entry_id, count(*)::int AS rows FROM ledger GROUP BY entry_id",
      );
      const ledgerCounts = new Map(ledgerRows.map((row) => [row.entry_id, row.rows]));
      const duplicated = [...ledgerCounts].filter(([, rows]) => rows !== 1);
      assert.deepEqual(duplicated, [], "no ledger entry was written twice");
      const missing = [...produced.committed.keys()].filter((entryId) => !ledgerCounts.has(entryId));
      assert.deepEqual(missing, [], "every committed event has its ledger row");
      const phantom = [...ledgerCounts.keys()].filter((entryId) => !produced.committed.has(entryId));
      assert.deepEqual(phantom, [], "no rolled-back event has a ledger row");
      assert.equal(await count(db, "SELECT count(*)::int AS total FROM ledger"), produced.committed.size);
      assert.equal(await count(db, "SELECT count(*)::int AS total FROM transfers"), produced.committed.size);
      assert.equal(
        await count(db, "SELECT count(*)::int AS total FROM sluice_outbox"),
        produced.committed.size,
        "the outbox holds exactly the committed events",
      );

      for (const [point, crashes] of relayPlanner.counts) assert.ok(crashes > 0, `a relay crashed at ${point}`);
      for (const [point, crashes] of consumerPlanner.counts) assert.ok(crashes > 0, `a consumer crashed at ${point}`);
      assert.ok(handlerFailures > 0, "handlers failed and were retried");
      assert.ok(
        (await counterValue("sluice_events_skipped_total", { group: groupId })) > 0,
        "redeliveries were skipped by the inbox",
      );
      assert.equal(
        await counterValue("sluice_events_dead_lettered_total", { group: groupId }),
        0,
        "nothing was parked",
      );
      t.diagnostic(
        `rounds ${roundsRun}, committed ${committedIds.size}, rolled back ${rolledBackIds.size}, topic records ${records.length}, ` +
          `relay crashes ${JSON.stringify(Object.fromEntries(relayPlanner.counts))}, consumer crashes ` +
          `${JSON.stringify(Object.fromEntries(consumerPlanner.counts))}, handler failures ${handlerFailures}`,
      );
    } catch (error) {
      process.stderr.write(`\n*** effectively-once simulation failed; replay with SIM_SEED=${seed} ***\n`);
      if (error instanceof Error) error.message = `${error.message} (replay with SIM_SEED=${seed})`;
      throw error;
    } finally {
      await Promise.all([...live.relays, ...live.consumers].map((component) => component.stop()));
      await Promise.all([...relays, ...consumers].map((component) => component.stop().catch(() => undefined)));
    }
  },
  { timeoutMs: TEST_TIMEOUT_MS },
);
