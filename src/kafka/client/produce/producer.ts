// The batching, idempotent producer: it sends, retries and numbers the batches its accumulator (accumulator.ts) takes
// from each partition's queue, a few out at a time per partition (one without idempotence), so that a send does not
// wait for the previous batch's fsync before it is even written, and a lone record goes out at once. The batches
// taken at the same moment go to each leader in one Produce request, so one send's records for several partitions of
// a broker are written or refused together. With idempotence (the default) the producer gets a producer id from the
// broker (InitProducerId) and numbers each partition's records; a batch whose answer was lost is sent again with the
// same numbers and the broker drops the copy, so retries neither duplicate nor reorder: a batch that reached the
// broker before an earlier one was written is refused as out of order and sent again once the earlier one is in.
// When a batch fails for good, the producer takes a new producer id for what follows, because the broker may or may
// not have written the failed batch and the numbering after it is no longer known.

import { performance } from "node:perf_hooks";

import type { CompressionCodec } from "../../protocol/compression/index.js";
import { buildRecordBatch } from "../../protocol/record-batch.js";
import { ErrorCode } from "../../protocol/error-codes.js";
import { Api } from "../apis/definitions.js";
import type { KafkaCluster } from "../cluster/cluster.js";
import type { TopicMetadata } from "../cluster/metadata.js";
import type { BrokerConnection } from "../network/connection.js";
import { partitionKey } from "../cluster/routing.js";
import {
  KafkaBrokerError,
  KafkaClientClosedError,
  KafkaClientError,
  KafkaClientErrorCode,
  KafkaConfigError,
  KafkaPartitionUnknownError,
  checkErrorCode,
} from "../errors.js";
import { integerOption, resolveInteger } from "../../../platform/options.js";
import { RecordAccumulator, type Batch } from "./accumulator.js";
import { partitionForKey } from "./partitioner.js";
import {
  checkAcks,
  compressionCodec,
  produceBatches,
  recordBytes,
  toRecordInputs,
  type Acks,
  type CompressionName,
  type ProduceRecord,
} from "./produce.js";

/** The most records one batch (one partition's part of a produce request) carries. */
export const PRODUCER_BATCH_RECORDS_MAX = 10_000;
/** The most record bytes one batch carries; brokers refuse batches above message.max.bytes (1 MiB by default). */
export const PRODUCER_BATCH_BYTES_MAX = 1_000_000;
/**
 * Batches of one partition out at once with idempotence; the broker remembers the last five batches of a producer,
 * so a resent one is still recognised as a copy (Kafka's max.in.flight.requests.per.connection limit, 5).
 */
export const PRODUCER_PARTITION_BATCHES_IN_FLIGHT_MAX = 5;
/** The most records waiting in a producer's queues; a send beyond it is refused rather than buffered. */
export const PRODUCER_QUEUED_RECORDS_MAX = 1_000_000;
const INT32_MAX = 2 ** 31 - 1;

export interface ProducerOptions {
  /** Number records so that the broker drops resent copies; needs acks -1. Default true. */
  readonly idempotent?: boolean;
  /** Default -1. */
  readonly acks?: Acks;
  readonly compression?: CompressionName;
  readonly batchRecordsMax?: number;
  readonly batchBytesMax?: number;
  readonly queuedRecordsMax?: number;
  /** How long one produce request may take, broker's wait for acknowledgement included; default requestTimeoutMs. */
  readonly timeoutMs?: number;
  /** Ask the broker to create a missing topic with its defaults; default false, so a misspelt name fails. */
  readonly allowAutoTopicCreation?: boolean;
}

export interface OutgoingRecord extends ProduceRecord {
  readonly topic: string;
  /** Absent: the key's partition (Kafka's murmur2), or for a null key one partition per send, in turn. */
  readonly partition?: number;
}

/** The broker's answer for the records of one send that went to one partition. */
export interface PartitionAck {
  readonly topic: string;
  readonly partition: number;
  /** The offset of the first of these records; -1 with acks 0. */
  readonly baseOffset: number;
}

interface PartitionGroup {
  readonly topic: string;
  readonly partition: number;
  readonly records: OutgoingRecord[];
}

