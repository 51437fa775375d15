// Group commit: writes that arrive together share one database transaction. A request handler submits its item and
// waits; the committer gathers what is queued (up to batchMax, lingering up to waitMs for more), writes the whole
// group in one transaction through the caller's write function (one multi-row statement, typically), and answers
// every item only once that transaction has committed. PGlite runs one statement at a time and a server pays a
// round trip and a WAL flush per commit, so one commit for many requests is what lets an API scale on either.
//
// One item's own failure must not fail the others. The write function reports per-item outcomes for what it can check
// itself (pre-validation); when it throws instead (a constraint it did not foresee), the group is written again with a
// savepoint around each item, so that only the item at fault fails. Groups commit one at a time, in the order their
// items were submitted, so events added for the same key keep their order.

import type { Database, Queryable } from "../store/index.js";
import { integerOption, resolveIntegers } from "../platform/options.js";
import { InvalidArgumentError, ToolkitError, ToolkitErrorCode } from "./errors.js";
import { toolkitCounter } from "./metrics.js";

/** Items written in one transaction, at most. */
export const DEFAULT_GROUP_COMMIT_BATCH_MAX = 256;
export const GROUP_COMMIT_BATCH_LIMIT = 10_000;
/**
 * How long a group waits for more items once its first is queued. 0 takes what is queued when the committer gets to
 * it (everything that arrived while the previous group was committing) and does not linger.
 */
export const DEFAULT_GROUP_COMMIT_WAIT_MS = 0;
export const GROUP_COMMIT_WAIT_MS_MAX = 1_000;
/** Items waiting for a group, at most; past it submit() refuses with SLUICE_GROUP_COMMIT_FULL. */
export const DEFAULT_GROUP_COMMIT_QUEUE_MAX = 10_000;
export const GROUP_COMMIT_QUEUE_LIMIT = 1_000_000;

/** What became of one item of a group: its result, or the error that failed it alone. */
export type GroupOutcome<R> = { ok: true; value: R } | { ok: false; error: unknown };

/**
 * Writes a group of items through tx, the group's transaction, and returns one outcome per item in the same order.
 * An item whose outcome is an error must have written nothing. Throwing fails the attempt as a whole; the group is
 * then written again one item per savepoint.
 */
export type GroupWrite<I, R> = (tx: Queryable, items: readonly I[]) => Promise<ReadonlyArray<GroupOutcome<R>>>;

export interface GroupCommitOptions<I, R> {
  db: Database;
  /** Labels the committer's metrics (sluice_group_commit_groups_total, sluice_group_commit_items_total). */
  name?: string;
  write: GroupWrite<I, R>;
  /** Items per transaction, at most (default DEFAULT_GROUP_COMMIT_BATCH_MAX). */
  batchMax?: number;
  /** How long a group lingers for more items, in ms (default DEFAULT_GROUP_COMMIT_WAIT_MS, 0: not at all). */
  waitMs?: number;
  /** Items queued at most (default DEFAULT_GROUP_COMMIT_QUEUE_MAX). */
  queueMax?: number;
  /** Called after each group commits, with its size; for metrics. */
  onGroup?: (size: number) => void;
  /**
   * True when write runs exactly one statement, which commits on its own: the group then runs without BEGIN and
   * COMMIT around it (two round trips on a server, two more statements on PGlite), and write gets the database
   * rather than a transaction. A failed statement wrote nothing, so the group is written again one item per savepoint
   * (in a transaction) as usual. Default false.
   */
  oneStatement?: boolean;
}

export interface GroupCommitStatus {
  /** Items waiting for a group. */
  queued: number;
  /** Groups committed so far. */
  groups: number;
  /** Items answered so far (with a result or an error). */
  items: number;
  /** Groups written again one savepoint per item because the group as a whole failed. */
  isolatedGroups: number;
}

interface Entry<I, R> {
  item: I;
  resolve: (value: R) => void;
  reject: (error: unknown) => void;
}

