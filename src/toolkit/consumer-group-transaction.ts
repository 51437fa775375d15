// One group of a partition's consecutive events in one database transaction, for the inbox consumer's batch
// pipeline (consumer-batch.ts). The group first runs at once: one statement records every event in the inbox, then
// the handlers (or the group handler) run one after another without savepoints. Only when a handler fails is the
// group rolled back and run again event by event, each in its own savepoint, so that the failure is pinned on its
// event alone and only its work is lost.

import { performance } from "node:perf_hooks";

import type { Queryable } from "../store/database.js";
import { StoreError, StoreErrorCode } from "../store/errors.js";
import {
  forgetInboxEvents,
  recordInboxEvent,
  recordInboxEvents,
  recordNewInboxEvents,
  type InboxEventKey,
} from "../store/inbox.js";
import { execute, statementTimeoutForTransaction } from "../store/sql/statement.js";
import { AttemptQueryable } from "./attempt-queryable.js";
import { SimulatedCrash, type ResolvedConsumer } from "./consumer-options.js";
import type { EventResult, GroupEntry, Origin } from "./consumer-records.js";
import type { ConsumedEvent } from "./event.js";
import type { PartitionBatch } from "./kafka/consumer.js";
import { HandlerTimeoutError, toError } from "./retry.js";
import { childTraceparent, runWithTraceparent } from "./tracing.js";

/** The savepoint each event of a group transaction runs in; reused, since one is open at a time. */
const EVENT_SAVEPOINT = "sluice_event";

/** What a group transaction needs of the consumer running it: whether it stopped, or crashed. */
export interface GroupHost {
  /** True once the consumer is no longer running: no new work starts. */
  halted(): boolean;
  crashed(): boolean;
}

/** Rolls back a group run at once, so that it runs again event by event (see handleGroupAtOnce). */
class GroupRolledBack extends Error {
  /** The entries whose handlers failed, by index, when known; their attempts are over and are not run again. */
  readonly failed: ReadonlyMap<number, EventResult>;

  constructor(failed: ReadonlyMap<number, EventResult> = new Map()) {
    super("a handler failed; the group runs again event by event");
    this.name = "GroupRolledBack";
    this.failed = failed;
  }
}

/** Rolls back a group whose cheaper inbox insert found an event recorded already, to record them all again. */
class InboxHeldAnEvent extends Error {
  constructor() {
    super("the inbox holds one of the group's events already; the group runs again, skipping it");
    this.name = "InboxHeldAnEvent";
  }
}

/**
 * Marks eventId started and says whether to run its handler: not when the inbox already held it (recorded lacks it) or
 * when an earlier entry of this group carried the same event.
 */
function startNewEvent(eventId: string, recorded: ReadonlySet<string>, started: Set<string>): boolean {
  if (!recorded.has(eventId) || started.has(eventId)) return false;
  started.add(eventId);
  return true;
}

/**
 * Runs a handler and resolves to its failure, or null once it succeeded, or to a HandlerTimeoutError when it takes
 * longer than timeoutMs. A handler that throws at once or returns no promise counts the same as one that rejects or
 * resolves; one still running after its timeout may reject later, which is then no longer anyone's concern. One
 * promise and one timer per call: a handler runs for every event, and a race of promises cost a busy consumer more.
 */
function settleWithin(timeoutMs: number, run: () => unknown): Promise<Error | null> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(new HandlerTimeoutError(timeoutMs)), timeoutMs);
    let running: unknown;
    try {
      running = run();
    } catch (thrown) {
      clearTimeout(timer);
      resolve(toError(thrown));
      return;
    }
    Promise.resolve(running).then(
      () => {
        clearTimeout(timer);
        resolve(null);
      },
      (thrown: unknown) => {
        clearTimeout(timer);
        resolve(toError(thrown));
      },
    );
  });
}