interface Identity {
  readonly producerId: number;
  readonly producerEpoch: number;
  /** The next sequence number of each partition ("topic:partition"). */
  readonly sequences: Map<string, number>;
}

function bounded(field: string, value: number | undefined, fallback: number, max: number): number {
  return resolveInteger(
    field,
    value,
    integerOption(fallback, 1, max),
    (name, message) => new KafkaConfigError(name, message),
  );
}

export class Producer {
  private readonly idempotent: boolean;
  private readonly acks: Acks;
  private readonly codec: CompressionCodec;
  private readonly queuedRecordsMax: number;
  private readonly timeoutMs: number;
  private readonly allowAutoTopicCreation: boolean;
  private readonly accumulator: RecordAccumulator;
  private identity: Promise<Identity> | null = null;
  /** The identity once InitProducerId answered; a failed batch compares against it. */
  private resolvedIdentity: Identity | null = null;
  private queuedRecords = 0;
  private roundRobin = 0;
  private closed = false;

  constructor(
    private readonly cluster: KafkaCluster,
    options: ProducerOptions = {},
  ) {
    this.idempotent = options.idempotent ?? true;
    this.acks = checkAcks(options.acks);
    if (this.idempotent && this.acks !== -1) throw new KafkaConfigError("acks", "an idempotent producer needs acks -1");
    this.codec = compressionCodec(options.compression);
    this.queuedRecordsMax = bounded(
      "queuedRecordsMax",
      options.queuedRecordsMax,
      PRODUCER_QUEUED_RECORDS_MAX,
      100_000_000,
    );
    this.allowAutoTopicCreation = options.allowAutoTopicCreation ?? false;
    this.accumulator = new RecordAccumulator(
      {
        batchRecordsMax: bounded("batchRecordsMax", options.batchRecordsMax, PRODUCER_BATCH_RECORDS_MAX, 1_000_000),
        batchBytesMax: bounded("batchBytesMax", options.batchBytesMax, PRODUCER_BATCH_BYTES_MAX, 2 ** 30),
        // Without sequence numbers a retried batch could land behind a later one, so one batch at a time keeps order.
        batchesInFlightMax: this.idempotent ? PRODUCER_PARTITION_BATCHES_IN_FLIGHT_MAX : 1,
      },
      (batches) => void this.flush(batches),
    );
    this.timeoutMs = bounded("timeoutMs", options.timeoutMs, cluster.options.requestTimeoutMs, 24 * 60 * 60 * 1000);
  }

  /** Gets the producer id now rather than at the first send. */
  async connect(): Promise<void> {
    if (this.idempotent) await this.currentIdentity();
    else await this.cluster.anyConnection("produce");
  }

  /**
   * Sends records; those for the same partition are written in the order given, after those of earlier sends.
   * Resolves with one acknowledgement per partition once every record is acknowledged; rejects with the first
   * failure (records for other partitions may have been written).
   */
  async send(records: readonly OutgoingRecord[]): Promise<PartitionAck[]> {
    if (this.closed || this.cluster.closed) throw new KafkaClientClosedError("the producer");
    if (records.length === 0) return [];
    if (this.queuedRecords + records.length > this.queuedRecordsMax) {
      throw new KafkaClientError(
        KafkaClientErrorCode.REQUEST_QUEUE_FULL,
        `the producer already holds ${this.queuedRecords} records waiting to be sent (at most ${this.queuedRecordsMax}); wait for earlier sends before sending more`,
        { retriable: true },
      );
    }
    const partitionCounts = new Map<string, number>();
    for (const record of records) {
      if (typeof record.topic !== "string" || record.topic === "") {
        throw new KafkaConfigError("topic", "must be a topic name");
      }
      if (!partitionCounts.has(record.topic)) {
        partitionCounts.set(record.topic, (await this.topicMetadata(record.topic)).partitions.length);
      }
    }
    const byPartition = this.groupByPartition(records, partitionCounts);
    return Promise.all(
      [...byPartition.values()].map(async ({ topic, partition, records: partitionRecords }) => {
        const inputs = toRecordInputs(partitionRecords);
        const bytes = partitionRecords.reduce((sum, record) => sum + recordBytes(record), 0);
        this.queuedRecords += inputs.length;
        try {
          const baseOffset = await new Promise<number>((resolve, reject) => {
            this.accumulator.add(topic, partition, { records: inputs, bytes, resolve, reject });
          });
          return { topic, partition, baseOffset };
        } finally {
          this.queuedRecords -= inputs.length;
        }
      }),
    );
  }

