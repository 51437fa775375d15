// A consumer group member that reads its assigned partitions and hands them over a partition's batch at a time. Each
// generation (the partitions one join gave it) reads through one PartitionReader from the group's committed offsets,
// so every assigned partition on a broker shares one long-poll Fetch, on lanes of this consumer's own. Rounds
// alternate: one fetch, then that fetch's batches (up to `concurrency` partitions at once); records a batch did not
// mark done are fetched again. Nothing is committed unless a batch commits it; commits go out in the background
// (commit-queue.ts), so the next fetch does not wait for the broker to store an offset. A rejoin waits for the batches
// in progress and their commits (which may still succeed under their generation) but not for a fetch in flight; stop()
// waits for the batches in progress and their commits, then leaves the group, so its partitions move on at once.

import type { TopicPartition } from "../admin/offsets.js";
import type { KafkaCluster, Lane } from "../cluster/cluster.js";
import { partitionKey } from "../cluster/routing.js";
import { ErrorCode } from "../../protocol/error-codes.js";
import {
  isRetriable,
  KafkaBrokerError,
  KafkaClientClosedError,
  KafkaClientError,
  KafkaConfigError,
} from "../errors.js";
import { PartitionReader, type StartPosition } from "../fetch/partition-reader.js";
import type { FetchedRecord } from "../fetch/records.js";
import { commitMemberOffsets, committedOffsets } from "./commit.js";
import { CommitQueue } from "./commit-queue.js";
import { GroupMember } from "./member.js";
import { resolveGroupOptions, type GroupConsumerOptions, type ResolvedGroupOptions } from "./options.js";
import { Signal } from "./signal.js";

export interface GroupBatch {
  readonly topic: string;
  readonly partition: number;
  /** In offset order; at least one. */
  readonly records: readonly FetchedRecord[];
  /** False once the consumer is stopping or its generation is lost: stop working on the batch. */
  active(): boolean;
  /** The record is done: the next fetch of the partition starts after it. Unmarked records are fetched again. */
  markDone(offset: number): void;
  /**
   * Queues a commit of nextOffset (the offset after the last record done) under the batch's generation; resolves once
   * it, or a newer offset of the partition queued behind it, is committed. Fetching goes on without waiting for it;
   * a rejoin and stop() wait for it.
   */
  commit(nextOffset: number): Promise<void>;
  /** Rejects once the batch's generation is over; heartbeats themselves go out in the background. */
  heartbeat(): Promise<void>;
}

export interface GroupAssignment {
  readonly memberId: string;
  readonly generationId: number;
  readonly partitions: readonly TopicPartition[];
}

export interface GroupConsumerRun {
  eachBatch(batch: GroupBatch): Promise<void>;
  /** After each join, with the partitions this member now holds. */
  onAssigned?(assignment: GroupAssignment): void;
  /** A failure: `willRetry` false when the consumer has stopped because of it. */
  onError?(error: Error, willRetry: boolean): void;
}

/**
 * How much sooner than its wait an empty fetch answer must come for the member to heartbeat at once. A broker answers
 * at its deadline, never before, so anything sooner was ended early; the margin only absorbs timer rounding.
 */
export const FETCH_EARLY_MARGIN_MS = 50;

let consumerCount = 0;

export class GroupConsumer {
  readonly options: ResolvedGroupOptions;
  private readonly member: GroupMember;
  private readonly fetchLane: Lane;
  private readonly groupLane: Lane;
  private readonly changed = new Signal();
  /** Paused partitions, with where each resumes (null while it is not part of this member's assignment). */
  private readonly paused = new Map<string, StartPosition | null>();
  private readonly inBatch = new Set<string>();
  private readonly commits = new CommitQueue();
  private starts = new Map<string, StartPosition>();
  private assigned: TopicPartition[] = [];
  private reader: PartitionReader | null = null;
  /** The read in flight while it waits longer than the base fetch wait (an idle member's), else null. */
  private longPoll: Promise<FetchedRecord[]> | null = null;
  /** Whether cutLongPoll() ended the last long wait. */
  private longPollCut = false;
  private run: GroupConsumerRun | null = null;
  private processing: Promise<void> = Promise.resolve();
  private stopping: Promise<void> | null = null;
  private fatal: Error | null = null;

