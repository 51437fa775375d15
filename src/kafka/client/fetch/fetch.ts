// Fetching records from partitions by manual assignment, without a consumer group: one Fetch request per leader, a
// long-poll bounded by maxWaitMs and minBytes, and byte limits per partition and per response. Full fetches only
// (fetch session 0), which every broker serves.

import { Api } from "../apis/definitions.js";
import { isStaleLeaderError, type KafkaCluster } from "../cluster/cluster.js";
import { partitionKey, resultsOrThrow, sendRouted, type ItemOutcome } from "../cluster/routing.js";
import { KafkaBrokerError, KafkaClientError, KafkaConfigError } from "../errors.js";
import type { BrokerConnection } from "../network/connection.js";
import { byTopic, type IsolationLevel, type TopicPartition } from "../admin/offsets.js";
import { decodePartitionRecords, type FetchedRecord } from "./records.js";
import { integerOption as declaredInteger, resolveInteger } from "../../../platform/options.js";

/** How long the broker may hold a fetch waiting for minBytes (Kafka's fetch.max.wait.ms). */
export const FETCH_MAX_WAIT_MS = 500;
export const FETCH_MIN_BYTES = 1;
/** The most bytes one Fetch response may carry (Kafka's fetch.max.bytes). */
export const FETCH_MAX_BYTES = 50 * 1024 * 1024;
/** The most bytes per partition in one response (Kafka's max.partition.fetch.bytes). */
export const FETCH_PARTITION_MAX_BYTES = 1024 * 1024;
/** Sluice's broker holds a fetch at most this long; so does this client. */
export const FETCH_MAX_WAIT_MS_MAX = 30_000;

export interface FetchLimits {
  readonly maxWaitMs?: number;
  readonly minBytes?: number;
  readonly maxBytes?: number;
  readonly partitionMaxBytes?: number;
  readonly isolationLevel?: IsolationLevel;
}

export interface ResolvedFetchLimits {
  readonly maxWaitMs: number;
  readonly minBytes: number;
  readonly maxBytes: number;
  readonly partitionMaxBytes: number;
  readonly isolationLevel: IsolationLevel;
}

export interface PartitionPosition extends TopicPartition {
  readonly offset: number;
}

export interface FetchedPartition extends TopicPartition {
  readonly records: FetchedRecord[];
  /** Where the next fetch of this partition starts. */
  readonly nextOffset: number;
  readonly highWatermark: number;
  readonly lastStableOffset: number;
  readonly logStartOffset: number;
}

function bounded(field: string, value: number | undefined, fallback: number, min: number, max: number): number {
  return resolveInteger(
    field,
    value,
    declaredInteger(fallback, min, max),
    (field, message) => new KafkaConfigError(field, message),
  );
}

export function resolveFetchLimits(limits: FetchLimits = {}): ResolvedFetchLimits {
  const isolationLevel = limits.isolationLevel ?? "read_uncommitted";
  if (isolationLevel !== "read_uncommitted" && isolationLevel !== "read_committed") {
    throw new KafkaConfigError("isolationLevel", 'must be "read_uncommitted" or "read_committed"');
  }
  return {
    maxWaitMs: bounded("maxWaitMs", limits.maxWaitMs, FETCH_MAX_WAIT_MS, 0, FETCH_MAX_WAIT_MS_MAX),
    minBytes: bounded("minBytes", limits.minBytes, FETCH_MIN_BYTES, 0, 2 ** 31 - 1),
    maxBytes: bounded("maxBytes", limits.maxBytes, FETCH_MAX_BYTES, 1, 2 ** 31 - 1),
    partitionMaxBytes: bounded(
      "partitionMaxBytes",
      limits.partitionMaxBytes,
      FETCH_PARTITION_MAX_BYTES,
      1,
      2 ** 31 - 1,
    ),
    isolationLevel,
  };
}

const ZERO_UUID = Buffer.alloc(16);

