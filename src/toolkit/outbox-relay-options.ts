// The outbox relay's options: what a caller may set, their defaults and limits, and their resolution into the values
// the relay runs with; its test hooks, with the error a hook's throw becomes; and the status it reports.

import {
  DEFAULT_OUTBOX_CLAIM_BATCH_SIZE,
  DEFAULT_OUTBOX_CLAIM_BYTES_MAX,
  DEFAULT_OUTBOX_LEASE_MS,
  outboxSql,
  type Database,
  type OutboxRecord,
} from "../store/index.js";
import { integerOption, resolveInteger, resolveIntegers } from "../platform/options.js";
import { describeError, InvalidArgumentError, ToolkitError, ToolkitErrorCode } from "./errors.js";
import type { KafkaProducerOptions } from "./kafka/producer.js";
import type { ToolkitLogger } from "./logger.js";
import type { TransportClient } from "./transports/transport.js";

export const DEFAULT_RELAY_POLL_INTERVAL_MS = 500;
export const DEFAULT_RELAY_IDLE_POLL_INTERVAL_MS = 10_000;
/**
 * The safety-net poll on a database no other process uses (PGlite): there a commit's notification cannot be lost and
 * no other process leaves leases behind, so the poll is only a last resort, and an idle process need not wake for it
 * more than once a minute.
 */
export const DEFAULT_RELAY_EXCLUSIVE_IDLE_POLL_INTERVAL_MS = 60_000;
/** The longest safety-net poll on a database no other process uses (see idlePollIntervalMaxMs). */
export const DEFAULT_RELAY_EXCLUSIVE_IDLE_POLL_INTERVAL_MAX_MS = 60_000;
export const DEFAULT_RELAY_BACKOFF_BASE_MS = 100;
export const DEFAULT_RELAY_BACKOFF_MAX_MS = 10_000;
/** As the consumers' lag: a scrape within 5 s of the last reading reuses it; each reading is a query. */
export const DEFAULT_RELAY_LAG_INTERVAL_MS = 5_000;
export const DEFAULT_OUTBOX_RETENTION_MS = 24 * 60 * 60 * 1000;
export const DEFAULT_OUTBOX_CLEANUP_INTERVAL_MS = 60_000;
export const DEFAULT_OUTBOX_CLEANUP_BATCH_SIZE = 1_000;
export const DEFAULT_RELAY_STOP_TIMEOUT_MS = 10_000;
/** How long rows may be held back by an older transaction still running before the relay warns (heldBackWarnAfterMs). */
export const DEFAULT_RELAY_HELD_BACK_WARN_AFTER_MS = 10_000;
/**
 * Rows per read. A relay holds up to three batches (one whose cursor move runs, one being sent, one read ahead); a
 * move that deletes its rows (afterPublish "delete") names one batch, at most OUTBOX_IDS_MAX ids, in one statement.
 */
export const RELAY_BATCH_SIZE_MAX = Math.min(outboxSql.OUTBOX_CLAIM_BATCH_MAX, outboxSql.OUTBOX_IDS_MAX);
/** A row whose send failed this often is reported at error level on every further failure. */
export const RELAY_STUCK_FAILED_ATTEMPTS = 10;
/** Failed sends, each refused for good by the broker, after which the relay parks a row (parkAfterFailedAttempts). */
export const DEFAULT_RELAY_PARK_AFTER_FAILED_ATTEMPTS = 5;

const DAY_MS = 24 * 60 * 60 * 1000;

export interface OutboxRelayHooks {
  /** Runs after a batch is read, before any of it is sent. A throw crashes the relay here (see OutboxRelay). */
  afterClaim?(records: readonly OutboxRecord[]): void | Promise<void>;
  /** Runs after the broker acknowledged records, before the cursor moves past them. A throw crashes the relay here. */
  afterSend?(records: readonly OutboxRecord[]): void | Promise<void>;
}

/** The error a hook's throw becomes: the relay stops where it was, as if its process had died. */
export class RelayCrashedError extends ToolkitError {
  readonly point: "afterClaim" | "afterSend";

  constructor(point: "afterClaim" | "afterSend", cause: unknown) {
    super(
      ToolkitErrorCode.RELAY_CRASHED,
      `the outbox relay stopped in its ${point} hook: ${describeError(cause)}; another relay takes the cursor over ` +
        "when its lease runs out, and sends its rows again",
      { cause },
    );
    this.name = "RelayCrashedError";
    this.point = point;
  }
}

export type OutboxRelayState = "created" | "running" | "stopping" | "stopped" | "crashed";