  constructor(
    private readonly cluster: KafkaCluster,
    options: GroupConsumerOptions,
  ) {
    this.options = resolveGroupOptions(options);
    consumerCount += 1;
    this.fetchLane = `fetch:${consumerCount}`;
    this.groupLane = `group:${consumerCount}`;
    this.member = new GroupMember(cluster, this.options, this.groupLane, {
      rejoinNeeded: () => this.changed.notify(),
      failed: (error, willRetry) => {
        this.run?.onError?.(error, willRetry);
        if (!willRetry) {
          this.fatal = error;
          this.changed.notify();
        }
      },
    });
  }

  get memberId(): string {
    return this.member.memberId;
  }

  get generationId(): number {
    return this.member.generationId;
  }

  /** The partitions of the current generation. */
  assignment(): TopicPartition[] {
    return [...this.assigned];
  }

  /** Joins the group and starts reading; resolves after the first join, rejects when that join cannot succeed. */
  start(run: GroupConsumerRun): Promise<void> {
    if (this.run !== null) throw new KafkaConfigError("start", "this group consumer was started already");
    this.run = run;
    return new Promise((resolve, reject) => {
      void this.loop(resolve, reject);
    });
  }

  /** Stops fetching a partition until resume(); a batch of it in progress is not affected. */
  pause(topic: string, partition: number): void {
    const key = partitionKey(topic, partition);
    if (this.paused.has(key)) return;
    this.paused.set(key, null);
    if (!this.inBatch.has(key)) this.detach(topic, partition);
  }

  resume(topic: string, partition: number): void {
    const key = partitionKey(topic, partition);
    if (!this.paused.has(key)) return;
    const from = this.paused.get(key) ?? null;
    this.paused.delete(key);
    if (from !== null && !this.inBatch.has(key) && this.reader !== null) {
      this.reader.assign([{ topic, partition, from }]);
      this.cutLongPoll();
      this.changed.notify();
    }
  }

  /** Waits for the batches in progress, then leaves the group; reading stops at once. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.changed.notify();
      await this.processing;
      await this.commits.flush();
      try {
        await this.member.leave();
      } finally {
        this.reader?.close();
        // The consumer's own connections go with it; the client's other work keeps its connections.
        await Promise.all([this.cluster.closeLane(this.fetchLane), this.cluster.closeLane(this.groupLane)]);
      }
    })();
    return this.stopping;
  }

  private async loop(joined: () => void, failed: (error: Error) => void): Promise<void> {
    let first = true;
    try {
      while (this.stopping === null && this.fatal === null) {
        let partitions: TopicPartition[];
        try {
          partitions = await this.member.join();
        } catch (error) {
          if (this.stopping !== null || this.cluster.closed) break;
          this.fatal = error as Error;
          this.run!.onError?.(error as Error, false);
          break;
        }
        if (this.stopping !== null) {
          // Joined while a stop began: leave again, the stop's leave may have gone out before this join.
          await this.member.leave().catch(() => undefined);
          break;
        }
        if (!(await this.beginGeneration(partitions))) continue;
        this.run!.onAssigned?.({ memberId: this.memberId, generationId: this.generationId, partitions });
        if (first) {
          first = false;
          joined();
        }
        await this.consumeGeneration();
        // What was handled is committed before the partitions are given up.
        await this.commits.flush();
      }
    } catch (error) {
      if (!(this.cluster.closed || this.stopping !== null)) {
        this.fatal = error as Error;
        this.run!.onError?.(error as Error, false);
      }
    } finally {
      this.member.stopHeartbeats();
      this.reader?.close();
      if (first) failed(this.fatal ?? new KafkaClientClosedError("the group consumer"));
    }
  }

  /** Looks up where each partition starts and sets up this generation's reader; false when a rejoin came first. */
  private async beginGeneration(partitions: TopicPartition[]): Promise<boolean> {
    let committed: Map<string, number>;
    for (let attempt = 0; ; attempt++) {
      try {
        committed = await committedOffsets(this.cluster, this.options.groupId, partitions);
        break;
      } catch (error) {
        if (!(error instanceof KafkaClientError) || !isRetriable(error)) throw error;
        this.run!.onError?.(error, true);
        await this.wait(this.cluster.backoffMs(Math.min(attempt, 10)));
        if (this.member.rejoinReason !== null || this.stopping !== null) return false;
      }
    }
    this.cutLongPoll();
    this.reader?.close();
    this.assigned = partitions;
    this.starts = new Map();
    const readable: Array<TopicPartition & { from: StartPosition }> = [];
    for (const { topic, partition } of partitions) {
      const key = partitionKey(topic, partition);
      const offset = committed.get(key) ?? -1;
      const from: StartPosition = offset >= 0 ? { offset } : this.options.resetTo;
      this.starts.set(key, from);
      if (this.paused.has(key)) this.paused.set(key, from);
      else readable.push({ topic, partition, from });
    }
    for (const key of this.paused.keys()) if (!this.starts.has(key)) this.paused.set(key, null);
    this.reader = new PartitionReader(this.cluster, {
      ...this.options.fetch,
      lane: this.fetchLane,
      outOfRange: this.options.resetTo,
      partitions: readable,
    });
    return true;
  }

