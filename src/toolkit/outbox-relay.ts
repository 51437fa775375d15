// The outbox relay: publishes committed outbox rows to Kafka and marks them published.
//
// Each round claims a batch of rows under a lease (the store keeps one key in flight at one relay at a time, in id
// order, so several relays may run at once), publishes them with the idempotent producer (acks=-1), then marks or
// deletes them; while a full batch is being sent, the next one is claimed. How a batch is sent, in per-key order, is
// in outbox-relay-publish.ts. Rows that could not be sent are released, with any claimed ahead, and retried after an
// exponential backoff with jitter.
// Delivery is at least once: a crash between send and mark, or a lease that ran out while the broker was slow,
// publishes a row again, with the same event id.
//
// The relay wakes on LISTEN/NOTIFY when the database offers it (a trigger notifies on every commit of outbox rows) and
// also polls on a slow timer, because notifications sent while the listening connection is down are lost and leases
// of dead relays run out without one; without LISTEN it polls often. On a database no other process uses (PGlite),
// where notifications arrive in-process and dead leases are taken over at start, the safety-net poll slows down,
// doubling after each poll that found nothing up to idlePollIntervalMaxMs, so that an idle process sleeps.

import { hostname } from "node:os";
import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";

import {
  claimOutboxBatch,
  OUTBOX_NOTIFY_CHANNEL,
  type Database,
  type OutboxLag,
  type OutboxRecord,
} from "../store/index.js";
import { Waiter } from "../platform/waiter.js";
import { publishRelayStage } from "./diagnostics.js";
import { describeError, InvalidArgumentError, ToolkitError, ToolkitErrorCode } from "./errors.js";
import type { KafkaProducer, KafkaProducerOptions } from "./kafka/producer.js";
import { silentLogger, type ToolkitLogger } from "./logger.js";
import { publishingMetrics, type PublishingMetrics } from "./metrics.js";
import {
  RelayCrashedError,
  RELAY_STUCK_CLAIM_COUNT,
  resolveRelayOptions,
  type OutboxRelayHooks,
  type OutboxRelayOptions,
  type ResolvedRelayOptions,
} from "./outbox-relay-options.js";
import { finishPublished, sendOutboxRecords, type SendOutcome } from "./outbox-relay-publish.js";
import { OutboxUpkeep } from "./outbox-upkeep.js";
import { RelayLeases, renewEvery } from "./relay-leases.js";
import type { Component } from "./service.js";
import type { TransportClient } from "./transports/transport.js";

export type OutboxRelayState = "created" | "running" | "stopping" | "stopped" | "crashed";

export interface OutboxRelayStatus {
  state: OutboxRelayState;
  relayId: string;
  /** Rows this relay has published and marked since it started. */
  published: number;
  consecutiveFailures: number;
  lastError: string | null;
  /** True when LISTEN wakes the relay; false when it only polls. */
  listening: boolean;
  /** How long the relay, idle, waits before it looks for rows again unless woken (see idlePollIntervalMaxMs). */
  idlePollMs: number;
}

