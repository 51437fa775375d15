// Topic administration: list, describe, create (with configs), delete, and add partitions. Creating, deleting and
// growing topics go to the controller when the metadata names one (older Kafka requires it; newer Kafka and Sluice
// accept them anywhere), and a NOT_CONTROLLER answer sends the operation again after a metadata refresh. Results are
// per topic, because a batch can succeed for some topics and not for others.

import { ErrorCode } from "../../protocol/error-codes.js";
import { Api } from "../apis/definitions.js";
import type { KafkaCluster } from "../cluster/cluster.js";
import type { TopicMetadata } from "../cluster/metadata.js";
import { brokerErrorOrNull, KafkaBrokerError, KafkaConfigError, KafkaTopicUnknownError } from "../errors.js";
import type { BrokerConnection } from "../network/connection.js";

export interface TopicListing {
  readonly name: string;
  readonly topicId: string | null;
  readonly internal: boolean;
  readonly partitionCount: number;
}

export interface NewTopic {
  readonly name: string;
  /** Absent: the broker's default (needs CreateTopics v4+). */
  readonly partitions?: number;
  /** Absent: the broker's default (needs CreateTopics v4+). */
  readonly replicationFactor?: number;
  readonly configs?: Readonly<Record<string, string>>;
}

export interface TopicOperationOptions {
  /** Check the request without carrying it out (create topics, create partitions). */
  readonly validateOnly?: boolean;
  /** How long the broker may take; the request's own timeout is this plus requestTimeoutMs. */
  readonly timeoutMs?: number;
}

/** One topic's outcome in a batch: error is null when it succeeded. */
export interface TopicResult {
  readonly name: string;
  readonly error: KafkaBrokerError | null;
}

export interface CreatedTopic extends TopicResult {
  readonly topicId: string | null;
  /** What the topic was (or, validating only, would be) created with; -1 when the broker does not say (< v5). */
  readonly partitions: number;
  readonly replicationFactor: number;
}

export interface PartitionIncrease {
  readonly topic: string;
  /** The new total number of partitions. */
  readonly count: number;
}

export const ADMIN_TOPICS_COUNT_MAX = 10_000;
const TOPIC_NAME = /^[A-Za-z0-9._-]{1,249}$/;
const ZERO_TOPIC_ID = Buffer.alloc(16);

function checkCount(field: string, count: number): void {
  if (count > ADMIN_TOPICS_COUNT_MAX) {
    throw new KafkaConfigError(field, `at most ${ADMIN_TOPICS_COUNT_MAX} topics per call, got ${count}`);
  }
}

function checkTopicName(field: string, name: string): void {
  if (typeof name !== "string" || !TOPIC_NAME.test(name)) {
    throw new KafkaConfigError(
      field,
      `"${String(name)}" is not a topic name: use 1 to 249 letters, digits, '.', '_' and '-'`,
    );
  }
}

export async function listTopics(
  cluster: KafkaCluster,
  options: { includeInternal?: boolean } = {},
): Promise<TopicListing[]> {
  const lookups = await cluster.refreshMetadata(null);
  const listings: TopicListing[] = [];
  for (const lookup of lookups.values()) {
    if (lookup.kind !== "found") continue;
    const { topic } = lookup;
    if (topic.internal && options.includeInternal !== true) continue;
    listings.push({
      name: topic.name,
      topicId: topic.topicId,
      internal: topic.internal,
      partitionCount: topic.partitions.length,
    });
  }
  return listings.sort((left, right) => (left.name < right.name ? -1 : left.name > right.name ? 1 : 0));
}

