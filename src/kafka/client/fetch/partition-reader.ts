// Reading partitions continuously by manual assignment, without a consumer group: each partition starts at an
// offset, the earliest or latest offset, or the first offset at a time, and moves forward as records arrive. One
// read() is one round: a Fetch to every leader at once, long-polling up to maxWaitMs when nothing is new. A partition
// whose leader moved is looked up again; one whose position fell out of the log (retention, DeleteRecords) restarts
// at the earliest or latest offset, or fails, as asked. Transient failures are retried with backoff; the reader gives
// up after retriesMax rounds in a row that made no progress.

import { isStaleLeaderError, type KafkaCluster, type Lane } from "../cluster/cluster.js";
import { partitionKey, type ItemOutcome } from "../cluster/routing.js";
import { ErrorCode } from "../../protocol/error-codes.js";
import { listOffsets, type OffsetSpec, type TopicPartition } from "../admin/offsets.js";
import { KafkaBrokerError, KafkaClientError, KafkaConfigError, isRetriable } from "../errors.js";
import type { BrokerConnection } from "../network/connection.js";
import {
  fetchFrom,
  resolveFetchLimits,
  type FetchedPartition,
  type FetchLimits,
  type PartitionPosition,
  type ResolvedFetchLimits,
} from "./fetch.js";
import type { FetchedRecord } from "./records.js";

/** Where a partition starts: an offset, its earliest or latest offset, or the first offset at or after a time. */
export type StartPosition = OffsetSpec | { readonly offset: number };

export type OutOfRangePolicy = "earliest" | "latest" | "error";

export interface ReaderPartition extends TopicPartition {
  readonly from: StartPosition;
}

export interface PartitionReaderOptions extends FetchLimits {
  readonly partitions?: readonly ReaderPartition[];
  /** What to do when a partition's position is no longer in its log; default "earliest". */
  readonly outOfRange?: OutOfRangePolicy;
  /** The connections the reader's fetches travel on; default "fetch", shared with the client's other readers. */
  readonly lane?: Lane;
}

export interface PartitionState extends TopicPartition {
  /** The next offset to read, or null while the start position is being looked up. */
  readonly position: number | null;
  /** The high watermark at the last fetch, or -1 before the first. */
  readonly highWatermark: number;
}

/** A reader holds at most this many partitions. */
export const READER_PARTITIONS_MAX = 10_000;

interface Assigned {
  readonly topic: string;
  readonly partition: number;
  from: StartPosition;
  position: number | null;
  highWatermark: number;
}

function checkStart(field: string, from: StartPosition): void {
  if (from === "earliest" || from === "latest") return;
  if (typeof from === "object" && from !== null) {
    if ("offset" in from && Number.isSafeInteger(from.offset) && from.offset >= 0) return;
    if ("timestamp" in from && Number.isSafeInteger(from.timestamp) && from.timestamp >= 0) return;
  }
  throw new KafkaConfigError(field, 'must be "earliest", "latest", { offset } or { timestamp }');
}

export class PartitionReader {
  private readonly assigned = new Map<string, Assigned>();
  private readonly limits: ResolvedFetchLimits;
  private readonly outOfRange: OutOfRangePolicy;
  private readonly lane: Lane;
  private reading = false;
  private closed = false;
  /** Set by interrupt() while a round runs: the round sends nothing more and drops the answers of what it sent. */
  private interrupted = false;
  private cutRound: (() => void) | null = null;
  private failedRounds = 0;

  constructor(
    private readonly cluster: KafkaCluster,
    options: PartitionReaderOptions = {},
  ) {
    this.limits = resolveFetchLimits(options);
    this.outOfRange = options.outOfRange ?? "earliest";
    this.lane = options.lane ?? "fetch";
    if (!["earliest", "latest", "error"].includes(this.outOfRange)) {
      throw new KafkaConfigError("outOfRange", 'must be "earliest", "latest" or "error"');
    }
    this.assign(options.partitions ?? []);
  }