/** Thrown inside the group's transaction to roll it back when write() failed, so that it can be told from a failed commit. */
class GroupWriteFailed extends Error {
  constructor(readonly failure: unknown) {
    super("the group's write failed");
  }
}

const ITEM_SAVEPOINT = "sluice_group_item";
const DEFAULT_NAME = "default";

function groupCommitMetrics() {
  return {
    groups: toolkitCounter({
      name: "sluice_group_commit_groups_total",
      help: "Transactions a group commit ran, each holding one or more writes, by committer",
      labelNames: ["name"] as const,
    }),
    items: toolkitCounter({
      name: "sluice_group_commit_items_total",
      help: "Writes a group commit answered (committed or failed), by committer",
      labelNames: ["name"] as const,
    }),
  };
}

/** The integer options of a group commit, each with its default and range. */
const GROUP_COMMIT_OPTIONS = {
  batchMax: integerOption(DEFAULT_GROUP_COMMIT_BATCH_MAX, 1, GROUP_COMMIT_BATCH_LIMIT),
  waitMs: integerOption(DEFAULT_GROUP_COMMIT_WAIT_MS, 0, GROUP_COMMIT_WAIT_MS_MAX),
  queueMax: integerOption(DEFAULT_GROUP_COMMIT_QUEUE_MAX, 1, GROUP_COMMIT_QUEUE_LIMIT),
};

export class GroupCommit<I, R> {
  readonly batchMax: number;
  readonly waitMs: number;
  readonly queueMax: number;
  readonly oneStatement: boolean;
  readonly #db: Database;
  readonly #write: GroupWrite<I, R>;
  readonly #onGroup: ((size: number) => void) | null;
  readonly #name: string;
  readonly #metrics = groupCommitMetrics();
  #queue: Array<Entry<I, R>> = [];
  /** The group being written, or a scheduled start; null when the committer is idle. */
  #running: Promise<void> | null = null;
  #closed = false;
  readonly #status: GroupCommitStatus = { queued: 0, groups: 0, items: 0, isolatedGroups: 0 };

  constructor(options: GroupCommitOptions<I, R>) {
    if (typeof options.write !== "function") throw new InvalidArgumentError("write", "must be a function");
    this.#db = options.db;
    this.#write = options.write;
    this.#onGroup = options.onGroup ?? null;
    this.#name = options.name ?? DEFAULT_NAME;
    const resolved = resolveIntegers(
      GROUP_COMMIT_OPTIONS,
      options,
      (field, message) => new InvalidArgumentError(field, message),
    );
    this.batchMax = resolved.batchMax;
    this.waitMs = resolved.waitMs;
    this.queueMax = resolved.queueMax;
    this.oneStatement = options.oneStatement === true;
  }

  /** Queues item for the next group; resolves with its result once the transaction holding it has committed. */
  submit(item: I): Promise<R> {
    if (this.#closed) {
      return Promise.reject(
        new ToolkitError(ToolkitErrorCode.GROUP_COMMIT_CLOSED, "the group commit is closed; the service is stopping"),
      );
    }
    if (this.#queue.length >= this.queueMax) {
      return Promise.reject(
        new ToolkitError(
          ToolkitErrorCode.GROUP_COMMIT_FULL,
          `${this.#queue.length} writes are already waiting for the database (the most is ${this.queueMax}); try again shortly`,
        ),
      );
    }
    return new Promise<R>((resolve, reject) => {
      this.#queue.push({ item, resolve, reject });
      this.#schedule();
    });
  }

  status(): GroupCommitStatus {
    return { ...this.#status, queued: this.#queue.length };
  }

  /** Refuses new items, and resolves once every queued item has been answered. */
  async close(): Promise<void> {
    this.#closed = true;
    while (this.#running !== null) await this.#running;
  }

  #schedule(): void {
    if (this.#running !== null) return;
    this.#running = this.#drain().finally(() => {
      this.#running = null;
      // Items submitted while the last group settled start the next one.
      if (this.#queue.length > 0) this.#schedule();
    });
  }

  /** Writes groups until the queue is empty. */
  async #drain(): Promise<void> {
    // Items whose requests were read in the same turn of the event loop join the first group: a request that
    // arrives alone does not take the committer from the ones right behind it.
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (this.#queue.length > 0) {
      if (this.waitMs > 0 && this.#queue.length < this.batchMax) {
        await new Promise<void>((resolve) => setTimeout(resolve, this.waitMs));
      }
      const group = this.#queue.splice(0, this.batchMax);
      await this.#commit(group);
    }
  }

