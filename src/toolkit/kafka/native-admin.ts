// The toolkit's admin interface over Sluice's own client: the same contract as the kafkajs one in admin.ts, on a
// client of its own made on first use and closed by disconnect().

import { KafkaTopicUnknownError, type SluiceKafkaClient } from "../../kafka/client/index.js";
import { UnknownTopicError } from "../errors.js";
import { checkTopicSpecs, type KafkaAdmin } from "./admin.js";
import { toNativePublishError } from "./native-producer.js";

/** How long ensureTopics waits for the partitions of topics it created to have leaders, as kafkajs's does. */
export const ENSURE_TOPICS_LEADERS_WAIT_MS = 10_000;
const LEADER_POLL_MS = 50;

export function createNativeAdmin(connect: () => SluiceKafkaClient, brokers: readonly string[]): KafkaAdmin {
  let client: SluiceKafkaClient | null = null;
  const open = (): SluiceKafkaClient => (client ??= connect());
  /** Runs an admin call, turning a failure to reach the brokers into the toolkit's error. */
  const run = async <T>(call: (native: SluiceKafkaClient) => Promise<T>): Promise<T> => {
    try {
      return await call(open());
    } catch (error) {
      if (error instanceof KafkaTopicUnknownError) throw new UnknownTopicError(error.topic, error);
      throw toNativePublishError(error, [], brokers);
    }
  };
  const partitionCounts = (names: readonly string[]): Promise<Map<string, number>> =>
    run(async (native) => {
      const wanted = new Set(names);
      const counts = new Map<string, number>();
      for (const topic of await native.admin.listTopics()) {
        if (wanted.has(topic.name)) counts.set(topic.name, topic.partitionCount);
      }
      return counts;
    });
  const waitForLeaders = async (native: SluiceKafkaClient, names: readonly string[]): Promise<void> => {
    const deadlineMs = Date.now() + ENSURE_TOPICS_LEADERS_WAIT_MS;
    for (const name of names) {
      for (;;) {
        const topic = await native.cluster.topic(name, { refresh: true }).catch(() => null);
        if (topic !== null && topic.partitions.every((partition) => partition.leader >= 0)) break;
        if (Date.now() >= deadlineMs) return;
        await new Promise((resolve) => setTimeout(resolve, LEADER_POLL_MS));
      }
    }
  };

  return {
    listTopics: () => run(async (native) => (await native.admin.listTopics()).map((topic) => topic.name)),

    async partitionCount(topic) {
      return (await partitionCounts([topic])).get(topic) ?? null;
    },

    async ensureTopics(topics) {
      checkTopicSpecs(topics);
      const result = {
        created: [] as string[],
        mismatched: [] as Array<{ name: string; partitions: number; expected: number }>,
      };
      if (topics.length === 0) return result;
      const counts = await partitionCounts(topics.map((spec) => spec.name));
      const missing = topics.filter((spec) => !counts.has(spec.name));
      for (const spec of topics) {
        const partitions = counts.get(spec.name);
        if (partitions !== undefined && partitions !== spec.partitions) {
          result.mismatched.push({ name: spec.name, partitions, expected: spec.partitions });
        }
      }
      if (missing.length === 0) return result;
      await run(async (native) => {
        const created = await native.admin.createTopics(
          missing.map((spec) => ({ name: spec.name, partitions: spec.partitions, configs: spec.configs ?? {} })),
        );
        // Another process creating the same topic first is fine here.
        const failed = created.find(
          (entry) => entry.error !== null && entry.error.errorName !== "TOPIC_ALREADY_EXISTS",
        );
        if (failed?.error) throw failed.error;
        await waitForLeaders(
          native,
          missing.map((spec) => spec.name),
        );
      });
      result.created.push(...missing.map((spec) => spec.name));
      return result;
    },

    topicOffsets: (topic) =>
      run(async (native) =>
        (await native.admin.topicOffsets(topic)).map((entry) => ({
          partition: entry.partition,
          low: String(entry.earliest),
          high: String(entry.latest),
        })),
      ),

    groupOffsets: (groupId, topic) =>
      run(async (native) =>
        (await native.admin.fetchGroupOffsets(groupId, [{ topic }])).map((entry) => ({
          partition: entry.partition,
          offset: String(entry.offset),
        })),
      ),

    async disconnect() {
      const current = client;
      client = null;
      await current?.close();
    },
  };
}