  /** Refuses further sends; those already queued still go out. */
  close(): void {
    this.closed = true;
  }

  /** The records of one send by partition, in order; runs of records for the same partition skip the lookup. */
  private groupByPartition(
    records: readonly OutgoingRecord[],
    partitionCounts: ReadonlyMap<string, number>,
  ): Map<string, PartitionGroup> {
    const byPartition = new Map<string, PartitionGroup>();
    const sticky = new Map<string, number>();
    let last: PartitionGroup | null = null;
    for (const record of records) {
      const partition = this.partitionFor(record, partitionCounts.get(record.topic)!, sticky);
      if (last === null || last.partition !== partition || last.topic !== record.topic) {
        const key = partitionKey(record.topic, partition);
        last = byPartition.get(key) ?? null;
        if (last === null) {
          last = { topic: record.topic, partition, records: [] };
          byPartition.set(key, last);
        }
      }
      last.records.push(record);
    }
    return byPartition;
  }

  private async topicMetadata(topic: string): Promise<TopicMetadata> {
    if (this.allowAutoTopicCreation && this.cluster.metadata.topic(topic) === undefined) {
      await this.cluster.refreshMetadata([topic], { allowAutoTopicCreation: true });
    }
    return this.cluster.topic(topic);
  }

  private partitionFor(record: OutgoingRecord, count: number, sticky: Map<string, number>): number {
    if (record.partition !== undefined) {
      if (!Number.isInteger(record.partition) || record.partition < 0 || record.partition >= count) {
        throw new KafkaPartitionUnknownError(record.topic, record.partition, count);
      }
      return record.partition;
    }
    if (record.key !== null && record.key !== undefined) {
      return partitionForKey(typeof record.key === "string" ? Buffer.from(record.key) : record.key, count);
    }
    let partition = sticky.get(record.topic);
    if (partition === undefined) {
      partition = this.roundRobin++ % count;
      if (this.roundRobin >= INT32_MAX) this.roundRobin = 0;
      sticky.set(record.topic, partition);
    }
    return partition;
  }

  /**
   * The earlier batches of its partition still being sent when the broker refused the batch as out of order: it was
   * refused only because they are not written yet, and goes again once they are answered. Empty for any other error.
   */
  private unwrittenBefore(batch: Batch, error: unknown): Batch[] {
    if (!(error instanceof KafkaBrokerError) || error.errorCode !== ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER) return [];
    const { outstanding } = batch.queue;
    return outstanding.slice(0, Math.max(0, outstanding.indexOf(batch)));
  }

  private succeed(batch: Batch, baseOffset: number): void {
    let offset = baseOffset;
    for (const entry of batch.taken) {
      entry.resolve(baseOffset < 0 ? -1 : offset);
      offset += entry.records.length;
    }
    this.accumulator.release(batch);
  }

  private fail(batch: Batch, identity: Identity | null, error: unknown): void {
    if (identity !== null) this.forgetIdentity(identity);
    for (const entry of batch.taken) entry.reject(error);
    this.accumulator.release(batch);
  }

