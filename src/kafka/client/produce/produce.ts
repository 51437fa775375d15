// A simple produce: one batch of records to one partition, acknowledged as asked (acks 0, 1 or -1). An answer that
// the broker did not write (a moved leader, a partition without a leader) is sent again to the new leader; a
// connection lost after sending is not, since the broker may have written the batch and a resend would duplicate it
// (the idempotent producer handles that case with sequence numbers).

import {
  CompressionCodec,
  compressionAvailable,
  type CompressionCodec as Codec,
} from "../../protocol/compression/index.js";
import { buildRecordBatch, type RecordHeaderInput, type RecordInput } from "../../protocol/record-batch.js";
import { Api } from "../apis/definitions.js";
import type { KafkaCluster } from "../cluster/cluster.js";
import type { BrokerConnection } from "../network/connection.js";
import { KafkaBrokerError, KafkaConfigError, KafkaProtocolViolationError } from "../errors.js";

export type Acks = -1 | 0 | 1;

export type CompressionName = "none" | "gzip" | "snappy" | "lz4" | "zstd";

export const COMPRESSION_CODECS: Readonly<Record<CompressionName, Codec>> = {
  none: CompressionCodec.None,
  gzip: CompressionCodec.Gzip,
  snappy: CompressionCodec.Snappy,
  lz4: CompressionCodec.Lz4,
  zstd: CompressionCodec.Zstd,
};

export interface ProduceRecord {
  readonly key?: Buffer | string | null;
  readonly value: Buffer | string | null;
  /** In order; a key may repeat. */
  readonly headers?: ReadonlyArray<{ readonly key: string; readonly value: Buffer | string | null }>;
  /** Milliseconds since the epoch; the time of the call when absent. */
  readonly timestamp?: number;
}

export interface ProduceRequest {
  readonly topic: string;
  readonly partition: number;
  readonly records: readonly ProduceRecord[];
  /** -1 (default): the broker answers once the batch is durable; 1: once written; 0: no answer at all. */
  readonly acks?: Acks;
  readonly compression?: CompressionName;
  /** How long the broker may wait for acknowledgement (acks -1). */
  readonly timeoutMs?: number;
}

export interface ProduceResult {
  readonly topic: string;
  readonly partition: number;
  /** The first record's offset; -1 with acks 0. */
  readonly baseOffset: number;
  /** The broker's append time for LogAppendTime topics, else -1. */
  readonly logAppendTime: number;
  readonly logStartOffset: number;
}

/** The most records one simple produce call may carry. */
export const PRODUCE_RECORDS_MAX = 100_000;

export function compressionCodec(name: CompressionName | undefined, field = "compression"): Codec {
  const codec = COMPRESSION_CODECS[name ?? "none"];
  if (codec === undefined) {
    throw new KafkaConfigError(field, `must be one of ${Object.keys(COMPRESSION_CODECS).join(", ")}`);
  }
  if (!compressionAvailable(codec)) {
    throw new KafkaConfigError(field, `${name} is not available on Node ${process.versions.node} (zstd needs 22.15+)`);
  }
  return codec;
}

export function checkAcks(acks: number | undefined, field = "acks"): Acks {
  const value = acks ?? -1;
  if (value !== -1 && value !== 0 && value !== 1) throw new KafkaConfigError(field, "must be -1, 0 or 1");
  return value;
}

const NO_HEADERS: readonly RecordHeaderInput[] = [];

/** Copies what the batch is built from, so that a caller changing its records after send() changes nothing. */
export function toRecordInputs(records: readonly ProduceRecord[]): RecordInput[] {
  const inputs = new Array<RecordInput>(records.length);
  for (let index = 0; index < records.length; index++) {
    const record = records[index]!;
    const headers =
      record.headers === undefined || record.headers.length === 0
        ? NO_HEADERS
        : record.headers.map((header) => ({ key: header.key, value: header.value }));
    inputs[index] =
      record.timestamp === undefined
        ? { key: record.key ?? null, value: record.value, headers }
        : { key: record.key ?? null, value: record.value, headers, timestamp: record.timestamp };
  }
  return inputs;
}

/** The bytes a record counts for against a batch's byte limit: key, value and headers, plus a little framing. */
export function recordBytes(record: ProduceRecord): number {
  let bytes = 16;
  if (record.key !== null && record.key !== undefined) bytes += Buffer.byteLength(record.key);
  if (record.value !== null) bytes += Buffer.byteLength(record.value);
  for (const header of record.headers ?? []) {
    bytes += Buffer.byteLength(header.key) + (header.value === null ? 0 : Buffer.byteLength(header.value));
  }
  return bytes;
}

