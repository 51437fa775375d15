// The outbox relay's lease on the outbox's cursor: taking it, renewing it while the relay publishes, and giving it up.
// One relay holds the cursor at a time; the others wait as stand-bys and take it when its lease runs out, or at once
// when its holder is known to be dead.
//
// A relay knows the holder is dead in two cases. It holds the database alone (PGlite, whose data directory one process
// locks): a holder that is not a relay running in this process belongs to a process that died. Or the holder carries
// the relay's own identity: an earlier life of it (a container restarted under the same host name and process id)
// took it, and nothing of that life is running any more.

import {
  releaseOutboxCursor,
  renewOutboxCursor,
  takeOutboxCursor,
  type Database,
  type OutboxCursorTake,
} from "../store/index.js";
import type { ToolkitLogger } from "./logger.js";

/** The relays running in this process, by the schema whose outbox they publish. */
const runningRelays = new Map<string, Set<string>>();

/**
 * Runs renew every intervalMs until the returned function is called, never two at once: when the database is slow,
 * renewals would otherwise queue up and compete for connections with the work whose lease they keep.
 */
function renewEvery(intervalMs: number, renew: () => Promise<void>): () => void {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    void renew().finally(() => {
      running = false;
    });
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

export class RelayLeases {
  readonly #db: Database;
  readonly #relayId: string;
  readonly #leaseMs: number;
  readonly #logger: ToolkitLogger;
  #registered = false;
  /** Stops the renewal of the lease; null while none runs. */
  #stopRenewal: (() => void) | null = null;

  constructor(db: Database, relayId: string, leaseMs: number, logger: ToolkitLogger) {
    this.#db = db;
    this.#relayId = relayId;
    this.#leaseMs = leaseMs;
    this.#logger = logger;
  }

  /** Counts this relay as running in this process: relays started after it leave its cursor lease alone. */
  register(): void {
    if (this.#registered) return;
    const schema = this.#db.schema;
    let running = runningRelays.get(schema);
    if (running === undefined) {
      running = new Set();
      runningRelays.set(schema, running);
    }
    running.add(this.#relayId);
    this.#registered = true;
  }

  /**
   * Takes the cursor when it is free, its lease ran out, or its holder is dead (see the head of this file); exclusive
   * says the database is this process's alone.
   */
  async take(exclusive: boolean): Promise<OutboxCursorTake> {
    const running = runningRelays.get(this.#db.schema) ?? new Set<string>();
    const keepOnly = exclusive ? [...running].filter((id) => id !== this.#relayId) : null;
    const take = await takeOutboxCursor(this.#db, this.#relayId, { leaseMs: this.#leaseMs, keepOnly });
    if (take.taken && take.holder !== null && take.holder !== this.#relayId) {
      this.#logger.info({ relayId: this.#relayId, from: take.holder }, "the outbox relay took the cursor over");
    }
    return take;
  }

  /** Whether no other relay of this outbox runs in this process. */
  alone(): boolean {
    return (runningRelays.get(this.#db.schema)?.size ?? 0) <= 1;
  }

  /** Extends the lease; false when another relay has taken the cursor, null when the database failed. */
  async renew(): Promise<boolean | null> {
    try {
      return await renewOutboxCursor(this.#db, this.#relayId, this.#leaseMs);
    } catch (error) {
      this.#logger.debug({ relayId: this.#relayId, err: error }, "renewing the outbox cursor's lease failed");
      return null;
    }
  }

  /** Renews the lease every third of leaseMs until stopRenewing; lost runs when another relay has taken the cursor. */
  startRenewing(lost: () => void): void {
    this.stopRenewing();
    const renewEveryMs = Math.max(5, Math.floor(this.#leaseMs / 3));
    this.#stopRenewal = renewEvery(renewEveryMs, async () => {
      if ((await this.renew()) === false) lost();
    });
  }

  stopRenewing(): void {
    this.#stopRenewal?.();
    this.#stopRenewal = null;
  }

  /** Gives the cursor up so that a stand-by takes it at once; a failure is logged, and the lease then runs out. */
  async release(quiet: boolean): Promise<void> {
    try {
      await releaseOutboxCursor(this.#db, this.#relayId);
    } catch (error) {
      this.#logger[quiet ? "debug" : "warn"](
        { relayId: this.#relayId, err: error },
        "giving up the outbox cursor failed; another relay takes it over when its lease runs out",
      );
    }
  }

  /** Counts this relay as no longer running: relays started after it may take its lease. */
  forget(): void {
    if (!this.#registered) return;
    this.#registered = false;
    const running = runningRelays.get(this.#db.schema);
    running?.delete(this.#relayId);
    if (running?.size === 0) runningRelays.delete(this.#db.schema);
  }
}