  /**
   * Sends the batches, those of partitions with the same leader in one request, and sends again those that failed
   * in a way worth retrying (with the same sequence numbers), until each is answered or out of retries.
   */
  private async flush(batches: readonly Batch[]): Promise<void> {
    let identity: Identity | null = null;
    try {
      identity = this.idempotent ? await this.currentIdentity() : null;
    } catch (error) {
      for (const batch of batches) this.fail(batch, null, error);
      return;
    }
    for (const batch of batches) {
      const { topic, partition } = batch.queue;
      if (identity !== null) {
        // Numbered when built, so that the batches out at once for a partition carry consecutive sequences.
        const key = partitionKey(topic, partition);
        batch.baseSequence = identity.sequences.get(key) ?? 0;
        const next = batch.baseSequence + batch.records.length;
        identity.sequences.set(key, next > INT32_MAX ? next - INT32_MAX - 1 : next);
      }
      batch.encoded = buildRecordBatch({
        records: batch.records,
        compression: this.codec,
        producerId: identity?.producerId ?? -1,
        producerEpoch: identity?.producerEpoch ?? -1,
        baseSequence: batch.baseSequence,
      });
    }
    let remaining: Batch[] = [...batches];
    for (let attempt = 0; remaining.length > 0;) {
      const failures: Array<{ batch: Batch; error: unknown }> = [];
      const byConnection = new Map<BrokerConnection, Batch[]>();
      for (const batch of remaining) {
        try {
          const connection = await this.cluster.leaderConnection(batch.queue.topic, batch.queue.partition, "produce");
          byConnection.set(connection, [...(byConnection.get(connection) ?? []), batch]);
        } catch (error) {
          failures.push({ batch, error });
        }
      }
      await Promise.all(
        [...byConnection].map(async ([connection, group]) => {
          try {
            const sentAtMs = performance.now();
            const answers = await produceBatches(
              connection,
              group.map(({ queue, encoded }) => ({
                topic: queue.topic,
                partition: queue.partition,
                records: encoded!,
              })),
              { acks: this.acks, timeoutMs: this.timeoutMs },
            );
            this.accumulator.answered(performance.now() - sentAtMs);
            group.forEach((batch, index) => {
              const answer = answers[index]!;
              if (answer instanceof Error) failures.push({ batch, error: answer });
              else this.succeed(batch, answer);
            });
          } catch (error) {
            for (const batch of group) failures.push({ batch, error });
          }
        }),
      );
      remaining = [];
      const waitingFor: Batch[] = [];
      let retrying = false;
      for (const { batch, error } of failures) {
        const earlier = this.cluster.closed ? [] : this.unwrittenBefore(batch, error);
        if (earlier.length > 0) {
          // Not a failure of this batch: it goes again, without using up an attempt, once those are in (or out).
          waitingFor.push(...earlier);
          batch.queue.resending.add(batch);
          remaining.push(batch);
          continue;
        }
        // A resent batch carries the same sequence numbers, so the broker keeps one copy; without a producer id a
        // batch whose request was sent may have been written and is not sent again.
        if (!this.cluster.closed && this.cluster.mayRetry(error, attempt, identity !== null)) {
          this.cluster.forgetLeadersOn([batch.queue.topic])(error as KafkaClientError);
          batch.queue.resending.add(batch);
          remaining.push(batch);
          retrying = true;
        } else {
          this.fail(batch, identity, this.cluster.closed ? new KafkaClientClosedError() : error);
        }
      }
      if (retrying) {
        this.cluster.options.logger.debug(
          { attempt: attempt + 1, err: failures[0]?.error },
          "producing again after a retriable error",
        );
        await this.cluster.sleep(this.cluster.backoffMs(attempt));
        attempt++;
      }
      await Promise.all(waitingFor.map((batch) => batch.settled));
    }
  }

  private currentIdentity(): Promise<Identity> {
    if (this.identity !== null) return this.identity;
    const pending = this.cluster.retry(async () => {
      const connection = await this.cluster.anyConnection("produce");
      const response = await connection.request(Api.InitProducerId, {
        transactionalId: null,
        transactionTimeoutMs: INT32_MAX,
        producerId: -1,
        producerEpoch: -1,
      });
      checkErrorCode(response.errorCode, "getting a producer id (InitProducerId)");
      return { producerId: response.producerId ?? -1, producerEpoch: response.producerEpoch, sequences: new Map() };
    });
    this.identity = pending;
    pending.then(
      (identity) => {
        if (this.identity === pending) this.resolvedIdentity = identity;
      },
      () => {
        if (this.identity === pending) this.identity = null;
      },
    );
    return pending;
  }

  /** After a batch failed for good: the next batch of any partition starts under a new producer id. */
  private forgetIdentity(failed: Identity): void {
    if (this.resolvedIdentity !== failed) return;
    this.resolvedIdentity = null;
    this.identity = null;
  }
}
