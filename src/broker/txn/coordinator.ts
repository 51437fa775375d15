// The transaction coordinator: each transactional id's producer id and epoch, the transaction it has open (the
// partitions and groups in it, the offsets it will commit) and the state machine Kafka runs (Empty → Ongoing →
// PrepareCommit/PrepareAbort → CompleteCommit/CompleteAbort). Every state change is made synchronously on the
// broker's serial path; the transaction log (txn/transactions.log under the data dir) makes the Prepare states
// durable before any marker is written, so that a crash never leaves a transaction half visible: on restart a
// transaction in a Prepare state is completed the way it was decided, and one still Ongoing is aborted (its
// producer's epoch bumped, so the producer learns it was fenced rather than committing into nothing).

import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "pino";
import { ErrorCode } from "../../kafka/protocol/error-codes.js";
import type { BrokerConfig } from "../config.js";
import type { GroupCoordinator } from "../group/coordinator.js";
import { GroupLogFile } from "../group/log-file.js";
import { LogStorageError } from "../log/partition-log.js";
import type { Partition, TopicRegistry } from "../topics.js";
import {
  decodeTxnLog,
  encodeTxnLogRecord,
  type PendingOffsetRecord,
  type TxnLogRecord,
  type TxnMetadataRecord,
  type TxnPartitionRecord,
  type TxnState,
} from "./log-records.js";
import { buildTxnMarker } from "./markers.js";

export type { TxnState } from "./log-records.js";

export const TXN_LOG_DIRECTORY = "txn";
export const TXN_LOG_FILE = "transactions.log";
/** The transaction log is rewritten from a snapshot once it is at least this large and twice the snapshot. */
export const TXN_LOG_COMPACT_BYTES_MIN = 4 * 1024 * 1024;
/** Transactional ids remembered at once; past it the longest-idle finished one is forgotten to make room. */
export const TRANSACTIONAL_IDS_MAX = 100_000;
/** Partitions one transaction may hold. */
export const TXN_PARTITIONS_MAX = 10_000;
/** Distinct partitions whose offsets one transaction may hold for commit. */
export const TXN_PENDING_OFFSETS_MAX = 10_000;
/** Consumer groups one transaction may add with AddOffsetsToTxn; its state is persisted whole on every change. */
export const TXN_GROUPS_MAX = 1_000;
const EPOCH_MAX = 32767;

export interface TxnMetadata {
  readonly transactionalId: string;
  producerId: number;
  producerEpoch: number;
  timeoutMs: number;
  state: TxnState;
  /** By "topic:partition". */
  partitions: Map<string, TxnPartitionRecord>;
  groups: Set<string>;
  /** By "group:topic:partition". */
  pendingOffsets: Map<string, PendingOffsetRecord>;
  startTimeMs: number;
  updateTimeMs: number;
}

/** What a transactional request is answered with: NONE, or the error and why. */
export interface TxnResult {
  errorCode: number;
  message?: string;
}

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

const OK: TxnResult = { errorCode: ErrorCode.NONE };

function partitionKey(topic: string, partition: number): string {
  return `${topic}:${partition}`;
}

export class TransactionCoordinator {
  private readonly txns = new Map<string, TxnMetadata>();
  private readonly byProducerId = new Map<number, TxnMetadata>();
  /** Transactions whose markers are being written; the sweep leaves them alone. */
  private readonly completing = new Set<TxnMetadata>();
  private readonly now: () => number;
  private log: GroupLogFile<TxnLogRecord> | null = null;
  private sweepTimer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(private readonly options: TxnCoordinatorOptions) {
    this.now = options.now ?? Date.now;
  }