/** One partition's answer to a Fetch with its record batches as the broker sent them, not yet decoded. */
export interface FetchedPartitionBytes extends TopicPartition {
  /** Where this fetch started; batches may begin before it (a batch is sent whole). */
  readonly fetchOffset: number;
  /** The partition's record batches, concatenated; the last may be cut off at the fetch's byte limit. */
  readonly bytes: Buffer | null;
  readonly abortedTransactions: ReadonlyArray<{ producerId: number; firstOffset: number }> | null;
  readonly highWatermark: number;
  readonly lastStableOffset: number;
  readonly logStartOffset: number;
}

/** One Fetch request to one broker; an outcome per partition (its undecoded batches, or the partition's error). */
export async function fetchBytesFrom(
  connection: BrokerConnection,
  positions: readonly PartitionPosition[],
  limits: ResolvedFetchLimits,
  requestTimeoutMs: number,
): Promise<Map<string, ItemOutcome<FetchedPartitionBytes>>> {
  const offsets = new Map(
    positions.map((position) => [partitionKey(position.topic, position.partition), position.offset]),
  );
  const response = await connection.request(
    Api.Fetch,
    {
      clusterId: null,
      replicaId: -1,
      replicaState: { replicaId: -1, replicaEpoch: -1 },
      maxWaitMs: limits.maxWaitMs,
      minBytes: limits.minBytes,
      maxBytes: limits.maxBytes,
      isolationLevel: limits.isolationLevel === "read_committed" ? 1 : 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [...byTopic(positions)].map(([topic, partitions]) => ({
        topic,
        topicId: ZERO_UUID,
        partitions: partitions.map((position) => ({
          partition: position.partition,
          currentLeaderEpoch: -1,
          fetchOffset: position.offset,
          lastFetchedEpoch: -1,
          logStartOffset: -1,
          partitionMaxBytes: limits.partitionMaxBytes,
          replicaDirectoryId: ZERO_UUID,
        })),
      })),
      forgottenTopicsData: [],
      rackId: "",
    },
    { timeoutMs: limits.maxWaitMs + requestTimeoutMs },
  );
  if ((response.errorCode ?? 0) !== 0) {
    const error = new KafkaBrokerError(response.errorCode!, `fetching from ${connection.address}`);
    return new Map(positions.map((position) => [partitionKey(position.topic, position.partition), { error }]));
  }
  const outcomes = new Map<string, ItemOutcome<FetchedPartitionBytes>>();
  for (const topic of response.responses) {
    for (const data of topic.partitions) {
      const key = partitionKey(topic.topic, data.partitionIndex);
      const fetchOffset = offsets.get(key);
      if (fetchOffset === undefined) continue;
      if (data.errorCode !== 0) {
        outcomes.set(key, {
          error: new KafkaBrokerError(
            data.errorCode,
            `fetching ${topic.topic}-${data.partitionIndex} at offset ${fetchOffset}`,
          ),
        });
        continue;
      }
      outcomes.set(key, {
        result: {
          topic: topic.topic,
          partition: data.partitionIndex,
          fetchOffset,
          bytes:
            data.records === null
              ? null
              : Buffer.from(data.records.buffer, data.records.byteOffset, data.records.length),
          abortedTransactions:
            data.abortedTransactions?.map((entry) => ({
              producerId: entry.producerId ?? -1,
              firstOffset: entry.firstOffset ?? -1,
            })) ?? null,
          highWatermark: data.highWatermark,
          lastStableOffset: data.lastStableOffset ?? data.highWatermark,
          logStartOffset: data.logStartOffset ?? -1,
        },
      });
    }
  }
  return outcomes;
}

