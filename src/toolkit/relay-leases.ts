// The outbox relay's leases: renewing them while rows are published, giving them back, and, when a relay starts,
// ending the leases of relays that are known to be dead so that their rows do not wait for the leases to run out.
//
// A relay knows another is dead in two cases. It holds the database alone (PGlite, whose data directory one process
// locks): every lease not held by a relay running in this process belongs to a process that died. Or a lease carries
// the relay's own identity: an earlier life of it (a container restarted under the same host name and process id)
// took it, and nothing of that life is running any more.

import { releaseDeadRelayLeases, releaseOutboxClaims, renewOutboxClaims, type Database } from "../store/index.js";
import type { ToolkitLogger } from "./logger.js";

/** The relays running in this process, by the schema whose outbox they publish. */
const runningRelays = new Map<string, Set<string>>();

/**
 * Runs renew every intervalMs until the returned function is called, never two at once: when the database is slow,
 * renewals would otherwise queue up and compete for connections with the work whose leases they keep.
 */
export function renewEvery(intervalMs: number, renew: () => Promise<void>): () => void {
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

  constructor(db: Database, relayId: string, leaseMs: number, logger: ToolkitLogger) {
    this.#db = db;
    this.#relayId = relayId;
    this.#leaseMs = leaseMs;
    this.#logger = logger;
  }

  /**
   * Ends the leases of dead relays (see the head of this file) and counts this relay as running. exclusive says the
   * database is this process's alone. A failure is logged: the leases then run out as they would have.
   */
  async takeOverDeadLeases(exclusive: boolean): Promise<void> {
    const schema = this.#db.schema;
    let running = runningRelays.get(schema);
    if (running === undefined) {
      running = new Set();
      runningRelays.set(schema, running);
    }
    const keepOnly = exclusive ? [...running].filter((id) => id !== this.#relayId) : null;
    running.add(this.#relayId);
    this.#registered = true;
    try {
      const freed = await releaseDeadRelayLeases(this.#db, this.#relayId, keepOnly);
      if (freed > 0) {
        this.#logger.info(
          { relayId: this.#relayId, rows: freed, exclusive },
          "the outbox relay took over the rows leased by relays that are no longer running",
        );
      }
    } catch (error) {
      this.#logger.warn(
        { relayId: this.#relayId, err: error },
        "ending the leases of dead relays failed; their rows are published when the leases run out",
      );
    }
  }

  /** Extends the leases of rows still being published; returns how many the relay still holds, or null on failure. */
  async renew(ids: readonly number[]): Promise<number | null> {
    try {
      return await renewOutboxClaims(this.#db, this.#relayId, ids, this.#leaseMs);
    } catch (error) {
      this.#logger.debug({ relayId: this.#relayId, err: error }, "renewing outbox leases failed");
      return null;
    }
  }

  /**
   * Hands rows back; attempted false for rows claimed ahead and never sent, whose claim then does not count. quiet()
   * true logs a failure at debug level, for a relay that has given up on its rows anyway.
   */
  async release(
    ids: readonly number[],
    reason: string | null,
    attempted: boolean,
    quiet: () => boolean,
  ): Promise<void> {
    if (ids.length === 0) return;
    try {
      await releaseOutboxClaims(this.#db, this.#relayId, ids, reason, { attempted });
    } catch (error) {
      this.#logger[quiet() ? "debug" : "warn"](
        { relayId: this.#relayId, err: error, rows: ids.length },
        "releasing outbox rows failed; other relays take them over when their lease ends",
      );
    }
  }

  /** Counts this relay as no longer running: relays started after it may take its leases. */
  forget(): void {
    if (!this.#registered) return;
    this.#registered = false;
    const running = runningRelays.get(this.#db.schema);
    running?.delete(this.#relayId);
    if (running?.size === 0) runningRelays.delete(this.#db.schema);
  }
}
