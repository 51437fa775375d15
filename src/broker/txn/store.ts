// The transactional ids the coordinator knows (by id and by producer id) and the transaction log behind them
// (txn/transactions.log under the data dir, Sluice's __transaction_state): every change is appended to it, it is
// replayed on open, and rewritten from a snapshot of the current state once it has grown.

import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "pino";
import { GroupLogFile } from "../group/log-file.js";
import type { Partition, TopicRegistry } from "../topics.js";
import { decodeTxnLog, encodeTxnLogRecord, type AbortedTxnRecord, type TxnLogRecord } from "./log-records.js";
import { fromRecord, isComplete, toRecord, type TxnMetadata } from "./metadata.js";

export const TXN_LOG_DIRECTORY = "txn";
export const TXN_LOG_FILE = "transactions.log";
/** The transaction log is rewritten from a snapshot once it is at least this large and twice the snapshot. */
export const TXN_LOG_COMPACT_BYTES_MIN = 4 * 1024 * 1024;
const EPOCH_MAX = 32767;

export interface TxnStoreOptions {
  /** The data dir, or null to keep transaction state in memory only. */
  dataDir: string | null;
  logger: Logger;
  topics: TopicRegistry;
  allocateProducerId: () => number;
}

export class TxnStore {
  private readonly txns = new Map<string, TxnMetadata>();
  private readonly byProducerId = new Map<number, TxnMetadata>();
  private log: GroupLogFile<TxnLogRecord> | null = null;

  constructor(private readonly options: TxnStoreOptions) {}

  /** Reads the transaction log (with a data dir) and restores the partitions' aborted-transaction lists. */
  async open(): Promise<void> {
    const { dataDir } = this.options;
    if (dataDir === null) return;
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

  async close(): Promise<void> {
    const log = this.log;
    this.log = null;
    if (log !== null) await log.close();
  }

  /** Resolves once every change made so far is durable (a no-op in memory). */
  async sync(): Promise<void> {
    if (this.log !== null) await this.log.sync();
  }

  /** Resolves once every change made so far is written to the file, if not yet fsynced (a no-op in memory). */
  async written(): Promise<void> {
    if (this.log !== null) await this.log.written();
  }

  /** fsyncs of the transaction log so far. */
  get syncCount(): number {
    return this.log?.syncCount ?? 0;
  }

  get size(): number {
    return this.txns.size;
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

  add(txn: TxnMetadata): void {
    this.txns.set(txn.transactionalId, txn);
    this.byProducerId.set(txn.producerId, txn);
  }

  persist(txn: TxnMetadata): void {
    this.log?.append(toRecord(txn));
  }

  persistAborted(record: AbortedTxnRecord): void {
    this.log?.append(record);
  }

  /**
   * Forgets aborted transactions of a partition whose markers the log cleaner removed (their batches went before).
   */
  forgetAborted(
    topicId: Buffer,
    partition: Partition,
    ranges: readonly { producerId: number; lastOffset: number }[],
  ): void {
    partition.txns.forgetAborted(ranges);
    for (const { producerId, lastOffset } of ranges) {
      this.log?.append({
        kind: "aborted-forgotten",
        topicId: topicId.toString("hex"),
        partition: partition.index,
        producerId,
        lastOffset,
      });
    }
  }

  /** A new epoch fences every older instance; at the last epoch the id moves to a new producer id instead. */
  bumpEpoch(txn: TxnMetadata): void {
    if (txn.producerEpoch >= EPOCH_MAX - 1) {
      this.byProducerId.delete(txn.producerId);
      txn.producerId = this.options.allocateProducerId();
      txn.producerEpoch = 0;
      this.byProducerId.set(txn.producerId, txn);
    } else {
      txn.producerEpoch++;
    }
  }

  /** Forgets the longest-idle finished transactional id; false when every id has a transaction in progress. */
  evictIdle(): boolean {
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

  forget(txn: TxnMetadata): void {
    this.txns.delete(txn.transactionalId);
    if (this.byProducerId.get(txn.producerId) === txn) this.byProducerId.delete(txn.producerId);
    this.log?.append({ kind: "txn-deleted", transactionalId: txn.transactionalId });
  }

  private replay(record: TxnLogRecord): void {
    switch (record.kind) {
      case "txn": {
        const previous = this.txns.get(record.transactionalId);
        if (previous !== undefined && this.byProducerId.get(previous.producerId) === previous) {
          this.byProducerId.delete(previous.producerId);
        }
        this.add(fromRecord(record));
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
      case "aborted-forgotten": {
        const partition = this.partitionByTopicId(record.topicId, record.partition);
        partition?.txns.forgetAborted([record]);
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
