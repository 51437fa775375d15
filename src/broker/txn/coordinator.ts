// The transaction coordinator: each transactional id's producer id and epoch, the transaction it has open (the
// partitions and groups in it, the offsets it will commit) and the state machine Kafka runs (Empty → Ongoing →
// PrepareCommit/PrepareAbort → CompleteCommit/CompleteAbort). Every state change is made synchronously on the
// broker's serial path; the transaction log (txn/transactions.log under the data dir) makes the Prepare states
// durable before any marker is written, so that a crash never leaves a transaction half visible: on restart a
// transaction in a Prepare state is completed the way it was decided, and one still Ongoing is aborted (its
// producer's epoch bumped, so the producer learns it was fenced rather than committing into nothing).
// What is fsynced when: InitProducerId and Prepare before they are answered; the steps of an open transaction
// (AddPartitionsToTxn, AddOffsetsToTxn, TxnOffsetCommit) are written to the file before they are answered, so that a
// killed process keeps them, and reach the disk with the transaction's first acks=all produce (which waits for the
// transaction log too) or its Prepare; the markers' fsync runs behind the EndTxn answer (see completer.ts), and the
// transactional id's next request waits for it.

import type { Logger } from "pino";
import { ErrorCode } from "../../kafka/protocol/error-codes.js";
import type { BrokerConfig } from "../config.js";
import type { GroupCoordinator } from "../group/coordinator.js";
import type { Partition, TopicRegistry } from "../topics.js";
import { OK, TxnCompleter, type TxnResult } from "./completer.js";
import type { PendingOffsetRecord, TxnState } from "./log-records.js";
import { isComplete, isPrepared, partitionKey, type TxnMetadata } from "./metadata.js";
import type { AbortedTxn } from "./partition-txns.js";
import { TxnStore } from "./store.js";

export type { TxnState } from "./log-records.js";
export type { TxnMetadata } from "./metadata.js";

/** Transactional ids remembered at once; past it the longest-idle finished one is forgotten to make room. */
export const TRANSACTIONAL_IDS_MAX = 100_000;
/** Partitions one transaction may hold. */
export const TXN_PARTITIONS_MAX = 10_000;
/** Distinct partitions whose offsets one transaction may hold for commit. */
export const TXN_PENDING_OFFSETS_MAX = 10_000;
/** Consumer groups one transaction may add with AddOffsetsToTxn; its state is persisted whole on every change. */
export const TXN_GROUPS_MAX = 1_000;

export type { TxnResult } from "./completer.js";

export interface TxnCoordinatorOptions {
  config: BrokerConfig;
  logger: Logger;
  topics: TopicRegistry;
  groups: GroupCoordinator;
  allocateProducerId: () => number;
  now?: () => number;
}

/** The transaction identity a request carries, and whether it may be told PRODUCER_FENCED (newer versions). */
export interface TxnIdentity {
  transactionalId: string;
  producerId: number;
  producerEpoch: number;
  fencedErrorCode: number;
}

export class TransactionCoordinator {
  private readonly store: TxnStore;
  private readonly completer: TxnCompleter;
  private readonly now: () => number;
  private sweepTimer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(private readonly options: TxnCoordinatorOptions) {
    this.now = options.now ?? Date.now;
    this.store = new TxnStore({
      dataDir: options.config.dataDir,
      logger: options.logger,
      topics: options.topics,
      allocateProducerId: options.allocateProducerId,
    });
    this.completer = new TxnCompleter(
      this.store,
      { topics: options.topics, groups: options.groups, logger: options.logger },
      this.now,
    );
  }