  async #commit(group: Array<Entry<I, R>>): Promise<void> {
    const items = group.map((entry) => entry.item);
    let outcomes: ReadonlyArray<GroupOutcome<R>>;
    try {
      outcomes = await this.#writeGroup(items);
    } catch (error) {
      if (!(error instanceof GroupWriteFailed)) {
        // The commit itself failed (or the database could not start a transaction): nothing of the group is known
        // to have committed, and every item gets the error.
        this.#settle(
          group,
          group.map(() => ({ ok: false, error })),
        );
        return;
      }
      if (group.length === 1) {
        this.#settle(group, [{ ok: false, error: error.failure }]);
        return;
      }
      this.#status.isolatedGroups += 1;
      try {
        outcomes = await this.#db.transaction((tx) => this.#writeOneByOne(tx, items));
      } catch (retryError) {
        this.#settle(
          group,
          group.map(() => ({ ok: false, error: retryError })),
        );
        return;
      }
    }
    this.#settle(group, outcomes);
  }

  /** Writes the group in one transaction, or with oneStatement as the one statement that commits on its own. */
  async #writeGroup(items: readonly I[]): Promise<ReadonlyArray<GroupOutcome<R>>> {
    const attempt = async (target: Queryable) => {
      try {
        return this.#checked(await this.#write(target, items), items.length);
      } catch (error) {
        throw new GroupWriteFailed(error);
      }
    };
    return this.oneStatement ? attempt(this.#db) : this.#db.transaction(attempt);
  }

  /** The group again, each item in a savepoint of its own, so that an item that fails rolls back only itself. */
  async #writeOneByOne(tx: Queryable, items: readonly I[]): Promise<Array<GroupOutcome<R>>> {
    const outcomes: Array<GroupOutcome<R>> = [];
    for (const item of items) {
      await tx.exec(`SAVEPOINT ${ITEM_SAVEPOINT}`);
      let outcome: GroupOutcome<R>;
      try {
        [outcome] = this.#checked(await this.#write(tx, [item]), 1) as [GroupOutcome<R>];
      } catch (error) {
        outcome = { ok: false, error };
      }
      await tx.exec(outcome.ok ? `RELEASE SAVEPOINT ${ITEM_SAVEPOINT}` : `ROLLBACK TO SAVEPOINT ${ITEM_SAVEPOINT}`);
      outcomes.push(outcome);
    }
    return outcomes;
  }

  #checked(outcomes: ReadonlyArray<GroupOutcome<R>>, count: number): ReadonlyArray<GroupOutcome<R>> {
    if (!Array.isArray(outcomes) || outcomes.length !== count) {
      throw new Error(`the group commit's write returned ${String(outcomes?.length)} outcomes for ${count} items`);
    }
    return outcomes;
  }

  #settle(group: Array<Entry<I, R>>, outcomes: ReadonlyArray<GroupOutcome<R>>): void {
    this.#status.groups += 1;
    this.#status.items += group.length;
    this.#metrics.groups.inc({ name: this.#name });
    this.#metrics.items.inc({ name: this.#name }, group.length);
    this.#onGroup?.(group.length);
    group.forEach((entry, index) => {
      const outcome = outcomes[index] as GroupOutcome<R>;
      if (outcome.ok) entry.resolve(outcome.value);
      else entry.reject(outcome.error);
    });
  }
}

/** A committer that writes groups of items through write in one transaction each; see GroupCommit. */
export function createGroupCommit<I, R>(options: GroupCommitOptions<I, R>): GroupCommit<I, R> {
  return new GroupCommit(options);
}
