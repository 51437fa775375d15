// Offsets of partitions, asked of each partition's leader: the earliest and latest offsets, the first offset at or
// after a timestamp, and deleting records before an offset. Partitions whose leader moved are looked up again and
// retried; the first error that remains is thrown, since a caller asking for offsets needs all of them.

import { Api } from "../apis/definitions.js";
import type { KafkaCluster } from "../cluster/cluster.js";
import { isStaleLeaderError } from "../cluster/cluster.js";
import { partitionKey, resultsOrThrow, sendRouted, type ItemOutcome } from "../cluster/routing.js";
import { KafkaBrokerError, KafkaConfigError } from "../errors.js";
import type { BrokerConnection } from "../network/connection.js";

export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

/** Which offset to look up: the log start, the end (next offset to be written), or the first at/after a time. */
export type OffsetSpec = "earliest" | "latest" | { readonly timestamp: number };

export type IsolationLevel = "read_uncommitted" | "read_committed";

export interface OffsetQuery extends TopicPartition {
  readonly spec: OffsetSpec;
}

export interface OffsetAnswer extends TopicPartition {
  /** The offset; for a timestamp after the last record's, -1 (no such record). */
  readonly offset: number;
  /** The found record's timestamp for timestamp lookups; -1 otherwise. */
  readonly timestamp: number;
  readonly leaderEpoch: number;
}

export interface DeleteRecordsRequestItem extends TopicPartition {
  /** Records before this offset are deleted; -1 deletes up to the high watermark. */
  readonly beforeOffset: number;
}

export interface DeleteRecordsAnswer extends TopicPartition {
  /** The partition's new log start offset. */
  readonly lowWatermark: number;
}

export const OFFSET_QUERIES_COUNT_MAX = 100_000;
const EARLIEST_TIMESTAMP = -2;
const LATEST_TIMESTAMP = -1;

const keyOf = (item: TopicPartition): string => partitionKey(item.topic, item.partition);

function checkPartitions(field: string, items: readonly TopicPartition[], unique = false): void {
  if (unique && new Set(items.map(keyOf)).size !== items.length) {
    throw new KafkaConfigError(field, "names a partition more than once");
  }
  if (items.length > OFFSET_QUERIES_COUNT_MAX) {
    throw new KafkaConfigError(field, `at most ${OFFSET_QUERIES_COUNT_MAX} partitions per call`);
  }
  items.forEach((item, index) => {
    if (typeof item.topic !== "string" || item.topic === "") {
      throw new KafkaConfigError(`${field}[${index}].topic`, "must be a topic name");
    }
    if (!Number.isInteger(item.partition) || item.partition < 0) {
      throw new KafkaConfigError(`${field}[${index}].partition`, "must be a partition number of at least 0");
    }
  });
}

function specTimestamp(spec: OffsetSpec, field: string): number {
  if (spec === "earliest") return EARLIEST_TIMESTAMP;
  if (spec === "latest") return LATEST_TIMESTAMP;
  if (typeof spec === "object" && spec !== null && Number.isSafeInteger(spec.timestamp) && spec.timestamp >= 0) {
    return spec.timestamp;
  }
  throw new KafkaConfigError(field, `must be "earliest", "latest" or { timestamp } with milliseconds since the epoch`);
}

/** Groups items by topic, in the request's nested shape. */
export function byTopic<I extends TopicPartition>(items: readonly I[]): Map<string, I[]> {
  const topics = new Map<string, I[]>();
  for (const item of items) {
    const list = topics.get(item.topic);
    if (list === undefined) topics.set(item.topic, [item]);
    else list.push(item);
  }
  return topics;
}

function toLeaders<I extends TopicPartition, R>(
  cluster: KafkaCluster,
  items: readonly I[],
  send: (connection: BrokerConnection, items: I[]) => Promise<Map<string, ItemOutcome<R>>>,
): Promise<Map<string, ItemOutcome<R>>> {
  return sendRouted(cluster, {
    items,
    keyOf,
    route: (item) => cluster.leaderConnection(item.topic, item.partition, "admin"),
    send,
    forget: (item, error) => {
      if (isStaleLeaderError(error)) cluster.metadata.forget(item.topic);
    },
  });
}

/**
 * Looks up offsets. A request may name a partition only once, so queries that ask about the same partition more than
 * once (earliest and latest, say) are split into waves that go out at the same time.
 */