/** One Fetch request to one broker; an outcome per partition (records, or the partition's error). */
export async function fetchFrom(
  connection: BrokerConnection,
  positions: readonly PartitionPosition[],
  limits: ResolvedFetchLimits,
  requestTimeoutMs: number,
): Promise<Map<string, ItemOutcome<FetchedPartition>>> {
  const answers = await fetchBytesFrom(connection, positions, limits, requestTimeoutMs);
  const outcomes = new Map<string, ItemOutcome<FetchedPartition>>();
  for (const [key, answer] of answers) {
    if ("error" in answer) {
      outcomes.set(key, answer);
      continue;
    }
    const data = answer.result;
    let decoded: ReturnType<typeof decodePartitionRecords>;
    try {
      decoded = decodePartitionRecords(data.topic, data.partition, data.fetchOffset, data.bytes, {
        readCommitted: limits.isolationLevel === "read_committed",
        abortedTransactions: data.abortedTransactions,
      });
    } catch (error) {
      if (!(error instanceof KafkaClientError)) throw error;
      outcomes.set(key, { error });
      continue;
    }
    outcomes.set(key, {
      result: {
        topic: data.topic,
        partition: data.partition,
        records: decoded.records,
        nextOffset: decoded.nextOffset,
        highWatermark: data.highWatermark,
        lastStableOffset: data.lastStableOffset,
        logStartOffset: data.logStartOffset,
      },
    });
  }
  return outcomes;
}

export function checkPositions(field: string, positions: readonly PartitionPosition[]): void {
  const seen = new Set<string>();
  positions.forEach((position, index) => {
    if (typeof position.topic !== "string" || position.topic === "") {
      throw new KafkaConfigError(`${field}[${index}].topic`, "must be a topic name");
    }
    if (!Number.isInteger(position.partition) || position.partition < 0) {
      throw new KafkaConfigError(`${field}[${index}].partition`, "must be a partition number of at least 0");
    }
    if (!Number.isSafeInteger(position.offset) || position.offset < 0) {
      throw new KafkaConfigError(`${field}[${index}].offset`, "must be an offset of at least 0");
    }
    const key = partitionKey(position.topic, position.partition);
    if (seen.has(key)) throw new KafkaConfigError(field, `${position.topic}-${position.partition} appears twice`);
    seen.add(key);
  });
}

/**
 * Fetches once from each partition at its offset (each partition's leader asked once, all at the same time) and
 * returns what arrived, possibly nothing after maxWaitMs. Throws the first partition error that is not retriable
 * (OFFSET_OUT_OF_RANGE, for one).
 */
export async function fetchPartitions(
  cluster: KafkaCluster,
  positions: readonly PartitionPosition[],
  limits: FetchLimits = {},
): Promise<FetchedPartition[]> {
  return fetchFromLeaders(cluster, positions, limits, fetchFrom);
}

/**
 * Like fetchPartitions, but hands back each partition's record batches undecoded, for callers that walk the bytes
 * themselves (the console's filter scan, which decodes only the records that match).
 */
export async function fetchPartitionBytes(
  cluster: KafkaCluster,
  positions: readonly PartitionPosition[],
  limits: FetchLimits = {},
): Promise<FetchedPartitionBytes[]> {
  return fetchFromLeaders(cluster, positions, limits, fetchBytesFrom);
}

/** Asks each partition's leader once, all at the same time, through `fetchFromOne`; the first hard error is thrown. */
async function fetchFromLeaders<Result>(
  cluster: KafkaCluster,
  positions: readonly PartitionPosition[],
  limits: FetchLimits,
  fetchFromOne: (
    connection: BrokerConnection,
    items: readonly PartitionPosition[],
    limits: ResolvedFetchLimits,
    requestTimeoutMs: number,
  ) => Promise<Map<string, ItemOutcome<Result>>>,
): Promise<Result[]> {
  checkPositions("positions", positions);
  const resolved = resolveFetchLimits(limits);
  const keyOf = (position: PartitionPosition): string => partitionKey(position.topic, position.partition);
  const outcomes = await sendRouted(cluster, {
    items: positions,
    keyOf,
    route: (position) => cluster.leaderConnection(position.topic, position.partition, "fetch"),
    send: (connection, items) => fetchFromOne(connection, items, resolved, cluster.options.requestTimeoutMs),
    forget: (position, error) => {
      if (isStaleLeaderError(error)) cluster.metadata.forget(position.topic);
    },
  });
  return resultsOrThrow(positions, keyOf, outcomes);
}