export interface OutboxRelayStatus {
  state: OutboxRelayState;
  relayId: string;
  /** Rows this relay has published, and moved the cursor past, since it started. */
  published: number;
  consecutiveFailures: number;
  lastError: string | null;
  /** True when LISTEN wakes the relay; false when it only polls. */
  listening: boolean;
  /** How long the relay, idle, waits before it looks for rows again unless woken (see idlePollIntervalMaxMs). */
  idlePollMs: number;
  /** True while this relay holds the outbox's cursor; false while it waits as a stand-by. */
  holdsCursor: boolean;
  /** How long committed rows have been held back by an older transaction still running; 0 when they are not. */
  heldBackMs: number;
}

export interface OutboxRelayOptions {
  db: Database;
  /** The transport the rows go out on: a Kafka client (createKafkaClient) or an AMQP one (createAmqpClient). */
  client: TransportClient;
  /** The component name in a service; default "outbox-relay". */
  name?: string;
  /** Identifies this relay's lease on the cursor; unique per instance by default (host, process id, random suffix). */
  relayId?: string;
  /** Rows read and published per round. */
  batchSize?: number;
  /** Keys and values read per round, at most (default 16 MiB); a round always takes at least one row. */
  batchBytesMax?: number;
  /**
   * How long a relay's lease on the outbox's cursor lasts; it renews it every third of this, and a stand-by relay
   * takes the cursor over once it runs out.
   */
  leaseMs?: number;
  /**
   * True when no other process uses the database, so that a cursor lease not held by a relay of this process belongs
   * to a dead one and is taken over at once. Default: true for PGlite (one process holds its data directory).
   */
  exclusiveDatabase?: boolean;
  /** Time between polls when the database cannot LISTEN (or listen is false). */
  pollIntervalMs?: number;
  /**
   * Time between safety-net polls while LISTEN wakes the relay. Default: 10 s, or 60 s on an exclusive database
   * (see DEFAULT_RELAY_EXCLUSIVE_IDLE_POLL_INTERVAL_MS).
   */
  idlePollIntervalMs?: number;
  /**
   * The safety-net poll doubles after each poll that found nothing, up to this, and is back to idlePollIntervalMs
   * after a notification. Default: 60 s on an exclusive database (notifications cannot be lost there), else equal to
   * idlePollIntervalMs (a shared database's polls also find the leases of dead relays, so they stay regular).
   */
  idlePollIntervalMaxMs?: number;
  /** Use LISTEN/NOTIFY when the database supports it; default true. */
  listen?: boolean;
  /**
   * What happens to a published row: "mark" keeps it (behind the cursor, unchanged) for retentionMs after it was
   * added, "delete" removes it with the cursor's move.
   */
  afterPublish?: "mark" | "delete";
  /** How long published rows are kept, from when they were added, before cleanup deletes them. */
  retentionMs?: number;
  /**
   * Time between cleanup runs; a run that deleted nothing doubles the wait, up to 10 minutes, until rows are
   * published again. 0 turns periodic cleanup off (cleanup() still works).
   */
  cleanupIntervalMs?: number;
  cleanupBatchSize?: number;
  /**
   * A row the broker refused this many times with an error that trying again cannot cure (too large, invalid, a
   * topic the relay may not write) is parked: marked, and passed by the cursor, so that later rows flow; see
   * requeueParkedOutboxRows. 0 never parks: such a row holds every later row back until it is fixed by hand.
   * Retriable failures (the broker unreachable, a leader moving) never park a row.
   */
  parkAfterFailedAttempts?: number;
  /** First delay after a failed round; doubles per consecutive failure up to backoffMaxMs, with jitter. */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /**
   * The lag gauges are read when the metrics are collected (a scrape of /metrics), at most once per this interval;
   * 0 leaves them unread (refreshLag() still works).
   */
  lagIntervalMs?: number;
  /** How long stop() waits for the batch in flight before giving the cursor up and returning. */
  stopTimeoutMs?: number;
  /**
   * After committed rows have been held back this long by an older transaction still running in the database (see
   * docs/toolkit-publishing.md, "Commit order"), the relay logs a warning naming the session that runs it, and again
   * every RELAY_HELD_BACK_WARN_REPEAT_MS while they stay held back.
   */
  heldBackWarnAfterMs?: number;
  producer?: KafkaProducerOptions;
  logger?: ToolkitLogger;
  hooks?: OutboxRelayHooks;
  /** The jitter source, in [0, 1); tests pass a seeded one. */
  random?: () => number;
}