  private generationGoesOn(): boolean {
    return this.stopping === null && this.fatal === null && this.member.rejoinReason === null;
  }

  private async consumeGeneration(): Promise<void> {
    const reader = this.reader!;
    const baseWaitMs = this.options.fetch.maxWaitMs;
    let waitMs = baseWaitMs;
    while (this.generationGoesOn()) {
      if (reader.partitions().length === 0) {
        await this.changed.next();
        continue;
      }
      const sentAtMs = performance.now();
      const reading = reader.read({ maxWaitMs: waitMs });
      // A fetch left behind by a rejoin or a stop is not awaited; its answer is dropped with its reader.
      reading.catch(() => undefined);
      this.longPollCut = false;
      if (waitMs > baseWaitMs) {
        const poll = (this.longPoll = reading);
        const settled = (): void => {
          if (this.longPoll === poll) this.longPoll = null;
        };
        reading.then(settled, settled);
      }
      let records: FetchedRecord[];
      try {
        const first = await Promise.race([reading, this.changed.next().then(() => null)]);
        if (first === null && !this.generationGoesOn()) return;
        records = first ?? (await reading);
      } catch (error) {
        if (!(error instanceof KafkaClientError) || this.cluster.closed || !this.generationGoesOn()) throw error;
        this.run!.onError?.(error, true);
        await this.wait(this.cluster.options.retryBackoffMaxMs);
        continue;
      }
      if (records.length === 0) {
        this.member.setIdle(true);
        // Answered without records before its wait ran out, and not cut short here: the broker may have ended the
        // wait because the group began a rebalance (Sluice's does), which the member hears of from a heartbeat.
        const earlyMs = waitMs - (performance.now() - sentAtMs);
        if (!this.longPollCut && earlyMs > FETCH_EARLY_MARGIN_MS) this.member.heartbeatNow();
        // An idle member waits longer each time; a wait cut short starts over at the base.
        waitMs = this.longPollCut ? baseWaitMs : Math.min(waitMs * 2, this.options.idleMaxWaitMs);
        continue;
      }
      this.member.setIdle(false);
      waitMs = baseWaitMs;
      this.processing = this.handleBatches(reader, records);
      await this.processing;
    }
  }