/** One partition's batch in a Produce request. */
export interface PartitionBatch {
  readonly topic: string;
  readonly partition: number;
  readonly records: Buffer;
}

/**
 * One Produce request with one batch per partition (the protocol allows no more); per batch its base offset (-1 with
 * acks 0) or its partition's error. A failure of the request as a whole is thrown.
 */
export async function produceBatches(
  connection: BrokerConnection,
  batches: readonly PartitionBatch[],
  options: { readonly acks: Acks; readonly timeoutMs: number },
): Promise<Array<number | Error>> {
  const byTopic = new Map<string, Array<{ index: number; records: Buffer }>>();
  for (const batch of batches) {
    const list = byTopic.get(batch.topic) ?? [];
    list.push({ index: batch.partition, records: batch.records });
    byTopic.set(batch.topic, list);
  }
  const response = await connection.request(
    Api.Produce,
    {
      transactionalId: null,
      acks: options.acks,
      timeoutMs: options.timeoutMs,
      topicData: [...byTopic].map(([name, partitionData]) => ({ name, partitionData })),
    },
    // As Kafka's producers do, the client waits as long as it lets the broker wait (request.timeout.ms), so that
    // a broker that never answers costs one timeout per attempt, not two.
    { expectResponse: options.acks !== 0, timeoutMs: options.timeoutMs },
  );
  if (options.acks === 0) return batches.map(() => -1);
  return batches.map(({ topic, partition }) => {
    const answer = response.responses
      .find((entry) => entry.name === topic)
      ?.partitionResponses.find((entry) => entry.index === partition);
    if (answer === undefined) {
      return new KafkaProtocolViolationError(`its Produce answer leaves out ${topic}-${partition}`, connection.address);
    }
    if (answer.errorCode !== 0) {
      const detail = answer.errorMessage ?? answer.recordErrors?.[0]?.batchIndexErrorMessage ?? null;
      return new KafkaBrokerError(answer.errorCode, `producing to ${topic}-${partition}`, detail);
    }
    return answer.baseOffset;
  });
}

export async function produce(cluster: KafkaCluster, request: ProduceRequest): Promise<ProduceResult> {
  const acks = checkAcks(request.acks);
  const codec = compressionCodec(request.compression);
  if (typeof request.topic !== "string" || request.topic === "")
    throw new KafkaConfigError("topic", "must be a topic name");
  if (!Number.isInteger(request.partition) || request.partition < 0) {
    throw new KafkaConfigError("partition", "must be a partition number of at least 0");
  }
  if (!Array.isArray(request.records) || request.records.length === 0 || request.records.length > PRODUCE_RECORDS_MAX) {
    throw new KafkaConfigError("records", `give 1 to ${PRODUCE_RECORDS_MAX} records`);
  }
  const batch = buildRecordBatch({ records: toRecordInputs(request.records), compression: codec });
  const timeoutMs = request.timeoutMs ?? cluster.options.requestTimeoutMs;
  const { topic, partition } = request;
  return cluster.retry(
    async () => {
      const connection = await cluster.leaderConnection(topic, partition, "produce");
      const response = await connection.request(
        Api.Produce,
        {
          transactionalId: null,
          acks,
          timeoutMs,
          topicData: [{ name: topic, partitionData: [{ index: partition, records: batch }] }],
        },
        { expectResponse: acks !== 0, timeoutMs: timeoutMs + cluster.options.requestTimeoutMs },
      );
      if (acks === 0) return { topic, partition, baseOffset: -1, logAppendTime: -1, logStartOffset: -1 };
      const answer = response.responses
        .find((entry) => entry.name === topic)
        ?.partitionResponses.find((entry) => entry.index === partition);
      if (answer === undefined) {
        throw new KafkaProtocolViolationError(
          `its Produce answer leaves out ${topic}-${partition}`,
          connection.address,
        );
      }
      if (answer.errorCode !== 0) {
        const detail = answer.errorMessage ?? answer.recordErrors?.[0]?.batchIndexErrorMessage ?? null;
        throw new KafkaBrokerError(answer.errorCode, `producing to ${topic}-${partition}`, detail);
      }
      return {
        topic,
        partition,
        baseOffset: answer.baseOffset,
        logAppendTime: answer.logAppendTimeMs ?? -1,
        logStartOffset: answer.logStartOffset ?? -1,
      };
    },
    { resendable: false, beforeRetry: cluster.forgetLeadersOn([topic]) },
  );
}