  /** Adds partitions (or moves already assigned ones to a new start). */
  assign(partitions: readonly ReaderPartition[]): void {
    partitions.forEach((entry, index) => {
      checkStart(`partitions[${index}].from`, entry.from);
      if (
        typeof entry.topic !== "string" ||
        entry.topic === "" ||
        !Number.isInteger(entry.partition) ||
        entry.partition < 0
      ) {
        throw new KafkaConfigError(`partitions[${index}]`, "needs a topic name and a partition number of at least 0");
      }
    });
    const added = partitions.filter((entry) => !this.assigned.has(partitionKey(entry.topic, entry.partition))).length;
    if (this.assigned.size + added > READER_PARTITIONS_MAX) {
      throw new KafkaConfigError("partitions", `a reader holds at most ${READER_PARTITIONS_MAX} partitions`);
    }
    for (const entry of partitions) this.seek(entry.topic, entry.partition, entry.from, true);
  }

  unassign(partitions: readonly TopicPartition[]): void {
    for (const entry of partitions) this.assigned.delete(partitionKey(entry.topic, entry.partition));
  }

  /** Moves a partition to a new start; the next read() begins there. */
  seek(topic: string, partition: number, from: StartPosition, assignIfMissing = false): void {
    checkStart("from", from);
    const key = partitionKey(topic, partition);
    let entry = this.assigned.get(key);
    if (entry === undefined) {
      if (!assignIfMissing)
        throw new KafkaConfigError("partition", `${topic}-${partition} is not assigned to this reader`);
      entry = { topic, partition, from, position: null, highWatermark: -1 };
      this.assigned.set(key, entry);
    }
    entry.from = from;
    entry.position = typeof from === "object" && "offset" in from ? from.offset : null;
  }

  partitions(): PartitionState[] {
    return [...this.assigned.values()].map(({ topic, partition, position, highWatermark }) => ({
      topic,
      partition,
      position,
      highWatermark,
    }));
  }

  /**
   * One round: fetches every assigned partition from its position and returns the records that arrived (ordered by
   * partition, then offset), or an empty array after maxWaitMs (the reader's, or this round's) without any.
   */
  async read(round: { readonly maxWaitMs?: number } = {}): Promise<FetchedRecord[]> {
    if (this.reading) throw new Error("PartitionReader.read() is already running; await it before calling again");
    if (this.closed || this.assigned.size === 0) return [];
    const limits =
      round.maxWaitMs === undefined ? this.limits : resolveFetchLimits({ ...this.limits, maxWaitMs: round.maxWaitMs });
    this.reading = true;
    this.interrupted = false;
    try {
      return await this.round(limits);
    } catch (error) {
      // Closing the lane after an interrupt may fail what the round was still sending or connecting.
      if (this.interrupted) return [];
      throw error;
    } finally {
      this.reading = false;
    }
  }

  /**
   * Ends the round in progress at once with no records; its fetches' answers, when they come, are dropped, so every
   * position stays where it was. Their requests are still out on the lane's connections: close the lane to drop them
   * there too, or the next round's fetches queue behind them.
   */
  interrupt(): void {
    if (!this.reading) return;
    this.interrupted = true;
    this.cutRound?.();
  }