  /**
   * Reads the transaction log (with a data dir), restores the partitions' aborted-transaction lists, finishes or
   * aborts what was open at the crash, and starts the timeout sweep.
   */
  async load(): Promise<void> {
    await this.store.open();
    const unfinished = [...this.store.all()].filter((txn) => txn.state !== "Empty" && !isComplete(txn.state));
    for (const txn of unfinished) {
      // What the log knows of the open transaction's partitions stands in for where its batches start.
      for (const { topic, partition, firstOffsetBound } of txn.partitions.values()) {
        this.options.topics.partition(topic, partition)?.txns.begin(txn.producerId, firstOffsetBound);
      }
      if (txn.state === "Ongoing") {
        this.options.logger.warn(
          { transactionalId: txn.transactionalId, producerId: txn.producerId },
          "aborting a transaction left open by a crash",
        );
        this.store.bumpEpoch(txn);
        txn.state = "PrepareAbort";
        this.store.persist(txn);
      }
    }
    await this.completer.recover(unfinished);
    await this.sync();
    const intervalMs = this.options.config.transactionAbortCheckIntervalMs;
    this.sweepTimer = setInterval(() => this.sweep(), intervalMs);
    this.sweepTimer.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.sweepTimer !== null) clearInterval(this.sweepTimer);
    await this.completer.settled();
    await this.store.close();
  }

  /** Resolves once every change made so far is durable (a no-op in memory). */
  async sync(): Promise<void> {
    await this.store.sync();
  }

  /**
   * Forgets aborted transactions of a partition whose markers the log cleaner removed; resolves once that is written
   * to the transaction log, so that a killed broker does not name them again without their markers.
   */
  async forgetAborted(topicId: Buffer, partition: Partition, ranges: readonly AbortedTxn[]): Promise<void> {
    if (ranges.length === 0) return;
    this.store.forgetAborted(topicId, partition, ranges);
    await this.store.written();
  }

  get(transactionalId: string): TxnMetadata | undefined {
    return this.store.get(transactionalId);
  }

  all(): IterableIterator<TxnMetadata> {
    return this.store.all();
  }

  byProducer(producerId: number): TxnMetadata | undefined {
    return this.store.byProducer(producerId);
  }

  /**
   * The partitions ("topic:partition") of a group that hold offsets of a transaction not yet completed: what an
   * OffsetFetch with require_stable is answered UNSTABLE_OFFSET_COMMIT for.
   */
  unstableOffsets(groupId: string): Set<string> {
    const unstable = new Set<string>();
    for (const txn of this.store.all()) {
      if (txn.state !== "Ongoing" && !isPrepared(txn.state)) continue;
      if (!txn.groups.has(groupId)) continue;
      for (const offset of txn.pendingOffsets.values()) {
        if (offset.groupId === groupId) unstable.add(partitionKey(offset.topic, offset.partition));
      }
    }
    return unstable;
  }

  /** fsyncs of the transaction log so far. */
  get logSyncCount(): number {
    return this.store.syncCount;
  }

  /**
   * InitProducerId with a transactional id: a new id gets a fresh producer id at epoch 0; a known one gets its epoch
   * bumped, which fences every older instance, after its open transaction (if any) is aborted. Resolves with the
   * producer id and epoch once that is durable.
   */
  async initProducerId(
    transactionalId: string,
    timeoutMs: number,
    expected: { producerId: number; producerEpoch: number; fencedErrorCode: number },
  ): Promise<TxnResult & { producerId: number; producerEpoch: number }> {
    const refuse = (errorCode: number, message: string) => ({ errorCode, message, producerId: -1, producerEpoch: -1 });
    if (transactionalId === "") return refuse(ErrorCode.INVALID_REQUEST, "the transactional id is empty");
    const timeoutMax = this.options.config.transactionMaxTimeoutMs;
    if (!Number.isInteger(timeoutMs) || timeoutMs <= 0 || timeoutMs > timeoutMax) {
      return refuse(
        ErrorCode.INVALID_TRANSACTION_TIMEOUT,
        `transaction timeout ${timeoutMs} ms must be between 1 and transaction.max.timeout.ms (${timeoutMax})`,
      );
    }
    const known = this.store.get(transactionalId);
    if (known !== undefined) {
      const confirmed = await this.completer.confirmed(known);
      if (confirmed.errorCode !== ErrorCode.NONE) return { ...confirmed, producerId: -1, producerEpoch: -1 };
    }
    let txn = this.store.get(transactionalId);
    if (txn === undefined) {
      if (this.store.size >= TRANSACTIONAL_IDS_MAX && !this.store.evictIdle()) {
        return refuse(
          ErrorCode.COORDINATOR_NOT_AVAILABLE,
          `the broker holds ${TRANSACTIONAL_IDS_MAX} transactional ids`,
        );
      }
      const nowMs = this.now();
      txn = {
        transactionalId,
        producerId: this.options.allocateProducerId(),
        producerEpoch: 0,
        timeoutMs,
        state: "Empty",
        partitions: new Map(),
        groups: new Set(),
        pendingOffsets: new Map(),
        startTimeMs: -1,
        updateTimeMs: nowMs,
      };
      this.store.add(txn);
    } else {
      if (isPrepared(txn.state)) {
        return refuse(ErrorCode.CONCURRENT_TRANSACTIONS, `transaction ${transactionalId} is being completed`);
      }
      // A producer that names the id and epoch it holds (KIP-360) must still hold them.
      if (
        expected.producerId >= 0 &&
        (expected.producerId !== txn.producerId || expected.producerEpoch !== txn.producerEpoch)
      ) {
        return refuse(
          expected.fencedErrorCode,
          `producer ${expected.producerId} epoch ${expected.producerEpoch} is fenced`,
        );
      }
      this.store.bumpEpoch(txn);
      txn.timeoutMs = timeoutMs;
      if (txn.state === "Ongoing") {
        const bumpedEpoch = txn.producerEpoch;
        const aborted = await this.completer.complete(txn, false);
        if (aborted.errorCode !== ErrorCode.NONE) return { ...aborted, producerId: -1, producerEpoch: -1 };
        // Another instance started while the abort was being synced: it holds the id now.
        if (txn.producerEpoch !== bumpedEpoch) {
          return refuse(expected.fencedErrorCode, `a newer instance of ${transactionalId} started meanwhile`);
        }
      }
      txn.state = "Empty";
      txn.updateTimeMs = this.now();
    }
    // Taken now: another instance may bump the epoch again while this answer waits for the disk.
    const { producerId, producerEpoch } = txn;
    this.store.persist(txn);
    const stored = await this.completer.durable();
    if (stored.errorCode !== ErrorCode.NONE) return { ...stored, producerId: -1, producerEpoch: -1 };
    return { errorCode: ErrorCode.NONE, producerId, producerEpoch };
  }

  /** Adds partitions to the producer's transaction (starting one if none is open); durable when it resolves. */
  async addPartitions(
    identity: TxnIdentity,
    partitions: Array<{ topic: string; partition: number }>,
  ): Promise<TxnResult> {
    const txn = await this.currentConfirmed(identity);
    if ("errorCode" in txn) return txn;
    if (txn.partitions.size + partitions.length > TXN_PARTITIONS_MAX) {
      return {
        errorCode: ErrorCode.INVALID_REQUEST,
        message: `a transaction may hold ${TXN_PARTITIONS_MAX} partitions`,
      };
    }
    this.beginIfIdle(txn);
    for (const { topic, partition } of partitions) {
      const key = partitionKey(topic, partition);
      if (txn.partitions.has(key)) continue;
      const log = this.options.topics.partition(topic, partition)?.log;
      txn.partitions.set(key, { topic, partition, firstOffsetBound: log?.logEndOffset ?? 0 });
    }
    return this.recorded(txn);
  }

  /** Adds a consumer group to the transaction, so that its TxnOffsetCommits commit or abort with it. */
  async addOffsets(identity: TxnIdentity, groupId: string): Promise<TxnResult> {
    const txn = await this.currentConfirmed(identity);
    if ("errorCode" in txn) return txn;
    if (!txn.groups.has(groupId) && txn.groups.size >= TXN_GROUPS_MAX) {
      return { errorCode: ErrorCode.INVALID_REQUEST, message: `a transaction may hold ${TXN_GROUPS_MAX} groups` };
    }
    this.beginIfIdle(txn);
    txn.groups.add(groupId);
    return this.recorded(txn);
  }

  /** Holds offsets for the group until the transaction ends; they are committed only if it commits. */
  async commitOffsets(
    identity: TxnIdentity,
    groupId: string,
    offsets: Array<Omit<PendingOffsetRecord, "groupId">>,
  ): Promise<TxnResult> {
    const txn = this.current(identity);
    if ("errorCode" in txn) return txn;
    if (txn.state !== "Ongoing" || !txn.groups.has(groupId)) {
      return {
        errorCode: ErrorCode.INVALID_TXN_STATE,
        message: `group ${groupId} was not added to the transaction of ${identity.transactionalId} (AddOffsetsToTxn)`,
      };
    }
    const added = offsets.filter((o) => !txn.pendingOffsets.has(`${groupId}:${partitionKey(o.topic, o.partition)}`));
    if (txn.pendingOffsets.size + added.length > TXN_PENDING_OFFSETS_MAX) {
      return {
        errorCode: ErrorCode.INVALID_REQUEST,
        message: `a transaction may hold ${TXN_PENDING_OFFSETS_MAX} offsets`,
      };
    }
    for (const offset of offsets) {
      txn.pendingOffsets.set(`${groupId}:${partitionKey(offset.topic, offset.partition)}`, { groupId, ...offset });
    }
    return this.recorded(txn);
  }

  /** EndTxn: commits or aborts the open transaction; resolves once its Prepare state is durable and its markers written. */
  async endTxn(identity: TxnIdentity, committed: boolean): Promise<TxnResult> {
    const txn = this.current(identity);
    if ("errorCode" in txn) {
      return txn;
    }
    const wanted: TxnState = committed ? "CompleteCommit" : "CompleteAbort";
    if (txn.state === wanted) return OK; // A retry of an EndTxn that already succeeded.
    if (txn.state !== "Ongoing") {
      return {
        errorCode: ErrorCode.INVALID_TXN_STATE,
        message: `cannot ${committed ? "commit" : "abort"} transaction ${identity.transactionalId} in state ${txn.state}`,
      };
    }
    return this.completer.complete(txn, committed);
  }

  /**
   * Checks a transactional batch before it is appended: it must come from the current epoch of a producer whose open
   * transaction holds the partition. Returns null when it may be appended.
   */
  checkBatch(producerId: number, producerEpoch: number, partition: Partition): TxnResult | null {
    const txn = this.store.byProducer(producerId);
    if (txn === undefined) {
      return {
        errorCode: ErrorCode.INVALID_PRODUCER_ID_MAPPING,
        message: `producer ${producerId} has no transactional id`,
      };
    }
    if (producerEpoch !== txn.producerEpoch) {
      return {
        errorCode: ErrorCode.INVALID_PRODUCER_EPOCH,
        message: `producer ${producerId} epoch ${producerEpoch} is not the current epoch ${txn.producerEpoch}`,
      };
    }
    if (txn.state !== "Ongoing" || !txn.partitions.has(partitionKey(partition.topic.name, partition.index))) {
      return {
        errorCode: ErrorCode.INVALID_TXN_STATE,
        message: `partition ${partition.topic.name}-${partition.index} is not in an open transaction of producer ${producerId}`,
      };
    }
    return null;
  }

  /** Aborts transactions past their timeout (bumping the epoch, as Kafka does) and forgets long-idle ids. */
  sweep(): void {
    if (this.closed) return;
    const nowMs = this.now();
    const expirationMs = this.options.config.transactionalIdExpirationMs;
    for (const txn of [...this.store.all()]) {
      if (txn.state === "Ongoing" && nowMs - txn.startTimeMs > txn.timeoutMs) {
        this.options.logger.info(
          { transactionalId: txn.transactionalId, producerId: txn.producerId, timeoutMs: txn.timeoutMs },
          "aborting a transaction past its timeout",
        );
        this.store.bumpEpoch(txn);
        void this.completer.complete(txn, false);
      } else if (isPrepared(txn.state) && this.completer.stalled(txn)) {
        void this.completer.finish(txn);
      } else if (this.completer.confirmationFailed(txn)) {
        this.completer.retryConfirmation(txn);
      } else if ((txn.state === "Empty" || isComplete(txn.state)) && nowMs - txn.updateTimeMs > expirationMs) {
        this.store.forget(txn);
      }
    }
  }

  /** The transaction the request's id, producer id and epoch name, or the error Kafka answers. */
  private current(identity: TxnIdentity): TxnMetadata | (TxnResult & { errorCode: number }) {
    const txn = this.store.get(identity.transactionalId);
    if (txn === undefined || txn.producerId !== identity.producerId) {
      return {
        errorCode: ErrorCode.INVALID_PRODUCER_ID_MAPPING,
        message: `transactional id ${identity.transactionalId} does not have producer id ${identity.producerId}`,
      };
    }
    if (identity.producerEpoch !== txn.producerEpoch) {
      return {
        errorCode:
          identity.producerEpoch < txn.producerEpoch ? identity.fencedErrorCode : ErrorCode.INVALID_PRODUCER_EPOCH,
        message: `producer ${identity.producerId} epoch ${identity.producerEpoch} is not the current epoch ${txn.producerEpoch}`,
      };
    }
    if (isPrepared(txn.state)) {
      return {
        errorCode: ErrorCode.CONCURRENT_TRANSACTIONS,
        message: `transaction ${identity.transactionalId} is being completed`,
      };
    }
    return txn;
  }

  /** As current(), after the transaction's last completion is durable (a new one must not overtake it on disk). */
  private async currentConfirmed(identity: TxnIdentity): Promise<TxnMetadata | (TxnResult & { errorCode: number })> {
    const txn = this.current(identity);
    if ("errorCode" in txn || !this.completer.confirmingNow(txn)) return txn;
    const confirmed = await this.completer.confirmed(txn);
    if (confirmed.errorCode !== ErrorCode.NONE) return confirmed;
    return this.current(identity);
  }

  private beginIfIdle(txn: TxnMetadata): void {
    if (txn.state === "Ongoing") return;
    txn.state = "Ongoing";
    txn.startTimeMs = this.now();
    txn.partitions.clear();
    txn.groups.clear();
    txn.pendingOffsets.clear();
  }

  /**
   * Records a step of an open transaction in the transaction log's file without waiting for its fsync: the
   * transaction's acks=all produces and its Prepare make it durable before anything depends on it.
   */
  private async recorded(txn: TxnMetadata): Promise<TxnResult> {
    txn.updateTimeMs = this.now();
    this.store.persist(txn);
    try {
      await this.store.written();
      return OK;
    } catch (error) {
      this.options.logger.error({ err: error }, "the transaction log could not be written");
      return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, message: "the broker could not write to its disk" };
    }
  }
}
