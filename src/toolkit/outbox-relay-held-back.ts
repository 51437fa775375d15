// The outbox relay's watch on rows held back by an older transaction still running (see "Commit order" in
// store/sql/outbox-cursor.ts): how long they have been, as a gauge and in the relay's status, and warnings that name the
// session whose transaction holds them, since one forgotten transaction anywhere in the database stalls every relay.

import { performance } from "node:perf_hooks";

import { findOutboxHolder, type Database, type OutboxHolder } from "../store/index.js";
import { describeError } from "./errors.js";
import type { ToolkitLogger } from "./logger.js";
import type { PublishingMetrics } from "./metrics.js";

/** While rows stay held back after the first warning, the relay warns again at most this often. */
export const RELAY_HELD_BACK_WARN_REPEAT_MS = 60_000;

const ADVICE =
  "commit or end that transaction (pg_terminate_backend(pid) ends its session); " +
  "PostgreSQL's idle_in_transaction_session_timeout ends such sessions on its own";

export interface HeldBackWatchOptions {
  db: Database;
  relayId: string;
  warnAfterMs: number;
  metrics: PublishingMetrics;
  logger: ToolkitLogger;
  /** The clock, in milliseconds; tests pass their own. */
  now?: () => number;
}

export class HeldBackWatch {
  readonly #db: Database;
  readonly #relayId: string;
  readonly #warnAfterMs: number;
  readonly #metrics: PublishingMetrics;
  readonly #logger: ToolkitLogger;
  readonly #now: () => number;
  /** When rows were first found held back, since when they have stayed so; null while they flow. */
  #since: number | null = null;
  #lastWarnedAt: number | null = null;
  /** The lookup of the holding session in progress: never two at a time, and a slow one never delays the relay. */
  #lookup: Promise<void> | null = null;

  constructor(options: HeldBackWatchOptions) {
    this.#db = options.db;
    this.#relayId = options.relayId;
    this.#warnAfterMs = options.warnAfterMs;
    this.#metrics = options.metrics;
    this.#logger = options.logger;
    this.#now = options.now ?? (() => performance.now());
  }

  /** How long rows have been held back; 0 when they are not. */
  heldBackMs(): number {
    return this.#since === null ? 0 : Math.round(this.#now() - this.#since);
  }

  /** A read found rows waiting behind an older transaction still running, and nothing it could read. */
  heldBack(): void {
    const now = this.#now();
    this.#since ??= now;
    const heldMs = now - this.#since;
    this.#metrics.relayHeldBack.set({ schema: this.#db.schema }, heldMs / 1000);
    if (heldMs < this.#warnAfterMs) return;
    if (this.#lastWarnedAt !== null && now - this.#lastWarnedAt < RELAY_HELD_BACK_WARN_REPEAT_MS) return;
    if (this.#lookup !== null) return;
    this.#lastWarnedAt = now;
    this.#lookup = this.#warn(heldMs).finally(() => {
      this.#lookup = null;
    });
  }

  /** A read found rows it could read, or none waiting: nothing is held back (any more). */
  flowing(): void {
    if (this.#since === null) return;
    const heldMs = this.#now() - this.#since;
    if (this.#lastWarnedAt !== null) {
      this.#logger.info(
        { relayId: this.#relayId, schema: this.#db.schema, heldBackMs: Math.round(heldMs) },
        `outbox rows were held back for ${(heldMs / 1000).toFixed(1)} s by an older transaction; flowing again`,
      );
    }
    this.reset();
  }

  /** Forgets the held-back time without a log: the relay stops or no longer holds the cursor. */
  reset(): void {
    this.#since = null;
    this.#lastWarnedAt = null;
    this.#metrics.relayHeldBack.set({ schema: this.#db.schema }, 0);
  }

  /** Waits for a lookup in progress, so that it does not outlive the relay. */
  async settle(): Promise<void> {
    await this.#lookup;
  }

  async #warn(heldMs: number): Promise<void> {
    const fields = {
      relayId: this.#relayId,
      schema: this.#db.schema,
      heldBackMs: Math.round(heldMs),
      heldBackWarnAfterMs: this.#warnAfterMs,
    };
    const heldFor = `committed outbox rows have been held back for ${(heldMs / 1000).toFixed(1)} s`;
    // PGlite has one session: nothing else can hold its relay back, and it has no other sessions to look up.
    let holder: OutboxHolder | null = null;
    let lookupError: unknown = null;
    if (this.#db.kind === "postgres") {
      try {
        holder = await findOutboxHolder(this.#db);
      } catch (error) {
        lookupError = error;
      }
    }
    if (holder !== null) {
      const age = holder.transactionAgeMs === null ? "" : `, open for ${(holder.transactionAgeMs / 1000).toFixed(1)} s`;
      this.#logger.warn(
        { ...fields, holder },
        `${heldFor} by the transaction of session ${holder.pid} (application_name "${holder.applicationName}", ` +
          `${holder.state ?? "state unknown"}${age}): ${ADVICE}; rows committed after it wait until it ends`,
      );
      return;
    }
    const why =
      lookupError === null
        ? "pg_stat_activity shows this role no such session (pg_read_all_stats shows other roles' sessions; a " +
          "prepared transaction is in pg_prepared_xacts)"
        : `looking it up in pg_stat_activity failed: ${describeError(lookupError)}`;
    this.#logger.warn(
      lookupError === null ? fields : { ...fields, err: lookupError },
      `${heldFor} by an older transaction still running in this database; ${why}; find the session with the oldest ` +
        `backend_xid in pg_stat_activity, then ${ADVICE}`,
    );
  }
}