  /**
   * Reads the transaction log (with a data dir), restores the partitions' aborted-transaction lists, finishes or
   * aborts what was open at the crash, and starts the timeout sweep.
   */
  async load(): Promise<void> {
    const { dataDir } = this.options.config;
    if (dataDir !== null) {
      const directory = join(dataDir, TXN_LOG_DIRECTORY);
      await mkdir(directory, { recursive: true });
      const log = await GroupLogFile.open<TxnLogRecord>({
        path: join(directory, TXN_LOG_FILE),
        codec: { encode: encodeTxnLogRecord, decode: decodeTxnLog },
        compactBytesMin: TXN_LOG_COMPACT_BYTES_MIN,
        logger: this.options.logger,
        snapshot: () => this.snapshot(),
      });
      for (const record of log.recovered) this.replay(record);
      this.log = log;
      await log.compactIfGrown();
      this.options.logger.info({ transactionalIds: this.txns.size }, "transaction state loaded");
    }
    const unfinished = [...this.txns.values()].filter((txn) => txn.state !== "Empty" && !isComplete(txn.state));
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
        this.bumpEpoch(txn);
        txn.state = "PrepareAbort";
        this.persist(txn);
      }
      this.writeMarkers(txn);
    }
    await this.persistCompleted(unfinished);
    await this.sync();
    const intervalMs = this.options.config.transactionAbortCheckIntervalMs;
    this.sweepTimer = setInterval(() => this.sweep(), intervalMs);
    this.sweepTimer.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.sweepTimer !== null) clearInterval(this.sweepTimer);
    const log = this.log;
    this.log = null;
    if (log !== null) await log.close();
  }

  /** Resolves once every change made so far is durable (a no-op in memory). */
  async sync(): Promise<void> {
    if (this.log !== null) await this.log.sync();
  }

  get(transactionalId: string): TxnMetadata | undefined {
    return this.txns.get(transactionalId);
  }

  all(): IterableIterator<TxnMetadata> {
    return this.txns.values();
  }

  byProducer(producerId: number): TxnMetadata | undefined {
    return this.byProducerId.get(producerId);
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
    let txn = this.txns.get(transactionalId);
    if (txn === undefined) {
      if (this.txns.size >= TRANSACTIONAL_IDS_MAX && !this.evictIdle()) {
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
      this.txns.set(transactionalId, txn);
      this.byProducerId.set(txn.producerId, txn);
    } else {
      if (txn.state === "PrepareAbort" || txn.state === "PrepareCommit") {
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
      this.bumpEpoch(txn);
      txn.timeoutMs = timeoutMs;
      if (txn.state === "Ongoing") {
        const bumpedEpoch = txn.producerEpoch;
        const aborted = await this.complete(txn, false);
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
    this.persist(txn);
    const stored = await this.durable();
    if (stored.errorCode !== ErrorCode.NONE) return { ...stored, producerId: -1, producerEpoch: -1 };
    return { errorCode: ErrorCode.NONE, producerId, producerEpoch };
  }

  /** Adds partitions to the producer's transaction (starting one if none is open); durable when it resolves. */
  async addPartitions(
    identity: TxnIdentity,
    partitions: Array<{ topic: string; partition: number }>,
  ): Promise<TxnResult> {
    const txn = this.current(identity);
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
    return this.persisted(txn);
  }

  /** Adds a consumer group to the transaction, so that its TxnOffsetCommits commit or abort with it. */
  async addOffsets(identity: TxnIdentity, groupId: string): Promise<TxnResult> {
    const txn = this.current(identity);
    if ("errorCode" in txn) return txn;
    if (!txn.groups.has(groupId) && txn.groups.size >= TXN_GROUPS_MAX) {
      return { errorCode: ErrorCode.INVALID_REQUEST, message: `a transaction may hold ${TXN_GROUPS_MAX} groups` };
    }
    this.beginIfIdle(txn);
    txn.groups.add(groupId);
    return this.persisted(txn);
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
    return this.persisted(txn);
  }

  /** EndTxn: commits or aborts the open transaction; resolves once its markers are written and synced. */
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
    return this.complete(txn, committed);
  }

  /**
   * Checks a transactional batch before it is appended: it must come from the current epoch of a producer whose open
   * transaction holds the partition. Returns null when it may be appended.
   */
  checkBatch(producerId: number, producerEpoch: number, partition: Partition): TxnResult | null {
    const txn = this.byProducerId.get(producerId);
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
    for (const txn of [...this.txns.values()]) {
      if (txn.state === "Ongoing" && nowMs - txn.startTimeMs > txn.timeoutMs) {
        this.options.logger.info(
          { transactionalId: txn.transactionalId, producerId: txn.producerId, timeoutMs: txn.timeoutMs },
          "aborting a transaction past its timeout",
        );
        this.bumpEpoch(txn);
        void this.complete(txn, false);
      } else if ((txn.state === "PrepareCommit" || txn.state === "PrepareAbort") && !this.completing.has(txn)) {
        void this.finish(txn);
      } else if ((txn.state === "Empty" || isComplete(txn.state)) && nowMs - txn.updateTimeMs > expirationMs) {
        this.forget(txn);
      }
    }
  }

  /**
   * Ongoing → Prepare (durable) → markers written → Complete. When the disk fails the transaction stays in its
   * Prepare state (requests for it get CONCURRENT_TRANSACTIONS) and the sweep finishes it later.
   */
  private async complete(txn: TxnMetadata, committed: boolean): Promise<TxnResult> {
    txn.state = committed ? "PrepareCommit" : "PrepareAbort";
    txn.updateTimeMs = this.now();
    this.persist(txn);
    return this.finish(txn);
  }

  private async finish(txn: TxnMetadata): Promise<TxnResult> {
    this.completing.add(txn);
    try {
      const prepared = await this.durable();
      if (prepared.errorCode !== ErrorCode.NONE) return prepared;
      this.writeMarkers(txn);
      await this.persistCompleted([txn]);
      return OK;
    } catch (error) {
      this.options.logger.error({ err: error, transactionalId: txn.transactionalId }, "transaction markers not synced");
      return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, message: "the broker could not write to its disk" };
    } finally {
      this.completing.delete(txn);
    }
  }

  /** Syncs the transaction log; a failure is answered with a retriable error, as Kafka does when its log is down. */
  private async durable(): Promise<TxnResult> {
    try {
      await this.sync();
      return OK;
    } catch (error) {
      this.options.logger.error({ err: error }, "the transaction log could not be synced");
      return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, message: "the broker could not write to its disk" };
    }
  }

  /**
   * Writes the commit or abort marker to every partition of a transaction in a Prepare state, applies or drops its
   * offsets and moves it to Complete. Synchronous: one step on the serial path.
   */
  private writeMarkers(txn: TxnMetadata): void {
    const committed = txn.state === "PrepareCommit";
    const nowMs = this.now();
    for (const { topic, partition: index } of txn.partitions.values()) {
      const partition = this.options.topics.partition(topic, index);
      if (partition === undefined) continue;
      const { batch, header } = buildTxnMarker(txn.producerId, txn.producerEpoch, committed, nowMs);
      let markerOffset: number;
      try {
        markerOffset = partition.log.append(batch, header).baseOffset;
      } catch (error) {
        if (!(error instanceof LogStorageError)) throw error;
        // The partition cannot be written; its open transaction stays open there (holding back its last stable
        // offset) rather than exposing aborted records.
        this.options.logger.error({ err: error, topic, partition: index }, "transaction marker could not be written");
        continue;
      }
      const aborted = partition.txns.end(txn.producerId, committed, markerOffset);
      if (aborted !== null) {
        this.log?.append({
          kind: "aborted",
          topicId: partition.topic.id.toString("hex"),
          partition: index,
          ...aborted,
        });
      }
      partition.wakeWaiters();
    }
    if (committed) {
      const byGroup = new Map<string, PendingOffsetRecord[]>();
      for (const offset of txn.pendingOffsets.values()) {
        byGroup.set(offset.groupId, [...(byGroup.get(offset.groupId) ?? []), offset]);
      }
      for (const [groupId, offsets] of byGroup) {
        this.options.groups.commitTransactionalOffsets(
          groupId,
          offsets.map(({ topic, partition, offset, leaderEpoch, metadata }) => ({
            topic,
            partition,
            offset,
            leaderEpoch,
            metadata,
          })),
        );
      }
    }
    // Complete reaches the transaction log only once the markers and offsets are on disk (see persistCompleted), so
    // that a recovery that finds it never needs them written again.
    txn.state = committed ? "CompleteCommit" : "CompleteAbort";
    txn.updateTimeMs = nowMs;
  }

  /** Waits for the markers and committed offsets of these transactions, then records them as complete. */
  private async persistCompleted(txns: TxnMetadata[]): Promise<void> {
    await Promise.all([this.options.groups.sync(), ...this.touchedLogsSync(txns)]);
    for (const txn of txns) this.persist(txn);
  }

  private touchedLogsSync(txns: TxnMetadata[]): Array<Promise<void>> {
    const syncs: Array<Promise<void>> = [];
    for (const txn of txns) {
      for (const { topic, partition } of txn.partitions.values()) {
        const log = this.options.topics.partition(topic, partition)?.log;
        if (log !== undefined) syncs.push(log.sync());
      }
    }
    return syncs;
  }

  /** The transaction the request's id, producer id and epoch name, or the error Kafka answers. */
  private current(identity: TxnIdentity): TxnMetadata | (TxnResult & { errorCode: number }) {
    const txn = this.txns.get(identity.transactionalId);
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
    if (txn.state === "PrepareCommit" || txn.state === "PrepareAbort") {
      return {
        errorCode: ErrorCode.CONCURRENT_TRANSACTIONS,
        message: `transaction ${identity.transactionalId} is being completed`,
      };
    }
    return txn;
  }

  private beginIfIdle(txn: TxnMetadata): void {
    if (txn.state === "Ongoing") return;
    txn.state = "Ongoing";
    txn.startTimeMs = this.now();
    txn.partitions.clear();
    txn.groups.clear();
    txn.pendingOffsets.clear();
  }

  private async persisted(txn: TxnMetadata): Promise<TxnResult> {
    txn.updateTimeMs = this.now();
    this.persist(txn);
    return this.durable();
  }

  /** A new epoch fences every older instance; at the last epoch the id moves to a new producer id instead. */
  private bumpEpoch(txn: TxnMetadata): void {
    if (txn.producerEpoch >= EPOCH_MAX - 1) {
      this.byProducerId.delete(txn.producerId);
      txn.producerId = this.options.allocateProducerId();
      txn.producerEpoch = 0;
      this.byProducerId.set(txn.producerId, txn);
    } else {
      txn.producerEpoch++;
    }
  }

  private evictIdle(): boolean {
    let oldest: TxnMetadata | undefined;
    for (const txn of this.txns.values()) {
      if (
        (txn.state === "Empty" || isComplete(txn.state)) &&
        (oldest === undefined || txn.updateTimeMs < oldest.updateTimeMs)
      ) {
        oldest = txn;
      }
    }
    if (oldest === undefined) return false;
    this.forget(oldest);
    return true;
  }

  private forget(txn: TxnMetadata): void {
    this.txns.delete(txn.transactionalId);
    if (this.byProducerId.get(txn.producerId) === txn) this.byProducerId.delete(txn.producerId);
    this.log?.append({ kind: "txn-deleted", transactionalId: txn.transactionalId });
  }

  private persist(txn: TxnMetadata): void {
    this.log?.append(toRecord(txn));
  }

  private replay(record: TxnLogRecord): void {
    switch (record.kind) {
      case "txn": {
        const previous = this.txns.get(record.transactionalId);
        if (previous !== undefined && this.byProducerId.get(previous.producerId) === previous) {
          this.byProducerId.delete(previous.producerId);
        }
        const txn = fromRecord(record);
        this.txns.set(txn.transactionalId, txn);
        this.byProducerId.set(txn.producerId, txn);
        return;
      }
      case "txn-deleted": {
        const txn = this.txns.get(record.transactionalId);
        if (txn !== undefined) this.forget(txn);
        return;
      }
      case "aborted": {
        const partition = this.partitionByTopicId(record.topicId, record.partition);
        const { producerId, firstOffset, lastOffset } = record;
        partition?.txns.restoreAborted({ producerId, firstOffset, lastOffset });
        return;
      }
    }
  }

  private partitionByTopicId(topicId: string, index: number): Partition | undefined {
    for (const topic of this.options.topics.all()) {
      if (topic.id.toString("hex") === topicId) return topic.partitions[index];
    }
    return undefined;
  }

  /** The records that rebuild the current state: every transactional id and the aborted ranges still in the logs. */
  private snapshot(): TxnLogRecord[] {
    const records: TxnLogRecord[] = [...this.txns.values()].map(toRecord);
    for (const topic of this.options.topics.all()) {
      const topicId = topic.id.toString("hex");
      for (const partition of topic.partitions) {
        for (const entry of partition.txns.pruneBefore(partition.log.logStartOffset)) {
          records.push({ kind: "aborted", topicId, partition: partition.index, ...entry });
        }
      }
    }
    return records;
  }
}

