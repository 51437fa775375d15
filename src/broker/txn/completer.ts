// Ending transactions: Ongoing → Prepare (durable) → markers written → Complete. EndTxn is answered once the
// markers are written; their fsync runs behind the answer, and the transaction is recorded as complete only once it
// is done, so a recovery that finds Complete never needs the markers again. The transactional id's next request
// waits for that (confirmed), so that a new transaction never overtakes the completion of the one before it on disk.
// A failure leaves the transaction in its Prepare state (or its completion unconfirmed) for the sweep to retry.

import type { Logger } from "pino";
import { ErrorCode } from "../../kafka/protocol/error-codes.js";
import { markersDurable, writeTxnMarkers, type MarkerWriterDeps } from "./completion.js";
import type { TxnMetadata } from "./metadata.js";
import type { TxnStore } from "./store.js";

/** What a transactional request is answered with: NONE, or the error and why. */
export interface TxnResult {
  errorCode: number;
  message?: string;
}

export const OK: TxnResult = { errorCode: ErrorCode.NONE };

const DISK_FAILED: TxnResult = {
  errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE,
  message: "the broker could not write to its disk",
};

export class TxnCompleter {
  /** Transactions whose markers are being written; the sweep leaves them alone. */
  private readonly completing = new Set<TxnMetadata>();
  /** Completed transactions whose markers are not yet known durable; the id's next request waits for them. */
  private readonly confirming = new Map<TxnMetadata, { done: Promise<TxnResult>; failed: boolean }>();

  constructor(
    private readonly store: TxnStore,
    private readonly deps: MarkerWriterDeps,
    private readonly now: () => number,
  ) {}

  private get logger(): Logger {
    return this.deps.logger;
  }

  /** Moves the transaction to its Prepare state, makes that durable, writes the markers and confirms them. */
  async complete(txn: TxnMetadata, committed: boolean): Promise<TxnResult> {
    txn.state = committed ? "PrepareCommit" : "PrepareAbort";
    txn.updateTimeMs = this.now();
    this.store.persist(txn);
    return this.finish(txn);
  }

  /** Finishes a transaction in a Prepare state: durable Prepare, markers, and their confirmation behind. */
  async finish(txn: TxnMetadata): Promise<TxnResult> {
    this.completing.add(txn);
    try {
      const prepared = await this.durable();
      if (prepared.errorCode !== ErrorCode.NONE) return prepared;
      this.writeMarkers(txn);
      this.confirm(txn);
      return OK;
    } catch (error) {
      this.logger.error({ err: error, transactionalId: txn.transactionalId }, "transaction markers not written");
      return DISK_FAILED;
    } finally {
      this.completing.delete(txn);
    }
  }

  /**
   * Completes, at startup, the transactions a crash left in a Prepare state (an Ongoing one is moved to
   * PrepareAbort by the caller): markers written again, made durable, then Complete recorded.
   */
  async recover(unfinished: readonly TxnMetadata[]): Promise<void> {
    for (const txn of unfinished) this.writeMarkers(txn);
    await markersDurable(unfinished, this.deps);
    for (const txn of unfinished) this.store.persist(txn);
  }

  /** Whether the sweep should finish this Prepare transaction (nobody is finishing it now). */
  stalled(txn: TxnMetadata): boolean {
    return !this.completing.has(txn);
  }

  /** Whether a completion's confirmation failed (the sweep retries it with retryConfirmation). */
  confirmationFailed(txn: TxnMetadata): boolean {
    return this.confirming.get(txn)?.failed === true;
  }

  retryConfirmation(txn: TxnMetadata): void {
    this.confirm(txn);
  }

  /** Whether the transaction's last completion is still being confirmed. */
  confirmingNow(txn: TxnMetadata): boolean {
    return this.confirming.has(txn);
  }

  /** Waits until the transaction's last completion is durable; NONE, or why it is not. */
  async confirmed(txn: TxnMetadata): Promise<TxnResult> {
    const pending = this.confirming.get(txn);
    return pending === undefined ? OK : pending.done;
  }

  /** Waits for every confirmation in progress (at shutdown). */
  async settled(): Promise<void> {
    await Promise.all([...this.confirming.values()].map(({ done }) => done));
  }

  /** Syncs the transaction log; a failure is answered with a retriable error, as Kafka does when its log is down. */
  async durable(): Promise<TxnResult> {
    try {
      await this.store.sync();
      return OK;
    } catch (error) {
      this.logger.error({ err: error }, "the transaction log could not be synced");
      return DISK_FAILED;
    }
  }

  /**
   * Waits, behind the EndTxn answer, for the markers and offsets of a completed transaction to reach the disk, then
   * records it as complete. A failure is retried by the sweep; until then the id's requests are refused.
   */
  private confirm(txn: TxnMetadata): void {
    const entry = { done: Promise.resolve(OK), failed: false };
    entry.done = markersDurable([txn], this.deps).then(
      () => {
        this.store.persist(txn);
        if (this.confirming.get(txn) === entry) this.confirming.delete(txn);
        return OK;
      },
      (error: unknown) => {
        this.logger.error({ err: error, transactionalId: txn.transactionalId }, "transaction markers not synced");
        entry.failed = true;
        return DISK_FAILED;
      },
    );
    this.confirming.set(txn, entry);
  }

  private writeMarkers(txn: TxnMetadata): void {
    for (const aborted of writeTxnMarkers(txn, this.deps, this.now())) this.store.persistAborted(aborted);
  }
}