export interface ResolvedRelayOptions {
  exclusiveDatabase: boolean;
  batchSize: number;
  batchBytesMax: number;
  leaseMs: number;
  pollIntervalMs: number;
  idlePollIntervalMs: number;
  idlePollIntervalMaxMs: number;
  listen: boolean;
  afterPublish: "mark" | "delete";
  retentionMs: number;
  cleanupIntervalMs: number;
  cleanupBatchSize: number;
  parkAfterFailedAttempts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  lagIntervalMs: number;
  stopTimeoutMs: number;
  heldBackWarnAfterMs: number;
}

/** The relay's integer options, declared once: default and accepted range. */
const RELAY_INTEGER_OPTIONS = {
  batchSize: integerOption(DEFAULT_OUTBOX_CLAIM_BATCH_SIZE, 1, RELAY_BATCH_SIZE_MAX),
  batchBytesMax: integerOption(DEFAULT_OUTBOX_CLAIM_BYTES_MAX, 1, outboxSql.OUTBOX_CLAIM_BYTES_MAX),
  leaseMs: integerOption(DEFAULT_OUTBOX_LEASE_MS, 10, DAY_MS),
  pollIntervalMs: integerOption(DEFAULT_RELAY_POLL_INTERVAL_MS, 1, DAY_MS),
  idlePollIntervalMs: integerOption(DEFAULT_RELAY_IDLE_POLL_INTERVAL_MS, 1, DAY_MS),
  retentionMs: integerOption(DEFAULT_OUTBOX_RETENTION_MS, 0, 365 * DAY_MS),
  cleanupIntervalMs: integerOption(DEFAULT_OUTBOX_CLEANUP_INTERVAL_MS, 0, DAY_MS),
  cleanupBatchSize: integerOption(DEFAULT_OUTBOX_CLEANUP_BATCH_SIZE, 1, outboxSql.OUTBOX_IDS_MAX),
  parkAfterFailedAttempts: integerOption(DEFAULT_RELAY_PARK_AFTER_FAILED_ATTEMPTS, 0, 1000),
  backoffBaseMs: integerOption(DEFAULT_RELAY_BACKOFF_BASE_MS, 1, DAY_MS),
  lagIntervalMs: integerOption(DEFAULT_RELAY_LAG_INTERVAL_MS, 0, DAY_MS),
  stopTimeoutMs: integerOption(DEFAULT_RELAY_STOP_TIMEOUT_MS, 0, DAY_MS),
  heldBackWarnAfterMs: integerOption(DEFAULT_RELAY_HELD_BACK_WARN_AFTER_MS, 1, DAY_MS),
};

const invalidOption = (field: string, message: string): Error => new InvalidArgumentError(field, message);

export function resolveRelayOptions(options: OutboxRelayOptions): ResolvedRelayOptions {
  if (typeof options !== "object" || options === null) throw new InvalidArgumentError("options", "are required");
  if (options.db === undefined) throw new InvalidArgumentError("db", "is required (see openDatabase)");
  if (options.client === undefined) throw new InvalidArgumentError("client", "is required (see createKafkaClient)");
  const afterPublish = options.afterPublish ?? "mark";
  if (afterPublish !== "mark" && afterPublish !== "delete") {
    throw new InvalidArgumentError("afterPublish", 'must be "mark" or "delete"');
  }
  const exclusiveDatabase = options.exclusiveDatabase ?? options.db.kind === "pglite";
  const integers = resolveIntegers(
    RELAY_INTEGER_OPTIONS,
    {
      ...options,
      idlePollIntervalMs:
        options.idlePollIntervalMs ?? (exclusiveDatabase ? DEFAULT_RELAY_EXCLUSIVE_IDLE_POLL_INTERVAL_MS : undefined),
    },
    invalidOption,
  );
  return {
    ...integers,
    exclusiveDatabase,
    // At least the base interval, so its range and default depend on other options.
    idlePollIntervalMaxMs: resolveInteger(
      "idlePollIntervalMaxMs",
      options.idlePollIntervalMaxMs,
      integerOption(
        exclusiveDatabase
          ? Math.max(integers.idlePollIntervalMs, DEFAULT_RELAY_EXCLUSIVE_IDLE_POLL_INTERVAL_MAX_MS)
          : integers.idlePollIntervalMs,
        integers.idlePollIntervalMs,
        DAY_MS,
      ),
      invalidOption,
    ),
    listen: options.listen ?? true,
    afterPublish,
    // At least the base delay, so its range depends on another option.
    backoffMaxMs: resolveInteger(
      "backoffMaxMs",
      options.backoffMaxMs,
      integerOption(DEFAULT_RELAY_BACKOFF_MAX_MS, integers.backoffBaseMs, DAY_MS),
      invalidOption,
    ),
  };
}