function isComplete(state: TxnState): boolean {
  return state === "CompleteCommit" || state === "CompleteAbort";
}

function toRecord(txn: TxnMetadata): TxnMetadataRecord {
  return {
    kind: "txn",
    transactionalId: txn.transactionalId,
    producerId: txn.producerId,
    producerEpoch: txn.producerEpoch,
    timeoutMs: txn.timeoutMs,
    state: txn.state,
    partitions: [...txn.partitions.values()],
    groups: [...txn.groups],
    pendingOffsets: [...txn.pendingOffsets.values()],
    startTimeMs: txn.startTimeMs,
    updateTimeMs: txn.updateTimeMs,
  };
}

function fromRecord(record: TxnMetadataRecord): TxnMetadata {
  return {
    transactionalId: record.transactionalId,
    producerId: record.producerId,
    producerEpoch: record.producerEpoch,
    timeoutMs: record.timeoutMs,
    state: record.state,
    partitions: new Map(record.partitions.map((p) => [partitionKey(p.topic, p.partition), p])),
    groups: new Set(record.groups),
    pendingOffsets: new Map(
      record.pendingOffsets.map((o) => [`${o.groupId}:${partitionKey(o.topic, o.partition)}`, o]),
    ),
    startTimeMs: record.startTimeMs,
    updateTimeMs: record.updateTimeMs,
  };
}