/** Runs a consumer's groups of events, one database transaction each. */
export class GroupTransaction {
  readonly #consumer: ResolvedConsumer;
  readonly #host: GroupHost;
  /**
   * Whether the last group found a redelivery in the inbox: redeliveries come in runs (after a crash or a lost
   * connection), so until a group finds none, groups record their events with the statement that expects some.
   */
  #redeliveriesLikely = false;

  constructor(consumer: ResolvedConsumer, host: GroupHost) {
    this.#consumer = consumer;
    this.#host = host;
  }

  /**
   * Runs an event's handler inside tx between its hooks. Resolves to what happened, or rejects when the consumer
   * crashed (a hook threw, or kill() was called), which rolls back the whole transaction.
   */
  async #runHandler(
    tx: Queryable,
    event: ConsumedEvent<unknown>,
    origin: Origin,
    startedMs: number,
    settle: (() => Promise<void>) | null,
  ): Promise<EventResult> {
    const { settings, groupId, metrics, runHook, handler, asyncTraceContext } = this.#consumer;
    const context = { eventId: event.id, topic: origin.topic, partition: origin.partition, offset: origin.offset };
    if (runHook !== null) await runHook({ point: "before-handler", ...context });
    const span = childTraceparent(event.traceparent);
    const attemptTx = new AttemptQueryable(tx, span);
    let failure = await settleWithin(settings.handlerTimeoutMs, () =>
      asyncTraceContext ? runWithTraceparent(span, () => handler(event, attemptTx)) : handler(event, attemptTx),
    );
    attemptTx.end();
    // After the attempt's handle ended, so that nothing the handler left running lands after the settling statement.
    if (failure === null && settle !== null) await settle().catch((thrown: unknown) => (failure = toError(thrown)));
    // kill() during the handler: a dead process would never commit.
    if (this.#host.crashed()) throw new SimulatedCrash("by kill() during the handler", failure ?? new Error("killed"));
    if (failure !== null) {
      metrics.handlerDuration.observe(
        { topic: origin.topic, group: groupId, outcome: "error" },
        (performance.now() - startedMs) / 1000,
      );
      return { kind: "failed", error: failure };
    }
    if (runHook !== null) await runHook({ point: "after-handler", ...context });
    return { kind: "processed", durationMs: performance.now() - startedMs };
  }

  /** Runs one attempt of an event whose inbox record the group transaction has already written. */
  #attemptInGroup(tx: Queryable, event: ConsumedEvent<unknown>, origin: Origin): Promise<EventResult> {
    return this.#runHandler(tx, event, origin, performance.now(), null);
  }

  /**
   * Runs one attempt of an event inside the group's transaction, in its own savepoint, so that a failing handler
   * rolls back only its own writes and inbox record. The savepoint is open on entry and again on return, fresh, for
   * the next event: establishing it together with releasing the last one saves a round trip per event. Resolves to
   * what happened, or rejects when the database failed (not the handler) or the consumer crashed; either rolls back
   * the whole transaction.
   */
  async #attemptInSavepoint(tx: Queryable, event: ConsumedEvent<unknown>, origin: Origin): Promise<EventResult> {
    const { groupId } = this.#consumer;
    const startedMs = performance.now();
    const first = await recordInboxEvent(tx, {
      consumerGroup: groupId,
      eventId: event.id,
      topic: origin.topic,
      partition: origin.partition,
      offset: Number(origin.offset),
    });
    // The savepoint holds no change then, so it serves the next event as it is.
    if (!first) return { kind: "duplicate" };
    // A handler that caught a failed statement leaves the transaction aborted, and COMMIT would quietly roll it
    // back; releasing the savepoint fails in that case, so the event counts as failed instead of processed.
    const result = await this.#runHandler(tx, event, origin, startedMs, () =>
      tx.exec(`RELEASE SAVEPOINT ${EVENT_SAVEPOINT}; SAVEPOINT ${EVENT_SAVEPOINT}`),
    );
    // Rolling back to a savepoint keeps it established, ready for the next event.
    if (result.kind === "failed") await tx.query(`ROLLBACK TO SAVEPOINT ${EVENT_SAVEPOINT}`);
    return result;
  }

  /**
   * Handles a group's events in one transaction and returns how many entries it got through: fewer than all when
   * the consumer began stopping or lost the partition, in which case what it finished still commits. The group is
   * first run at once, without savepoints; only when a handler fails is it rolled back and run again event by
   * event, each in its own savepoint, so that the failure is pinned on its event alone.
   */
  async handle(batch: PartitionBatch, entries: GroupEntry[]): Promise<number> {
    const outcome = await this.#handleGroupAtOnce(batch, entries, !this.#redeliveriesLikely);
    if (typeof outcome === "number") return outcome;
    for (const entry of entries) entry.result = null;
    return this.#handleGroupEventByEvent(batch, entries, outcome.failed);
  }

  /**
   * The fast way through a group: one statement records every event in the inbox, then the handlers run one after
   * another in the same transaction. A savepoint per event costs a database round trip per event, which was most
   * of the consumer's time. Resolves to how many entries it got through; or, when a handler failed or left the
   * transaction unusable, rolls everything back and resolves to that rollback, and the caller runs the group
   * again event by event. A handler that failed on its own is not run again for this attempt, but the handlers
   * before it, whose work was rolled back, are: only a handler's writes through tx are effectively once, as after
   * a crash. With expectAllNew the inbox statement is the cheaper one that fails on a redelivery; the group then
   * rolls back before any handler ran and goes again with the one that skips redeliveries.
   */
  async #handleGroupAtOnce(
    batch: PartitionBatch,
    entries: GroupEntry[],
    expectAllNew: boolean,
  ): Promise<number | GroupRolledBack> {
    const { db, settings, groupId } = this.#consumer;
    const keys: Omit<InboxEventKey, "consumerGroup">[] = [];
    for (const entry of entries) {
      if (entry.prepared.kind !== "event") continue;
      const { event, origin } = entry.prepared;
      keys.push({ eventId: event.id, topic: origin.topic, partition: origin.partition, offset: Number(origin.offset) });
    }
    try {
      return await db.transaction(async (tx) => {
        // The timeout and the inbox records travel together (the connection pipelines them), a round trip less
        // per group; the database runs them in order, so the timeout still limits the insert.
        const [, recordedOrNull] = await Promise.all([
          execute(tx, statementTimeoutForTransaction(settings.handlerTimeoutMs)),
          keys.length === 0
            ? new Set<string>()
            : expectAllNew
              ? recordNewInboxEvents(tx, groupId, keys)
              : recordInboxEvents(tx, groupId, keys),
        ]);
        if (recordedOrNull === null) throw new InboxHeldAnEvent();
        const recorded = recordedOrNull;
        if (!expectAllNew) this.#redeliveriesLikely = recorded.size < new Set(keys.map((key) => key.eventId)).size;
        const started = new Set<string>();
        if (this.#consumer.groupHandler !== null) {
          await this.#runGroupHandler(tx, entries, recorded, started);
          return entries.length;
        }
        const handled =
          settings.handlersAtOnce > 1
            ? await this.#runHandlersAtOnce(tx, batch, entries, recorded, started)
            : await this.#runHandlersInTurn(tx, batch, entries, recorded, started);
        // Events left for later (the consumer is stopping) must not keep the inbox records that would skip them.
        const notStarted = [...recorded].filter((eventId) => !started.has(eventId));
        if (notStarted.length > 0) await forgetInboxEvents(tx, groupId, notStarted);
        return handled;
      });
    } catch (error) {
      if (error instanceof GroupRolledBack) return error;
      if (error instanceof InboxHeldAnEvent) {
        this.#redeliveriesLikely = true;
        return this.#handleGroupAtOnce(batch, entries, false);
      }
      // A handler that caught a failed statement left the transaction aborted, so nothing committed: the group
      // runs again event by event, where releasing that handler's savepoint fails and pins the failure on it.
      if (error instanceof StoreError && error.code === StoreErrorCode.TRANSACTION_ROLLED_BACK) {
        return new GroupRolledBack();
      }
      throw error;
    }
  }

  /**
   * Runs the handlers of the group's new events one after another; resolves to how many entries it got through, or
   * throws GroupRolledBack when a handler failed.
   */
  async #runHandlersInTurn(
    tx: Queryable,
    batch: PartitionBatch,
    entries: GroupEntry[],
    recorded: ReadonlySet<string>,
    started: Set<string>,
  ): Promise<number> {
    let handled = 0;
    for (const [index, entry] of entries.entries()) {
      if (!batch.active() || this.#host.halted()) break;
      if (entry.prepared.kind === "event") {
        const { event, origin } = entry.prepared;
        if (!startNewEvent(event.id, recorded, started)) {
          entry.result = { kind: "duplicate" };
        } else {
          const result = await this.#attemptInGroup(tx, event, origin);
          entry.result = result;
          if (result.kind === "failed") throw await this.#rolledBackBy(tx, new Map([[index, result]]));
        }
      }
      handled += 1;
    }
    return handled;
  }

  /**
   * Runs the handlers of the group's new events up to handlersAtOnce at a time, so that their statements travel to
   * the database together (pg pipelines a connection's statements) rather than a round trip each; the events of one
   * key still run one after another, each waiting for the one before it. Resolves to how many entries it started,
   * every one of them finished; or, once every handler started has settled, throws GroupRolledBack when one failed,
   * or what crashed the consumer.
   */
  async #runHandlersAtOnce(
    tx: Queryable,
    batch: PartitionBatch,
    entries: GroupEntry[],
    recorded: ReadonlySet<string>,
    started: Set<string>,
  ): Promise<number> {
    const limit = this.#consumer.settings.handlersAtOnce;
    const running = new Set<Promise<void>>();
    const lastOfKey = new Map<string, Promise<void>>();
    const failures = new Map<number, EventResult>();
    let crash: { error: unknown } | null = null;
    let handled = 0;
    for (const [index, entry] of entries.entries()) {
      if (failures.size > 0 || crash !== null || !batch.active() || this.#host.halted()) break;
      if (entry.prepared.kind === "event") {
        const { event, origin } = entry.prepared;
        if (!startNewEvent(event.id, recorded, started)) {
          entry.result = { kind: "duplicate" };
        } else {
          while (running.size >= limit) await Promise.race(running);
          const before = event.key === null ? undefined : lastOfKey.get(event.key);
          const attempt = async (): Promise<void> => {
            if (before !== undefined) await before;
            // A failure rolls the group back, so an event waiting for its key need not run any more.
            if (failures.size > 0 || crash !== null) return;
            const result = await this.#attemptInGroup(tx, event, origin);
            entry.result = result;
            if (result.kind === "failed") failures.set(index, result);
          };
          const task: Promise<void> = attempt()
            .catch((error: unknown) => {
              crash ??= { error };
            })
            .then(() => {
              running.delete(task);
            });
          running.add(task);
          if (event.key !== null) lastOfKey.set(event.key, task);
        }
      }
      handled += 1;
    }
    await Promise.all(running);
    // TypeScript cannot see that the tasks set crash meanwhile.
    const crashed = crash as { error: unknown } | null;
    if (crashed !== null) throw crashed.error;
    if (failures.size > 0) throw await this.#rolledBackBy(tx, failures);
    return handled;
  }

  /**
   * The rollback after handlers failed, saying which failures are the events' own, whose attempts are over: those
   * that timed out, and all of them when the transaction still answers (the handlers threw on their own). A
   * transaction that no longer answers was broken by a failed statement, perhaps another handler's, or by the
   * connection: the event-by-event run then finds out which event failed, or that the database did.
   */
  async #rolledBackBy(tx: Queryable, failures: ReadonlyMap<number, EventResult>): Promise<GroupRolledBack> {
    const timedOut = (result: EventResult): boolean =>
      result.kind === "failed" && result.error instanceof HandlerTimeoutError;
    const answers =
      [...failures.values()].every(timedOut) ||
      (await tx.query("SELECT 1").then(
        () => true,
        () => false,
      ));
    const own = [...failures].filter(([, result]) => answers || timedOut(result));
    return new GroupRolledBack(new Map(own));
  }

  /**
   * Runs the group handler once for every event of the group that is new (recorded now, and not earlier in the
   * group), inside tx. Throws GroupRolledBack when it fails, so that the group runs again event by event through the
   * handler, which pins the failure on its event.
   */
  async #runGroupHandler(
    tx: Queryable,
    entries: GroupEntry[],
    recorded: ReadonlySet<string>,
    started: Set<string>,
  ): Promise<void> {
    const { settings, groupHandler, runHook } = this.#consumer;
    if (groupHandler === null) return;
    const running: GroupEntry[] = [];
    for (const entry of entries) {
      if (entry.prepared.kind !== "event") continue;
      const { event } = entry.prepared;
      if (!recorded.has(event.id) || started.has(event.id)) {
        entry.result = { kind: "duplicate" };
      } else {
        started.add(event.id);
        running.push(entry);
      }
    }
    if (running.length === 0) return;
    const events = running.flatMap((entry) => (entry.prepared.kind === "event" ? [entry.prepared] : []));
    // Crash hooks run for each event before and after the group handler, inside the transaction; one that throws
    // crashes the consumer (a SimulatedCrash passes through), as with the one-event handler.
    const hook = async (point: "before-handler" | "after-handler"): Promise<void> => {
      if (runHook === null) return;
      for (const { event, origin } of events) {
        await runHook({
          point,
          eventId: event.id,
          topic: origin.topic,
          partition: origin.partition,
          offset: origin.offset,
        });
      }
    };
    await hook("before-handler");
    const startedMs = performance.now();
    const attemptTx = new AttemptQueryable(tx, null);
    const failure = await settleWithin(settings.handlerTimeoutMs, () =>
      groupHandler(
        events.map(({ event }) => event),
        attemptTx,
      ),
    );
    attemptTx.end();
    if (failure !== null) throw new GroupRolledBack();
    // A stop or a lost partition while the group handler ran does not split its work: the group commits whole.
    const durationMs = (performance.now() - startedMs) / running.length;
    if (this.#host.crashed()) throw new SimulatedCrash("by kill() during the group handler", new Error("killed"));
    await hook("after-handler");
    for (const entry of running) entry.result = { kind: "processed", durationMs };
  }

  async #handleGroupEventByEvent(
    batch: PartitionBatch,
    entries: GroupEntry[],
    alreadyFailed: GroupRolledBack["failed"],
  ): Promise<number> {
    const { db, settings } = this.#consumer;
    return db.transaction(async (tx) => {
      await execute(tx, statementTimeoutForTransaction(settings.handlerTimeoutMs));
      let handled = 0;
      let savepointOpen = false;
      for (const [index, entry] of entries.entries()) {
        if (!batch.active() || this.#host.halted()) break;
        const failed = alreadyFailed.get(index);
        if (failed !== undefined) {
          entry.result = failed;
        } else if (entry.prepared.kind === "event") {
          if (!savepointOpen) await tx.query(`SAVEPOINT ${EVENT_SAVEPOINT}`);
          savepointOpen = true;
          entry.result = await this.#attemptInSavepoint(tx, entry.prepared.event, entry.prepared.origin);
        }
        handled += 1;
      }
      return handled;
    });
  }
}