type BatchOutcome = "published" | "failed" | "crashed";

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
  readonly #random: () => number;
  readonly #metrics: PublishingMetrics;
  readonly #producerOptions: KafkaProducerOptions | undefined;
  readonly #leases: RelayLeases;
  readonly #upkeep: OutboxUpkeep;
  #producer: KafkaProducer | null = null;
  #state: OutboxRelayState = "created";
  #loop: Promise<void> | null = null;
  #unlisten: (() => Promise<void>) | null = null;
  #workWaiter = new Waiter();
  #backoffWaiter = new Waiter();
  #wakePending = false;
  /** The next safety-net poll's wait while LISTEN wakes the relay (see idlePollIntervalMaxMs). */
  #safetyNetPollMs: number;
  #consecutiveFailures = 0;
  #lastError: string | null = null;
  #published = 0;
  #inFlight: OutboxRecord[] = [];
  /** Rows claimed while the batch in flight is sent; they are sent next. */
  #claimedAhead: OutboxRecord[] = [];
  /** The mark of the last batch sent, left running while the next one is sent (see publishBatch). */
  #marking: { ids: number[]; done: Promise<boolean> } | null = null;
  #abandoned = false;
  #crash: RelayCrashedError | null = null;
  #stopping: Promise<void> | null = null;

  constructor(options: OutboxRelayOptions) {
    if (typeof options !== "object" || options === null) throw new InvalidArgumentError("options", "are required");
    if (options.db === undefined) throw new InvalidArgumentError("db", "is required (see openDatabase)");
    if (options.client === undefined) throw new InvalidArgumentError("client", "is required (see createKafkaClient)");
    this.#options = resolveRelayOptions(options);
    this.#db = options.db;
    this.#client = options.client;
    this.name = options.name ?? "outbox-relay";
    this.relayId = options.relayId ?? `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
    this.#logger = options.logger ?? silentLogger;
    this.#hooks = options.hooks ?? {};
    this.#random = options.random ?? Math.random;
    this.#metrics = publishingMetrics();
    this.#producerOptions = options.producer;
    this.#leases = new RelayLeases(this.#db, this.relayId, this.#options.leaseMs, this.#logger);
    this.#upkeep = new OutboxUpkeep(this.#db, this.relayId, this.#options, this.#logger);
    this.#safetyNetPollMs = this.#options.idlePollIntervalMs;
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
      idlePollMs: this.#unlisten === null ? this.#options.pollIntervalMs : this.#safetyNetPollMs,
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
    this.#wakePending = true;
    this.#workWaiter.wake();
  }

  /**
   * Finishes the batch in flight (up to stopTimeoutMs; after that its rows are released for other relays), then
   * stops. Rows not yet claimed stay in the outbox for the next relay.
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
    this.#workWaiter.wake();
    this.#backoffWaiter.wake();
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
      const ids = [...this.#inFlight, ...this.#claimedAhead].map((record) => record.id);
      this.#logger.warn(
        { relayId: this.relayId, rows: ids.length, stopTimeoutMs: this.#options.stopTimeoutMs },
        "the outbox relay's batch did not finish in time; releasing its rows to other relays",
      );
      await this.#release(ids, "the relay stopped before the broker acknowledged these rows");
    }
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
    // The claim of the next batch, started while the current one is sent and marked. A round of claim, send (an
    // fsync at the broker with acks=-1) and mark is mostly waiting, so overlapping the claim with the rest hides it.
    let ahead: Promise<OutboxRecord[] | Error> | null = null;
    await this.#leases.takeOverDeadLeases(this.#options.exclusiveDatabase);
    try {
      while (this.#state === "running") {
        const claimed: OutboxRecord[] | Error = await (ahead ?? this.#claim([]));
        ahead = null;
        this.#claimedAhead = [];
        if (claimed instanceof Error) {
          await this.#settleMarking();
          this.#noteFailure(claimed, "claiming outbox rows failed");
          await this.#backoff();
          continue;
        }
        if (claimed.length > 0) this.#safetyNetPollMs = this.#options.idlePollIntervalMs;
        if (claimed.length === 0) {
          await this.#settleMarking();
          if (this.#consecutiveFailures === 0) await this.#waitForWork();
          else await this.#backoff();
          continue;
        }
        // Only a full batch suggests that more rows wait; after a partial one, a claim ahead would find nothing.
        // The rows whose mark is still running are named as publishing too: they were sent before this batch.
        const claimAhead = claimed.length === this.#options.batchSize && this.#state === "running";
        if (claimAhead) {
          const publishingIds: number[] = [...(this.#marking?.ids ?? []), ...claimed.map((record) => record.id)];
          ahead = this.#claim(publishingIds).then((next) => {
            if (!(next instanceof Error)) this.#claimedAhead = next;
            return next;
          });
        }
        let outcome: BatchOutcome;
        try {
          outcome = await this.#publishBatch(claimed, claimAhead);
        } catch (error) {
          // Not expected (publishBatch handles Kafka and database failures itself), but never fatal to the loop.
          this.#noteFailure(error, "publishing an outbox batch failed unexpectedly");
          outcome = "failed";
        }
        // A crash leaves the rows claimed ahead leased, as a dead process would; their leases run out.
        if (outcome === "crashed") return;
        if (ahead !== null && (outcome === "failed" || this.#state !== "running")) {
          // Rows claimed ahead may follow rows of their keys that were not sent: they go back unsent, so that the
          // next claim takes both again in id order.
          const next = await ahead;
          ahead = null;
          this.#claimedAhead = [];
          if (!(next instanceof Error)) {
            await this.#release(
              next.map((record) => record.id),
              null,
              false,
            );
          }
        }
        if (outcome === "failed") await this.#backoff();
      }
    } finally {
      await this.#settleMarking();
    }
  }

  #claim(publishingIds: number[]): Promise<OutboxRecord[] | Error> {
    return claimOutboxBatch(this.#db, {
      relayId: this.relayId,
      batchSize: this.#options.batchSize,
      bytesMax: this.#options.batchBytesMax,
      leaseMs: this.#options.leaseMs,
      publishingIds,
    }).then(
      (records) => {
        publishRelayStage("claimed", this.#db.schema, records);
        return records;
      },
      (error: unknown) => (error instanceof Error ? error : new Error(String(error))),
    );
  }

  async #waitForWork(): Promise<void> {
    // stop() may have run while the last claim was in progress, when there was no sleep yet to cut short.
    if (this.#state !== "running") return;
    if (this.#wakePending) {
      this.#wakePending = false;
      return;
    }
    if (this.#unlisten === null) {
      await this.#workWaiter.wait(this.#options.pollIntervalMs);
    } else {
      const woken = await this.#workWaiter.wait(this.#safetyNetPollMs);
      const { idlePollIntervalMs, idlePollIntervalMaxMs } = this.#options;
      this.#safetyNetPollMs = woken ? idlePollIntervalMs : Math.min(this.#safetyNetPollMs * 2, idlePollIntervalMaxMs);
    }
    this.#wakePending = false;
  }

  async #backoff(): Promise<void> {
    if (this.#state !== "running") return;
    const exponent = Math.min(Math.max(this.#consecutiveFailures - 1, 0), 30);
    const ceiling = Math.min(this.#options.backoffMaxMs, this.#options.backoffBaseMs * 2 ** exponent);
    // Half fixed, half random: relays that failed together do not all retry at the same moment.
    await this.#backoffWaiter.wait(Math.round(ceiling / 2 + (this.#random() * ceiling) / 2));
  }

  #noteFailure(error: unknown, message: string, details: object = {}): void {
    this.#consecutiveFailures += 1;
    this.#lastError = describeError(error);
    const fields = { relayId: this.relayId, attempt: this.#consecutiveFailures, err: error, ...details };
    this.#logger.warn(fields, `${message}; retrying with backoff: ${this.#lastError}`);
  }

  /**
   * Sends a claimed batch and marks it. With markInBackground (a batch claimed ahead follows), the mark is left
   * running while the next batch is sent, which takes the mark off the path from one batch to the next; the next
   * batch waits for it before its own mark, so at most one mark is outstanding.
   */
  async #publishBatch(records: OutboxRecord[], markInBackground: boolean): Promise<BatchOutcome> {
    const startedAt = performance.now();
    this.#inFlight = records;
    const renewEveryMs = Math.max(5, Math.floor(this.#options.leaseMs / 3));
    const stopRenewing = renewEvery(renewEveryMs, () => this.#renew(records));
    try {
      try {
        await this.#hooks.afterClaim?.(records);
      } catch (error) {
        await this.#settleMarking();
        return await this.#crashAt("afterClaim", error);
      }
      // stop() gave up waiting and released these rows; another relay publishes them.
      if (this.#abandoned) return "failed";
      // Settled rather than all: a failing send must not leave the last mark's settling running on its own.
      const [sending, marking] = await Promise.allSettled([this.#send(records), this.#settleMarking()]);
      if (sending.status === "rejected") throw sending.reason;
      const { sent, failed } = sending.value;
      const previousMarked = marking.status === "fulfilled" && marking.value;
      let finished = true;
      if (sent.length > 0) {
        try {
          await this.#hooks.afterSend?.(sent);
        } catch (error) {
          return await this.#crashAt("afterSend", error);
        }
        if (markInBackground && failed.length === 0 && previousMarked && !this.#abandoned) {
          const ids = sent.map((record) => record.id);
          // The rows keep their lease until the mark lands, or a slow mark would let another relay send them again.
          // Fewer rows held says nothing here: rows leave their lease as the mark lands.
          const stopRenewingMarked = renewEvery(renewEveryMs, async () => void (await this.#leases.renew(ids)));
          const done = this.#finish(sent).then((marked) => {
            stopRenewingMarked();
            if (marked) this.#countPublished(startedAt, true);
            return marked;
          });
          this.#marking = { ids, done };
          return "published";
        }
        finished = await this.#finish(sent);
      }
      if (failed.length > 0 || !finished) {
        const reason = failed[0]?.reason ?? "marking published rows failed";
        await this.#release(
          failed.map((entry) => entry.record.id),
          reason,
        );
        const stuck = failed.filter((entry) => entry.record.claimCount >= RELAY_STUCK_CLAIM_COUNT);
        if (stuck.length > 0) {
          this.#logger.error(
            { relayId: this.relayId, ids: stuck.slice(0, 20).map((entry) => entry.record.id) },
            `outbox rows have failed to publish ${RELAY_STUCK_CLAIM_COUNT} times or more: ${reason}`,
          );
        }
        this.#consecutiveFailures += 1;
        this.#lastError = reason;
        this.#metrics.relayBatches.inc({ schema: this.#db.schema, result: "failed" });
        return "failed";
      }
      // After the last batch's mark failed, this round failed too: its failure stays counted for the backoff, and
      // the batch claimed ahead goes back, as after any failure.
      this.#countPublished(startedAt, previousMarked);
      return previousMarked ? "published" : "failed";
    } finally {
      stopRenewing();
      this.#inFlight = [];
    }
  }

  #countPublished(startedAt: number, resetFailures: boolean): void {
    if (resetFailures) this.#consecutiveFailures = 0;
    this.#metrics.relayBatches.inc({ schema: this.#db.schema, result: "published" });
    this.#metrics.relayBatchDuration.observe({ schema: this.#db.schema }, (performance.now() - startedAt) / 1000);
  }

  /** Waits for the mark left running by the last batch, and counts it as a failed batch when it failed. */
  async #settleMarking(): Promise<boolean> {
    const marking = this.#marking;
    if (marking === null) return true;
    // Taken at once, so that a second caller cannot count the same failure again.
    this.#marking = null;
    const marked = await marking.done;
    if (!marked) {
      this.#consecutiveFailures += 1;
      this.#lastError = "marking published rows failed";
      this.#metrics.relayBatches.inc({ schema: this.#db.schema, result: "failed" });
    }
    return marked;
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

  /** Marks or deletes published rows; false when the database refused. */
  async #finish(sent: readonly OutboxRecord[]): Promise<boolean> {
    const finished = await finishPublished(this.#db, sent, {
      afterPublish: this.#options.afterPublish,
      logger: this.#logger,
      relayId: this.relayId,
      quiet: this.#abandoned,
    });
    if (finished) {
      this.#published += sent.length;
      if (this.#options.afterPublish === "mark") this.#upkeep.notePublished();
    }
    return finished;
  }

  #release(ids: readonly number[], reason: string | null, attempted = true): Promise<void> {
    return this.#leases.release(ids, reason, attempted, () => this.#abandoned);
  }

  async #renew(records: readonly OutboxRecord[]): Promise<void> {
    if (this.#inFlight !== records || this.#abandoned) return;
    const ids = [...records, ...this.#claimedAhead].map((record) => record.id);
    const held = await this.#leases.renew(ids);
    if (held !== null && held < ids.length && this.#inFlight === records) {
      this.#logger.warn(
        { relayId: this.relayId, held, claimed: ids.length },
        "the outbox relay lost leases it was publishing under; another relay may publish those rows too",
      );
    }
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
    this.#leases.forget();
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
