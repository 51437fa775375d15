// Our admin interface: the few cluster operations services need (making sure their topics exist, reading partition
// counts and offsets), connecting on first use. This file has the kafkajs implementation (KAFKA_CLIENT=kafkajs);
// native-admin.ts has the one on Sluice's client.

import type { Admin, Kafka } from "kafkajs";

import { InvalidArgumentError, UnknownTopicError } from "../errors.js";
import type { ToolkitLogger } from "../logger.js";
import { toPublishError } from "./producer.js";

export const ENSURE_TOPICS_COUNT_MAX = 1_000;

export interface TopicSpec {
  name: string;
  partitions: number;
  /** Topic configs such as retention.ms, applied when the topic is created. */
  configs?: Record<string, string>;
}

export interface EnsureTopicsResult {
  /** Topics this call created. */
  created: string[];
  /** Topics that existed with fewer or more partitions than asked for; they are left as they are. */
  mismatched: Array<{ name: string; partitions: number; expected: number }>;
}

export interface PartitionOffsets {
  partition: number;
  /** The earliest offset still stored, as a decimal string. */
  low: string;
  /** The offset the next record will get (the high watermark), as a decimal string. */
  high: string;
}

export interface GroupPartitionOffset {
  partition: number;
  /** The group's committed offset (the next record it will read), or "-1" when it has committed none. */
  offset: string;
}

export interface KafkaAdmin {
  listTopics(): Promise<string[]>;
  /** The topic's partition count, or null when the topic does not exist. */
  partitionCount(topic: string): Promise<number | null>;
  /**
   * Creates the topics that do not exist yet. Existing topics are never changed: adding partitions would move
   * keys to other partitions and break their order, so a mismatch is only reported.
   */
  ensureTopics(topics: readonly TopicSpec[]): Promise<EnsureTopicsResult>;
  /** Low and high offsets of every partition; throws UnknownTopicError for a missing topic. */
  topicOffsets(topic: string): Promise<PartitionOffsets[]>;
  /** A consumer group's committed offsets on a topic. */
  groupOffsets(groupId: string, topic: string): Promise<GroupPartitionOffset[]>;
  /**
   * The group's lag, for transports without offsets (AMQP: the messages waiting in the group's queues); absent on
   * Kafka, whose lag is the high watermark minus the committed offset.
   */
  consumerLag?(
    groupId: string,
    topics: readonly string[],
  ): Promise<Array<{ topic: string; partition: number; lag: number }>>;
  disconnect(): Promise<void>;
}

/** Checks ensureTopics' input, the same for every client library. */
export function checkTopicSpecs(topics: readonly TopicSpec[]): void {
  if (!Array.isArray(topics) || topics.length > ENSURE_TOPICS_COUNT_MAX) {
    throw new InvalidArgumentError("topics", `must be an array of at most ${ENSURE_TOPICS_COUNT_MAX} topics`);
  }
  for (const [index, spec] of topics.entries()) {
    if (typeof spec?.name !== "string" || !/^[A-Za-z0-9._-]{1,249}$/.test(spec.name)) {
      throw new InvalidArgumentError(`topics[${index}].name`, "must be 1 to 249 letters, digits, '.', '_' and '-'");
    }
    if (!Number.isInteger(spec.partitions) || spec.partitions < 1) {
      throw new InvalidArgumentError(`topics[${index}].partitions`, "must be an integer of at least 1");
    }
  }
}

export function createKafkaAdmin(kafka: Kafka, brokers: readonly string[]): KafkaAdmin {
  let admin: Admin | null = null;
  let connecting: Promise<Admin> | null = null;

  const connected = async (): Promise<Admin> => {
    connecting ??= (async () => {
      const created = kafka.admin();
      try {
        await created.connect();
      } catch (error) {
        connecting = null;
        throw toPublishError(error, [], brokers);
      }
      admin = created;
      return created;
    })();
    return connecting;
  };

  const partitionCounts = async (names: readonly string[]): Promise<Map<string, number>> => {
    const client = await connected();
    const existing = new Set(await client.listTopics());
    const wanted = names.filter((name) => existing.has(name));
    const counts = new Map<string, number>();
    if (wanted.length === 0) return counts;
    const { topics } = await client.fetchTopicMetadata({ topics: wanted });
    for (const topic of topics) counts.set(topic.name, topic.partitions.length);
    return counts;
  };

  return {
    async listTopics() {
      return (await connected()).listTopics();
    },

    async partitionCount(topic) {
      return (await partitionCounts([topic])).get(topic) ?? null;
    },

    async ensureTopics(topics) {
      checkTopicSpecs(topics);
      const result: EnsureTopicsResult = { created: [], mismatched: [] };
      if (topics.length === 0) return result;
      const counts = await partitionCounts(topics.map((spec) => spec.name));
      const missing = topics.filter((spec) => !counts.has(spec.name));
      for (const spec of topics) {
        const partitions = counts.get(spec.name);
        if (partitions !== undefined && partitions !== spec.partitions) {
          result.mismatched.push({ name: spec.name, partitions, expected: spec.partitions });
        }
      }
      if (missing.length > 0) {
        const client = await connected();
        // createTopics answers false when another process created the same topics first; that is fine here.
        await client.createTopics({
          waitForLeaders: true,
          topics: missing.map((spec) => ({
            topic: spec.name,
            numPartitions: spec.partitions,
            configEntries: Object.entries(spec.configs ?? {}).map(([name, value]) => ({ name, value })),
          })),
        });
        result.created.push(...missing.map((spec) => spec.name));
      }
      return result;
    },

    async topicOffsets(topic) {
      const client = await connected();
      if (!(await client.listTopics()).includes(topic)) throw new UnknownTopicError(topic);
      const offsets = await client.fetchTopicOffsets(topic);
      return offsets
        .map((entry) => ({ partition: entry.partition, low: entry.low, high: entry.high }))
        .sort((left, right) => left.partition - right.partition);
    },

    async groupOffsets(groupId, topic) {
      const client = await connected();
      const [entry] = await client.fetchOffsets({ groupId, topics: [topic] });
      return (entry?.partitions ?? [])
        .map((partition) => ({ partition: partition.partition, offset: partition.offset }))
        .sort((left, right) => left.partition - right.partition);
    },

    async disconnect() {
      const current = admin;
      admin = null;
      connecting = null;
      if (current !== null) await current.disconnect();
    },
  };
}

/**
 * Creates whichever of the topics (TopicDefinitions or plain specs) do not exist yet, with their declared partition
 * counts, and warns about existing ones whose partition count differs. Call it when a service starts.
 */
export async function ensureTopics(
  client: { admin(): KafkaAdmin; readonly logger: ToolkitLogger },
  topics: readonly TopicSpec[],
): Promise<EnsureTopicsResult> {
  const admin = client.admin();
  try {
    const result = await admin.ensureTopics(topics);
    for (const mismatch of result.mismatched) {
      client.logger.warn(
        mismatch,
        `topic "${mismatch.name}" has ${mismatch.partitions} partitions, not the ${mismatch.expected} declared; ` +
          "it is left unchanged because changing it would move keys between partitions",
      );
    }
    return result;
  } finally {
    await admin.disconnect();
  }
}