export async function listOffsets(
  cluster: KafkaCluster,
  queries: readonly OffsetQuery[],
  options: { isolationLevel?: IsolationLevel } = {},
): Promise<OffsetAnswer[]> {
  checkPartitions("queries", queries);
  const timestamps = queries.map((query, index) => specTimestamp(query.spec, `queries[${index}].spec`));
  const waves: Array<Array<{ query: OffsetQuery; timestamp: number }>> = [];
  const waveOf: number[] = [];
  const seen = new Map<string, number>();
  queries.forEach((query, index) => {
    const wave = seen.get(keyOf(query)) ?? 0;
    seen.set(keyOf(query), wave + 1);
    (waves[wave] ??= []).push({ query, timestamp: timestamps[index]! });
    waveOf.push(wave);
  });
  const answered = await Promise.all(
    waves.map(async (wave) => {
      const timestampOf = new Map(wave.map(({ query, timestamp }) => [keyOf(query), timestamp]));
      const items = wave.map(({ query }) => query);
      return resultsOrThrow(items, keyOf, await lookUpOffsets(cluster, items, timestampOf, options));
    }),
  );
  const next = waves.map(() => 0);
  return waveOf.map((wave) => answered[wave]![next[wave]!++]!);
}

function lookUpOffsets(
  cluster: KafkaCluster,
  queries: readonly OffsetQuery[],
  timestampOf: ReadonlyMap<string, number>,
  options: { isolationLevel?: IsolationLevel },
): Promise<Map<string, ItemOutcome<OffsetAnswer>>> {
  return toLeaders(cluster, queries, async (connection, items) => {
    const response = await connection.request(Api.ListOffsets, {
      replicaId: -1,
      isolationLevel: options.isolationLevel === "read_committed" ? 1 : 0,
      topics: [...byTopic(items)].map(([name, partitions]) => ({
        name,
        partitions: partitions.map((item) => ({
          partitionIndex: item.partition,
          currentLeaderEpoch: -1,
          timestamp: timestampOf.get(keyOf(item))!,
          maxNumOffsets: 1,
        })),
      })),
      timeoutMs: cluster.options.requestTimeoutMs,
    });
    const answers = new Map<string, ItemOutcome<OffsetAnswer>>();
    for (const topic of response.topics) {
      for (const partition of topic.partitions) {
        const key = partitionKey(topic.name, partition.partitionIndex);
        answers.set(
          key,
          partition.errorCode !== 0
            ? {
                error: new KafkaBrokerError(
                  partition.errorCode,
                  `offsets of ${topic.name}-${partition.partitionIndex}`,
                ),
              }
            : {
                result: {
                  topic: topic.name,
                  partition: partition.partitionIndex,
                  offset: partition.offset ?? -1,
                  timestamp: partition.timestamp ?? -1,
                  leaderEpoch: partition.leaderEpoch ?? -1,
                },
              },
        );
      }
    }
    return answers;
  });
}

export async function deleteRecords(
  cluster: KafkaCluster,
  items: readonly DeleteRecordsRequestItem[],
  options: { timeoutMs?: number } = {},
): Promise<DeleteRecordsAnswer[]> {
  checkPartitions("items", items, true);
  items.forEach((item, index) => {
    if (!Number.isSafeInteger(item.beforeOffset) || item.beforeOffset < -1) {
      throw new KafkaConfigError(`items[${index}].beforeOffset`, "must be an offset, or -1 for the high watermark");
    }
  });
  const timeoutMs = options.timeoutMs ?? cluster.options.requestTimeoutMs;
  const outcomes = await toLeaders(cluster, items, async (connection, group) => {
    const response = await connection.request(
      Api.DeleteRecords,
      {
        topics: [...byTopic(group)].map(([name, partitions]) => ({
          name,
          partitions: partitions.map((item) => ({ partitionIndex: item.partition, offset: item.beforeOffset })),
        })),
        timeoutMs,
      },
      { timeoutMs: timeoutMs + cluster.options.requestTimeoutMs },
    );
    const answers = new Map<string, ItemOutcome<DeleteRecordsAnswer>>();
    for (const topic of response.topics) {
      for (const partition of topic.partitions) {
        answers.set(
          partitionKey(topic.name, partition.partitionIndex),
          partition.errorCode !== 0
            ? {
                error: new KafkaBrokerError(
                  partition.errorCode,
                  `deleting records of ${topic.name}-${partition.partitionIndex}`,
                ),
              }
            : {
                result: {
                  topic: topic.name,
                  partition: partition.partitionIndex,
                  lowWatermark: partition.lowWatermark,
                },
              },
        );
      }
    }
    return answers;
  });
  return resultsOrThrow(items, keyOf, outcomes);
}
