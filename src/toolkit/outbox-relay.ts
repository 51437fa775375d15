// The outbox relay: publishes committed outbox rows to the transport and moves the outbox's cursor past them.
//
// A relay holds the outbox's cursor under a lease (one relay at a time; others wait as stand-bys and take over when
// the lease runs out, see relay-leases.ts). Each round reads the next batch beyond the cursor in commit-safe order
// (see store/sql/outbox-cursor.ts), publishes it (acks=-1, or publisher confirms), then moves the cursor past it with
// one single-row UPDATE: a row is never written after it was added. While a full batch is sent, the next is read, and
// the cursor's move is left running while that one is sent. How a batch is sent, in per-key order, is in
// outbox-relay-publish.ts. When a send fails the cursor moves only past the rows acknowledged before the first that
// was not, the failure is counted on the rows, and the relay reads again from there after an exponential backoff.
// Delivery is at least once: a crash between send and the cursor's move, or a lease lost while the broker was slow,
// publishes rows again, with the same event id. A row the broker keeps refusing for good is parked (see
// outbox-relay-refusals.ts). How the relay waits for rows, and backs off, is in outbox-relay-waits.ts.

import { hostname } from "node:os";
import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";

import {
  advanceOutboxCursor,
  OUTBOX_NOTIFY_CHANNEL,
  readOutboxBatch,
  type Database,
  type OutboxLag,
  type OutboxPosition,
  type OutboxRead,
  type OutboxRecord,
} from "../store/index.js";
import { publishRelayStage } from "./diagnostics.js";
import { describeError, ToolkitError, ToolkitErrorCode } from "./errors.js";
import type { KafkaProducer, KafkaProducerOptions } from "./kafka/producer.js";
import { silentLogger, type ToolkitLogger } from "./logger.js";
import { publishingMetrics, type PublishingMetrics } from "./metrics.js";
import {
  RelayCrashedError,
  resolveRelayOptions,
  type OutboxRelayHooks,
  type OutboxRelayOptions,
  type OutboxRelayStatus,
  type OutboxRelayState,
  type ResolvedRelayOptions,
} from "./outbox-relay-options.js";
import { HeldBackWatch } from "./outbox-relay-held-back.js";
import { parkRefusedRow, positionOf, recordRefusals, rowToPark, type RefusalContext } from "./outbox-relay-refusals.js";
import { acknowledgedPrefix, sendOutboxRecords, type SendOutcome } from "./outbox-relay-publish.js";
import { RelayWaits } from "./outbox-relay-waits.js";
import { OutboxUpkeep } from "./outbox-upkeep.js";
import { RelayLeases } from "./relay-leases.js";
import type { Component } from "./service.js";
import type { TransportClient } from "./transports/transport.js";

/**
 * How a batch ended: all sent; some not (the cursor moved past the acknowledged prefix); some not, but the cursor moved
 * past the row that held the rest back (parked, or sent alone), so reading goes on without a backoff; or a hook
 * crashed the relay.
 */
type BatchOutcome = "published" | "failed" | "passed" | "crashed";

/** The cursor's move after a batch: done, refused because another relay took the cursor, or failed. */
type AdvanceOutcome = "advanced" | "lost" | Error;

/**
 * Publishes outbox rows as a service Component. Hooks let tests stop it at chosen points: when a hook throws, the
 * relay stops on the spot without marking or releasing anything, exactly as if its process had been killed there,
 * and status().state becomes "crashed".
 */
export class OutboxRelay implements Component {
  readonly name: string;
  readonly relayId: string;
  readonly #db: Database;
  readonly #client: TransportClient;
  readonly #options: ResolvedRelayOptions;
  readonly #logger: ToolkitLogger;
  readonly #hooks: OutboxRelayHooks;
  readonly #metrics: PublishingMetrics;
  readonly #producerOptions: KafkaProducerOptions | undefined;
  readonly #leases: RelayLeases;
  readonly #upkeep: OutboxUpkeep;
  #producer: KafkaProducer | null = null;
  #state: OutboxRelayState = "created";
  #loop: Promise<void> | null = null;
  #unlisten: (() => Promise<void>) | null = null;
  readonly #waits: RelayWaits;
  readonly #heldBack: HeldBackWatch;
  readonly #refusals: RefusalContext;
  #consecutiveFailures = 0;
  #lastError: string | null = null;
  #published = 0;
  /** Whether this relay holds the cursor; the lease renewal clears it when another relay has taken it. */
  #holdsCursor = false;
  /** Rows sent since the cursor's last successful move: they count as published once a move covers them. */
  #sentNotAdvanced = 0;
  /** Where this relay last moved the cursor to (or found it, when it took it): reading resumes here after a failure. */
  #cursorAt: OutboxPosition | null = null;
  /** The cursor's move after the last batch, left running while the next batch is sent. */
  #advancing: Promise<AdvanceOutcome> | null = null;
  #abandoned = false;
  #crash: RelayCrashedError | null = null;
  #stopping: Promise<void> | null = null;