  private async handleBatches(reader: PartitionReader, records: readonly FetchedRecord[]): Promise<void> {
    const batches = new Map<string, FetchedRecord[]>();
    for (const record of records) {
      const key = partitionKey(record.topic, record.partition);
      const batch = batches.get(key);
      if (batch === undefined) batches.set(key, [record]);
      else batch.push(record);
    }
    const queue = [...batches.values()];
    let failed = false;
    const work = async (): Promise<void> => {
      for (let batch = queue.shift(); batch !== undefined; batch = queue.shift()) {
        if (this.stopping !== null || this.member.generationLost) return;
        failed = !(await this.handleBatch(reader, batch)) || failed;
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.options.concurrency, queue.length) }, work));
    // A handler that threw gets its records again next round, after a pause so that a failing handler does not spin.
    if (failed) await this.wait(this.cluster.options.retryBackoffMaxMs);
  }

  /** Runs one partition's batch; false when its handler threw. */
  private async handleBatch(reader: PartitionReader, records: FetchedRecord[]): Promise<boolean> {
    const { topic, partition } = records[0]!;
    const key = partitionKey(topic, partition);
    const identity = this.member.identity();
    const current = (): boolean =>
      this.member.generationId === identity.generationId && !this.member.generationLost && this.reader === reader;
    let done: number | null = null;
    let ok = true;
    this.inBatch.add(key);
    try {
      await this.run!.eachBatch({
        topic,
        partition,
        records,
        active: () => this.stopping === null && this.fatal === null && current(),
        markDone: (offset) => {
          if (done === null || offset > done) done = offset;
        },
        commit: (nextOffset) =>
          this.commits.commit({ topic, partition, offset: nextOffset }, (entry) =>
            commitMemberOffsets(this.cluster, identity, this.groupLane, [entry]),
          ),
        heartbeat: async () => {
          if (!current()) {
            throw new KafkaBrokerError(
              ErrorCode.ILLEGAL_GENERATION,
              `group "${this.options.groupId}"`,
              `generation ${identity.generationId} is over; the member is rejoining`,
            );
          }
        },
      });
    } catch (error) {
      ok = false;
      this.run!.onError?.(error instanceof Error ? error : new Error(String(error)), true);
    } finally {
      this.inBatch.delete(key);
    }
    if (!current()) return ok;
    const last = records[records.length - 1]!.offset;
    const position = reader.partitions().find((entry) => entry.topic === topic && entry.partition === partition);
    // Where the partition goes on: after the last record done, or (all done) where the fetch left it.
    const next = done === null ? records[0]!.offset : done >= last ? (position?.position ?? last + 1) : done + 1;
    if (this.paused.has(key)) {
      this.paused.set(key, { offset: next });
      reader.unassign([{ topic, partition }]);
    } else if (position !== undefined && position.position !== next) {
      reader.seek(topic, partition, { offset: next });
    }
    return ok;
  }

  /**
   * Ends an idle member's long wait at once (a partition resumed, a new assignment), so that what changed is read now
   * rather than when the wait runs out: the reader drops the fetch's answer and the fetch lane's connection closes,
   * taking the request with it, so the next fetch goes out at once on a new one. A wait no longer than the base one
   * runs out as before.
   */
  private cutLongPoll(): void {
    if (this.longPoll === null) return;
    this.longPoll = null;
    this.longPollCut = true;
    this.reader?.interrupt();
    void this.cluster.closeLane(this.fetchLane);
  }

  /** Takes a paused partition out of the reader, remembering where it resumes. */
  private detach(topic: string, partition: number): void {
    const reader = this.reader;
    const key = partitionKey(topic, partition);
    const state = reader?.partitions().find((entry) => entry.topic === topic && entry.partition === partition);
    if (reader === null || state === undefined) return;
    this.paused.set(
      key,
      state.position === null ? (this.starts.get(key) ?? this.options.resetTo) : { offset: state.position },
    );
    reader.unassign([{ topic, partition }]);
  }

  /** Waits `ms`, or less when something changes (a rejoin, a stop). */
  private async wait(ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([new Promise((resolve) => (timer = setTimeout(resolve, ms))), this.changed.next()]);
    clearTimeout(timer);
  }
}