  /** Stops the reader: a read in progress returns what it has, later reads return nothing. */
  close(): void {
    this.closed = true;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<FetchedRecord[]> {
    while (!this.closed && !this.cluster.closed) {
      const records = await this.read();
      if (records.length > 0) yield records;
    }
  }

  private async round(limits: ResolvedFetchLimits): Promise<FetchedRecord[]> {
    let failure: KafkaClientError | null = null;
    try {
      await this.resolveStarts();
    } catch (error) {
      if (!(error instanceof KafkaClientError) || !isRetriable(error)) throw error;
      failure = error;
    }
    const byConnection = new Map<BrokerConnection, PartitionPosition[]>();
    const fetchedAt = new Map<string, number>();
    if (failure === null) {
      for (const entry of this.assigned.values()) {
        if (entry.position === null) continue;
        try {
          const connection = await this.cluster.leaderConnection(entry.topic, entry.partition, this.lane);
          const group = byConnection.get(connection) ?? [];
          group.push({ topic: entry.topic, partition: entry.partition, offset: entry.position });
          fetchedAt.set(partitionKey(entry.topic, entry.partition), entry.position);
          byConnection.set(connection, group);
        } catch (error) {
          if (!(error instanceof KafkaClientError) || !isRetriable(error)) throw error;
          failure = error;
          this.forgetOn(entry.topic, error);
        }
      }
    }
    if (this.interrupted) return [];
    const fetching = Promise.all(
      [...byConnection].map(async ([connection, positions]) => {
        try {
          return await fetchFrom(connection, positions, limits, this.cluster.options.requestTimeoutMs);
        } catch (error) {
          if (!(error instanceof KafkaClientError) || !isRetriable(error)) throw error;
          return new Map<string, ItemOutcome<FetchedPartition>>(
            positions.map((position) => [partitionKey(position.topic, position.partition), { error }]),
          );
        }
      }),
    );
    // An interrupted round's fetches fail or answer later, unheard.
    fetching.catch(() => undefined);
    const cut = new Promise<null>((resolve) => (this.cutRound = () => resolve(null)));
    const answers = await Promise.race([fetching, cut]).finally(() => (this.cutRound = null));
    if (answers === null) return [];
    const records: FetchedRecord[] = [];
    let progressed = false;
    for (const outcomes of answers) {
      for (const [key, outcome] of outcomes) {
        const entry = this.assigned.get(key);
        // Unassigned, or moved by a seek, while the fetch was out: the answer is for a position no longer wanted.
        if (entry === undefined || entry.position !== fetchedAt.get(key)) continue;
        if ("result" in outcome) {
          progressed = true;
          if (this.closed) continue;
          entry.position = outcome.result.nextOffset;
          entry.highWatermark = outcome.result.highWatermark;
          for (const record of outcome.result.records) records.push(record);
          continue;
        }
        failure = this.handleError(entry, outcome.error) ?? failure;
      }
    }
    if (failure !== null && !progressed) {
      this.failedRounds++;
      if (this.failedRounds > this.cluster.options.retriesMax) throw failure;
      await this.cluster.sleep(this.cluster.backoffMs(this.failedRounds - 1));
    } else {
      this.failedRounds = 0;
    }
    return records;
  }

  /** Applies a partition's error; returns it when it is retriable (to count the round as failed), else throws. */
  private handleError(entry: Assigned, error: KafkaClientError): KafkaClientError | null {
    if (error instanceof KafkaBrokerError && error.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE) {
      if (this.outOfRange === "error") throw error;
      this.cluster.options.logger.warn(
        { topic: entry.topic, partition: entry.partition, position: entry.position, restartAt: this.outOfRange },
        `offset ${entry.position} of ${entry.topic}-${entry.partition} is no longer in the log; reading on from the ${this.outOfRange} offset`,
      );
      entry.from = this.outOfRange;
      entry.position = null;
      return null;
    }
    if (!isRetriable(error)) throw error;
    this.forgetOn(entry.topic, error);
    return error;
  }

  private forgetOn(topic: string, error: KafkaClientError): void {
    if (isStaleLeaderError(error)) this.cluster.metadata.forget(topic);
  }

  /** Looks up the offsets of partitions that start at earliest, latest or a time. */
  private async resolveStarts(): Promise<void> {
    const pending = [...this.assigned.values()].filter((entry) => entry.position === null);
    if (pending.length === 0) return;
    const queries = pending.map((entry) => ({
      topic: entry.topic,
      partition: entry.partition,
      spec: entry.from as OffsetSpec,
    }));
    const answers = await listOffsets(this.cluster, queries, { isolationLevel: this.limits.isolationLevel });
    const latest = answers.some((answer) => answer.offset < 0)
      ? await listOffsets(
          this.cluster,
          queries.map((query) => ({ ...query, spec: "latest" as const })),
          { isolationLevel: this.limits.isolationLevel },
        )
      : answers;
    pending.forEach((entry, index) => {
      // A time after the last record's has no offset: the reader waits at the end for what comes next.
      const offset = answers[index]!.offset >= 0 ? answers[index]!.offset : latest[index]!.offset;
      if (entry.position === null && this.assigned.get(partitionKey(entry.topic, entry.partition)) === entry) {
        entry.position = offset;
      }
    });
  }
}