  constructor(options: OutboxRelayOptions) {
    this.#options = resolveRelayOptions(options);
    this.#db = options.db;
    this.#client = options.client;
    this.name = options.name ?? "outbox-relay";
    this.relayId = options.relayId ?? `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
    this.#logger = options.logger ?? silentLogger;
    this.#hooks = options.hooks ?? {};
    this.#metrics = publishingMetrics();
    this.#producerOptions = options.producer;
    this.#leases = new RelayLeases(this.#db, this.relayId, this.#options.leaseMs, this.#logger);
    this.#upkeep = new OutboxUpkeep(this.#db, this.relayId, this.#options, this.#logger);
    this.#waits = new RelayWaits(this.#options, options.random ?? Math.random);
    this.#heldBack = new HeldBackWatch({
      db: this.#db,
      relayId: this.relayId,
      warnAfterMs: this.#options.heldBackWarnAfterMs,
      metrics: this.#metrics,
      logger: this.#logger,
    });
    const { leaseMs } = this.#options;
    this.#refusals = { db: this.#db, relayId: this.relayId, leaseMs, metrics: this.#metrics, logger: this.#logger };
  }

  get ready(): boolean {
    return this.#state === "running";
  }

  /** The error that crashed the relay in a hook, or null. */
  get crashError(): RelayCrashedError | null {
    return this.#crash;
  }

  status(): OutboxRelayStatus {
    return {
      state: this.#state,
      relayId: this.relayId,
      published: this.#published,
      consecutiveFailures: this.#consecutiveFailures,
      lastError: this.#lastError,
      listening: this.#unlisten !== null,
      idlePollMs: this.#waits.idlePollMs(this.#unlisten !== null),
      holdsCursor: this.#holdsCursor,
      heldBackMs: this.#heldBack.heldBackMs(),
    };
  }

  async start(): Promise<void> {
    if (this.#state !== "created") {
      throw new ToolkitError(
        ToolkitErrorCode.INVALID_ARGUMENT,
        `the outbox relay ${this.relayId} is ${this.#state}; create a new OutboxRelay to start again`,
      );
    }
    this.#state = "running";
    if (this.#options.listen && this.#db.supportsListen) {
      try {
        this.#unlisten = await this.#db.listen(OUTBOX_NOTIFY_CHANNEL, (schema) => {
          if (schema === this.#db.schema) this.wake();
        });
      } catch (error) {
        this.#logger.warn(
          { relayId: this.relayId, err: error },
          `LISTEN ${OUTBOX_NOTIFY_CHANNEL} failed; the outbox relay polls every ${this.#options.pollIntervalMs} ms instead`,
        );
      }
    }
    this.#upkeep.start();
    this.#loop = this.#run();
    this.#logger.info(
      { relayId: this.relayId, schema: this.#db.schema, listening: this.#unlisten !== null },
      "outbox relay started",
    );
  }

  /** Makes the relay look for rows now, as a notification would. */
  wake(): void {
    this.#waits.wake();
  }

  /**
   * Finishes the batch in flight (up to stopTimeoutMs; after that the cursor is given up with the batch unsent, for
   * another relay to send), then gives the cursor up and stops.
   */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    if (this.#state === "created") {
      this.#state = "stopped";
      return;
    }
    if (this.#state === "running") this.#state = "stopping";
    this.#waits.interrupt();
    const loop = this.#loop ?? Promise.resolve();
    let timer: NodeJS.Timeout | undefined;
    const finished = await Promise.race([
      loop.then(() => true),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), this.#options.stopTimeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (!finished) {
      this.#abandoned = true;
      this.#logger.warn(
        { relayId: this.relayId, stopTimeoutMs: this.#options.stopTimeoutMs },
        "the outbox relay's batch did not finish in time; giving the cursor up to other relays",
      );
    }
    if (this.#state !== "crashed") await this.#leases.release(this.#abandoned);
    this.#holdsCursor = false;
    await this.#shutDown();
    if (this.#state !== "crashed") this.#state = "stopped";
    this.#logger.info({ relayId: this.relayId, published: this.#published }, "outbox relay stopped");
  }

  /** Reads the outbox lag now and updates the gauges. */
  refreshLag(): Promise<OutboxLag> {
    return this.#upkeep.refreshLag();
  }

  /** Deletes rows published more than retentionMs ago (see OutboxUpkeep.cleanup); returns how many went. */
  cleanup(): Promise<number> {
    return this.#upkeep.cleanup();
  }

  async #run(): Promise<void> {
    this.#leases.register();
    while (this.#state === "running") {
      let take;
      try {
        take = await this.#leases.take(this.#options.exclusiveDatabase);
      } catch (error) {
        this.#noteFailure(error, "taking the outbox cursor failed");
        await this.#backoff();
        continue;
      }
      if (!take.taken) {
        // A stand-by: another relay publishes. Its lease is renewed every third of leaseMs, so look again when it
        // would run out, not on every notification.
        const waitMs = Math.min(Math.max(take.leaseMsLeft, 10), this.#options.leaseMs);
        await this.#waits.sleep(waitMs);
        continue;
      }
      this.#holdsCursor = true;
      this.#startRenewing();
      try {
        await this.#publishFrom(take.position);
      } finally {
        this.#leases.stopRenewing();
      }
    }
  }

  #startRenewing(): void {
    this.#leases.startRenewing(() => {
      if (this.#holdsCursor) this.#loseCursor();
    });
  }

  #loseCursor(): void {
    this.#holdsCursor = false;
    this.#waits.interrupt();
    this.#logger.warn(
      { relayId: this.relayId },
      "the outbox relay lost the cursor to another relay; rows it was sending may be published twice",
    );
  }

  /** Publishes from position while this relay holds the cursor and runs. */
  async #publishFrom(position: OutboxPosition): Promise<void> {
    // The read of the next batch, started while the current one is sent. A round of read, send (an fsync at the
    // broker with acks=-1) and the cursor's move is mostly waiting, so overlapping them hides the database's part.
    this.#cursorAt = position;
    let readFrom = position;
    let ahead: Promise<OutboxRead | Error> | null = null;
    try {
      while (this.#state === "running" && this.#holdsCursor) {
        const read: OutboxRead | Error = await (ahead ?? this.#read(readFrom));
        ahead = null;
        if (read instanceof Error) {
          await this.#settleAdvance();
          this.#noteFailure(read, "reading outbox rows failed");
          readFrom = this.#rewind(readFrom);
          await this.#backoff();
          continue;
        }
        if (!read.held) {
          if (this.#holdsCursor) this.#loseCursor();
          return;
        }
        const records = read.records;
        if (records.length === 0) {
          if ((await this.#settleAdvance()) !== "advanced") {
            readFrom = this.#rewind(readFrom);
            continue;
          }
          if (read.heldBack) {
            this.#heldBack.heldBack();
            await this.#waits.forHorizon();
            continue;
          }
          this.#heldBack.flowing();
          if (this.#consecutiveFailures === 0) await this.#waitForWork();
          else await this.#backoff();
          continue;
        }
        this.#waits.noteRows();
        this.#heldBack.flowing();
        const end = positionOf(records[records.length - 1]!);
        // Only a full batch suggests that more rows wait; after a partial one, a read ahead would find nothing.
        if (records.length === this.#options.batchSize && this.#state === "running") ahead = this.#read(end);
        const outcome = await this.#publishBatch(records, ahead !== null);
        if (outcome === "crashed") return;
        if (outcome === "published") {
          readFrom = end;
          continue;
        }
        // The rows read ahead follow rows that were not sent: they are read again, from the cursor, after the backoff.
        if (ahead !== null) await ahead;
        ahead = null;
        await this.#settleAdvance();
        readFrom = this.#rewind(readFrom);
        if (outcome === "failed") await this.#backoff();
      }
    } finally {
      if (ahead !== null) await ahead;
      await this.#settleAdvance();
      this.#heldBack.reset();
    }
  }

  /** Where to read from after a failure: the cursor as this relay last moved it; what was sent past it goes again. */
  #rewind(readFrom: OutboxPosition): OutboxPosition {
    this.#sentNotAdvanced = 0;
    return this.#cursorAt ?? readFrom;
  }

  #read(after: OutboxPosition): Promise<OutboxRead | Error> {
    return readOutboxBatch(this.#db, {
      relayId: this.relayId,
      after,
      batchSize: this.#options.batchSize,
      bytesMax: this.#options.batchBytesMax,
      leaseMs: this.#options.leaseMs,
    }).then(
      (read) => {
        publishRelayStage("claimed", this.#db.schema, read.records);
        return read;
      },
      (error: unknown) => (error instanceof Error ? error : new Error(String(error))),
    );
  }

  async #waitForWork(): Promise<void> {
    // stop() may have run while the last claim was in progress, when there was no sleep yet to cut short.
    if (this.#state !== "running") return;
    if (this.#waits.takePendingWake()) return;
    // On a database no other process uses, with no other relay of this outbox in this process, nobody can take the
    // cursor: an idle relay does not wake to renew its lease (each a query), and its next read renews it.
    const renewalPaused = this.#options.exclusiveDatabase && this.#leases.alone();
    if (renewalPaused) this.#leases.stopRenewing();
    try {
      await this.#waits.forWork(this.#unlisten !== null);
    } finally {
      if (renewalPaused && this.#holdsCursor && this.#state === "running") this.#startRenewing();
    }
  }

  async #backoff(): Promise<void> {
    if (this.#state !== "running") return;
    await this.#waits.backoff(this.#consecutiveFailures);
  }

  #noteFailure(error: unknown, message: string, details: object = {}): void {
    this.#consecutiveFailures += 1;
    this.#lastError = describeError(error);
    const fields = { relayId: this.relayId, attempt: this.#consecutiveFailures, err: error, ...details };
    this.#logger.warn(fields, `${message}; retrying with backoff: ${this.#lastError}`);
  }

  /**
   * Sends a batch and moves the cursor past it. With advanceInBackground (a batch read ahead follows), the move is
   * left running while the next batch is sent, which takes it off the path from one batch to the next; the next
   * batch waits for it before its own, so at most one move is outstanding and they land in order.
   */
  async #publishBatch(records: OutboxRecord[], advanceInBackground: boolean): Promise<BatchOutcome> {
    const startedAt = performance.now();
    try {
      await this.#hooks.afterClaim?.(records);
    } catch (error) {
      await this.#settleAdvance();
      return await this.#crashAt("afterClaim", error);
    }
    // stop() gave up waiting and gave the cursor up; another relay sends these rows.
    if (this.#abandoned) return "failed";
    // Settled rather than all: a failing send must not leave the last move's settling running on its own.
    const [sending, advancing] = await Promise.allSettled([this.#send(records), this.#settleAdvance()]);
    if (sending.status === "rejected") throw sending.reason;
    const { sent, failed } = sending.value;
    // After the last batch's move failed, this batch's move covers both; only a lost cursor ends the round here.
    const cursorLost = advancing.status === "fulfilled" && advancing.value === "lost";
    if (sent.length > 0) {
      try {
        await this.#hooks.afterSend?.(sent);
      } catch (error) {
        return await this.#crashAt("afterSend", error);
      }
    }
    if (cursorLost || !this.#holdsCursor) return "failed";
    if (failed.length === 0) {
      const done = this.#advance(records, startedAt);
      if (advanceInBackground) {
        this.#advancing = done;
        return "published";
      }
      return (await done) === "advanced" ? "published" : "failed";
    }
    const prefix = acknowledgedPrefix(records, sent);
    if (prefix.length > 0) await this.#advance(prefix, startedAt);
    const reason = await recordRefusals(this.#refusals, failed);
    this.#consecutiveFailures += 1;
    this.#lastError = reason;
    this.#metrics.relayBatches.inc({ schema: this.#db.schema, result: "failed" });
    const blocker = rowToPark(records, prefix.length, failed, this.#options.parkAfterFailedAttempts);
    if (blocker !== null) return (await this.#sendAloneOrPark(blocker)) ? "passed" : "failed";
    return "failed";
  }

  /**
   * Sends a row the broker keeps refusing for good on its own, since the refusal was of a whole request that may hold
   * other rows: sent, the cursor moves past it; refused for good again, the row is parked and the cursor moves past it
   * (one statement). Returns whether the cursor passed it. Later rows of its key are then published without it: the
   * dead-letter trade-off of per-key order.
   */
  async #sendAloneOrPark(record: OutboxRecord): Promise<boolean> {
    const { sent, failed } = await this.#send([record]);
    if (sent.length === 1) return (await this.#advance([record], performance.now())) === "advanced";
    const refusal = failed[0];
    if (refusal === undefined || refusal.retriable) return false;
    const outcome = await parkRefusedRow(this.#refusals, record, refusal.reason);
    if (outcome === "lost" && this.#holdsCursor) this.#loseCursor();
    if (outcome !== "parked") return false;
    this.#cursorAt = positionOf(record);
    this.#consecutiveFailures = 0;
    return true;
  }

  /** Moves the cursor past records (sent, in cursor order) and counts them published. */
  async #advance(records: readonly OutboxRecord[], startedAt: number): Promise<AdvanceOutcome> {
    const end = positionOf(records[records.length - 1]!);
    this.#sentNotAdvanced += records.length;
    const deleteIds = this.#options.afterPublish === "delete" ? records.map((record) => record.id) : [];
    let held: boolean;
    try {
      held = await advanceOutboxCursor(this.#db, this.relayId, end, { leaseMs: this.#options.leaseMs, deleteIds });
    } catch (error) {
      this.#logger[this.#abandoned ? "debug" : "error"](
        { relayId: this.relayId, err: error, rows: records.length },
        `moving the outbox cursor failed; the rows will be published again: ${describeError(error)}`,
      );
      return error instanceof Error ? error : new Error(String(error));
    }
    if (!held) {
      if (this.#holdsCursor) this.#loseCursor();
      return "lost";
    }
    this.#cursorAt = end;
    this.#published += this.#sentNotAdvanced;
    this.#sentNotAdvanced = 0;
    if (this.#options.afterPublish === "mark") this.#upkeep.notePublished();
    this.#consecutiveFailures = 0;
    this.#metrics.relayBatches.inc({ schema: this.#db.schema, result: "published" });
    this.#metrics.relayBatchDuration.observe({ schema: this.#db.schema }, (performance.now() - startedAt) / 1000);
    return "advanced";
  }

  /** Waits for the cursor's move left running by the last batch; a failed one counts as a failed batch. */
  async #settleAdvance(): Promise<AdvanceOutcome> {
    const advancing = this.#advancing;
    if (advancing === null) return "advanced";
    // Taken at once, so that a second caller cannot count the same failure again.
    this.#advancing = null;
    const outcome = await advancing;
    if (outcome instanceof Error) {
      this.#consecutiveFailures += 1;
      this.#lastError = "moving the outbox cursor failed";
      this.#metrics.relayBatches.inc({ schema: this.#db.schema, result: "failed" });
    }
    return outcome;
  }

  #send(records: readonly OutboxRecord[]): Promise<SendOutcome> {
    return sendOutboxRecords(records, {
      producer: this.#producerNow(),
      metrics: this.#metrics,
      logger: this.#logger,
      relayId: this.relayId,
      schema: this.#db.schema,
      attempt: this.#consecutiveFailures + 1,
    });
  }

  #producerNow(): KafkaProducer {
    this.#producer ??= this.#client.producer(this.#producerOptions);
    return this.#producer;
  }

  async #crashAt(point: "afterClaim" | "afterSend", cause: unknown): Promise<BatchOutcome> {
    this.#crash = new RelayCrashedError(point, cause);
    this.#state = "crashed";
    this.#lastError = this.#crash.message;
    this.#logger.error({ relayId: this.relayId, point, err: cause }, this.#crash.message);
    await this.#shutDown();
    return "crashed";
  }

  async #shutDown(): Promise<void> {
    this.#holdsCursor = false;
    this.#leases.forget();
    this.#heldBack.reset();
    await this.#heldBack.settle();
    const unlisten = this.#unlisten;
    this.#unlisten = null;
    await unlisten?.().catch((error: unknown) => {
      this.#logger.debug({ relayId: this.relayId, err: error }, "UNLISTEN failed");
    });
    await this.#upkeep.stop();
    const producer = this.#producer;
    this.#producer = null;
    await producer?.disconnect();
  }
}