/** Fresh metadata of each topic, in the order asked; throws KafkaTopicUnknownError for a missing one. */
export async function describeTopics(cluster: KafkaCluster, names: readonly string[]): Promise<TopicMetadata[]> {
  checkCount("names", names.length);
  names.forEach((name, index) => checkTopicName(`names[${index}]`, name));
  if (names.length === 0) return [];
  const lookups = await cluster.refreshMetadata(names);
  return names.map((name) => {
    const lookup = lookups.get(name);
    if (
      lookup === undefined ||
      (lookup.kind === "error" && lookup.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
    ) {
      throw new KafkaTopicUnknownError(name);
    }
    if (lookup.kind === "error") throw new KafkaBrokerError(lookup.errorCode, `describing topic "${name}"`);
    return lookup.topic;
  });
}

/** The controller's connection, or any broker's when the metadata names no controller. */
async function controllerConnection(cluster: KafkaCluster): Promise<BrokerConnection> {
  if (cluster.metadata.controllerId < 0 || !cluster.metadata.brokers.has(cluster.metadata.controllerId)) {
    await cluster.refreshMetadata([]);
  }
  const controllerId = cluster.metadata.controllerId;
  if (controllerId >= 0 && cluster.metadata.brokers.has(controllerId)) {
    return cluster.nodeConnection(controllerId, "admin");
  }
  return cluster.anyConnection("admin");
}

/** Runs a controller operation, again after a metadata refresh when any topic's answer is NOT_CONTROLLER. */
function onController<T extends { errorCode: number }>(
  cluster: KafkaCluster,
  what: string,
  send: (connection: BrokerConnection) => Promise<T[]>,
): Promise<T[]> {
  return cluster.retry(
    async () => {
      const results = await send(await controllerConnection(cluster));
      if (results.some((result) => result.errorCode === ErrorCode.NOT_CONTROLLER)) {
        throw new KafkaBrokerError(ErrorCode.NOT_CONTROLLER, what);
      }
      return results;
    },
    {
      beforeRetry: (error) => {
        if (error instanceof KafkaBrokerError && error.errorCode === ErrorCode.NOT_CONTROLLER) {
          cluster.metadata.controllerId = -1;
        }
      },
    },
  );
}

function brokerTimeoutMs(cluster: KafkaCluster, options: TopicOperationOptions): number {
  return options.timeoutMs ?? cluster.options.requestTimeoutMs;
}

export async function createTopics(
  cluster: KafkaCluster,
  topics: readonly NewTopic[],
  options: TopicOperationOptions = {},
): Promise<CreatedTopic[]> {
  checkCount("topics", topics.length);
  topics.forEach((topic, index) => {
    checkTopicName(`topics[${index}].name`, topic.name);
    for (const [field, value] of [
      ["partitions", topic.partitions],
      ["replicationFactor", topic.replicationFactor],
    ] as const) {
      if (value !== undefined && (!Number.isInteger(value) || value < 1)) {
        throw new KafkaConfigError(
          `topics[${index}].${field}`,
          `must be an integer of at least 1, got ${String(value)}`,
        );
      }
    }
  });
  if (topics.length === 0) return [];
  const timeoutMs = brokerTimeoutMs(cluster, options);
  const results = await onController(cluster, "CreateTopics", async (connection) => {
    const version = connection.versionOf(Api.CreateTopics);
    if (
      version < 4 &&
      topics.some((topic) => topic.partitions === undefined || topic.replicationFactor === undefined)
    ) {
      throw new KafkaConfigError(
        "topics",
        `${connection.address} needs partitions and replicationFactor for every topic`,
      );
    }
    const response = await connection.request(
      Api.CreateTopics,
      {
        topics: topics.map((topic) => ({
          name: topic.name,
          numPartitions: topic.partitions ?? -1,
          replicationFactor: topic.replicationFactor ?? -1,
          assignments: [],
          configs: Object.entries(topic.configs ?? {}).map(([name, value]) => ({ name, value })),
        })),
        timeoutMs,
        validateOnly: options.validateOnly ?? false,
      },
      { timeoutMs: timeoutMs + cluster.options.requestTimeoutMs },
    );
    return response.topics;
  });
  const byName = new Map(results.map((result) => [result.name, result]));
  return topics.map((topic) => {
    const result = byName.get(topic.name);
    if (result === undefined) {
      return {
        name: topic.name,
        error: new KafkaBrokerError(
          ErrorCode.UNKNOWN_SERVER_ERROR,
          `creating topic "${topic.name}"`,
          "the answer leaves this topic out",
        ),
        topicId: null,
        partitions: -1,
        replicationFactor: -1,
      };
    }
    const topicId = result.topicId?.equals(ZERO_TOPIC_ID) === false ? result.topicId.toString("hex") : null;
    return {
      name: topic.name,
      error: brokerErrorOrNull(result.errorCode, `creating topic "${topic.name}"`, result.errorMessage ?? null),
      topicId,
      partitions: result.numPartitions ?? -1,
      replicationFactor: result.replicationFactor ?? -1,
    };
  });
}

export async function deleteTopics(
  cluster: KafkaCluster,
  names: readonly string[],
  options: TopicOperationOptions = {},
): Promise<TopicResult[]> {
  checkCount("names", names.length);
  names.forEach((name, index) => checkTopicName(`names[${index}]`, name));
  if (names.length === 0) return [];
  const timeoutMs = brokerTimeoutMs(cluster, options);
  const results = await onController(cluster, "DeleteTopics", async (connection) => {
    const response = await connection.request(
      Api.DeleteTopics,
      { topics: names.map((name) => ({ name, topicId: ZERO_TOPIC_ID })), topicNames: [...names], timeoutMs },
      { timeoutMs: timeoutMs + cluster.options.requestTimeoutMs },
    );
    return response.responses;
  });
  for (const name of names) cluster.metadata.forget(name);
  const byName = new Map(results.map((result) => [result.name, result]));
  return names.map((name) => topicResult(name, "deleting", byName.get(name)));
}

export async function createPartitions(
  cluster: KafkaCluster,
  increases: readonly PartitionIncrease[],
  options: TopicOperationOptions = {},
): Promise<TopicResult[]> {
  checkCount("increases", increases.length);
  increases.forEach((increase, index) => {
    checkTopicName(`increases[${index}].topic`, increase.topic);
    if (!Number.isInteger(increase.count) || increase.count < 1) {
      throw new KafkaConfigError(`increases[${index}].count`, `must be an integer of at least 1`);
    }
  });
  if (increases.length === 0) return [];
  const timeoutMs = brokerTimeoutMs(cluster, options);
  const results = await onController(cluster, "CreatePartitions", async (connection) => {
    const response = await connection.request(
      Api.CreatePartitions,
      {
        topics: increases.map((increase) => ({ name: increase.topic, count: increase.count, assignments: null })),
        timeoutMs,
        validateOnly: options.validateOnly ?? false,
      },
      { timeoutMs: timeoutMs + cluster.options.requestTimeoutMs },
    );
    return response.results;
  });
  for (const increase of increases) cluster.metadata.forget(increase.topic);
  const byName = new Map(results.map((result) => [result.name, result]));
  return increases.map((increase) => topicResult(increase.topic, "adding partitions to", byName.get(increase.topic)));
}

function topicResult(
  name: string,
  doing: string,
  result: { errorCode: number; errorMessage?: string | null } | undefined,
): TopicResult {
  const context = `${doing} topic "${name}"`;
  if (result === undefined) {
    return {
      name,
      error: new KafkaBrokerError(ErrorCode.UNKNOWN_SERVER_ERROR, context, "the answer leaves this topic out"),
    };
  }
  return { name, error: brokerErrorOrNull(result.errorCode, context, result.errorMessage ?? null) };
}
