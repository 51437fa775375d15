// The topics API: list (with partitions, retained messages and retention), one topic's partitions and configs,
// create, delete (the name typed again as confirmation), and config changes.

import type { FastifyInstance } from "fastify";

import { validationFailed } from "../gateway/errors.js";
import type { OffsetQuery, TopicListing } from "../kafka/client/index.js";
import { actorOf, type ConsoleContext } from "./context.js";
import { notFound } from "./errors.js";
import {
  integerOr,
  objectBody,
  optionalBoolean,
  optionalString,
  stringRecord,
  topicName,
  type Fields,
} from "./params.js";

export const TOPIC_CONFIGS_MAX = 100;
export const PARTITIONS_MAX = 10_000;
/** Topics listed with offsets and retention in one answer; more are listed by name and partitions only. */
export const TOPICS_DETAILED_MAX = 2_000;

export interface TopicRow {
  readonly name: string;
  readonly internal: boolean;
  readonly partitions: number;
  /** High watermark minus log start, summed over partitions: the records retained now. */
  readonly messages: number | null;
  readonly retentionMs: string | null;
  /** Bytes of the topic's logs (each partition's largest replica), from DescribeLogDirs; null when not known. */
  readonly sizeBytes: number | null;
}

export interface PartitionRow {
  readonly partition: number;
  readonly leader: number;
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
  readonly logStartOffset: number;
  readonly highWatermark: number;
  readonly messages: number;
  /** Bytes of the partition's log (its largest replica), from DescribeLogDirs; null when not known. */
  readonly sizeBytes: number | null;
}

/**
 * Each partition's log size in bytes ("topic:partition" → bytes), the largest of its replicas, from DescribeLogDirs
 * on every broker. A cluster that refuses the request (an old broker, or a user without DESCRIBE on the cluster)
 * leaves sizes unknown rather than failing the page; the log says why.
 */
export async function logSizes(
  context: ConsoleContext,
  topics: ReadonlyArray<{ readonly topic: string; readonly partitions: readonly number[] }> | null,
): Promise<Map<string, number> | null> {
  let replicas;
  try {
    replicas = await context.kafka.admin.describeLogDirs(topics);
  } catch (error) {
    context.logger.warn({ err: error }, "console: no partition sizes (DescribeLogDirs failed)");
    return null;
  }
  const sizes = new Map<string, number>();
  for (const replica of replicas) {
    if (replica.future) continue;
    const key = `${replica.topic}:${replica.partition}`;
    sizes.set(key, Math.max(sizes.get(key) ?? 0, replica.sizeBytes));
  }
  return sizes;
}

function partitionQueries(topics: readonly TopicListing[]): OffsetQuery[] {
  return topics.flatMap((topic) =>
    Array.from({ length: topic.partitionCount }, (_, partition) => [
      { topic: topic.name, partition, spec: "earliest" as const },
      { topic: topic.name, partition, spec: "latest" as const },
    ]).flat(),
  );
}

export async function listTopicRows(context: ConsoleContext, includeInternal: boolean): Promise<TopicRow[]> {
  const listed = (await context.kafka.admin.listTopics({ includeInternal }))
    .filter((topic) => includeInternal || !topic.internal)
    .sort((left, right) => left.name.localeCompare(right.name));
  const detailed = listed.slice(0, TOPICS_DETAILED_MAX);
  const messages = new Map<string, number>();
  const retention = new Map<string, string | null>();
  const sizes = new Map<string, number>();
  if (detailed.length > 0) {
    const partitionSizes = await logSizes(
      context,
      listed.length === detailed.length
        ? null
        : detailed.map((topic) => ({
            topic: topic.name,
            partitions: Array.from({ length: topic.partitionCount }, (_, index) => index),
          })),
    );
    for (const [key, bytes] of partitionSizes ?? []) {
      const name = key.slice(0, key.lastIndexOf(":"));
      sizes.set(name, (sizes.get(name) ?? 0) + bytes);
    }
    const answers = await context.kafka.admin.listOffsets(partitionQueries(detailed));
    for (let index = 0; index + 1 < answers.length; index += 2) {
      const start = answers[index]!;
      const end = answers[index + 1]!;
      messages.set(start.topic, (messages.get(start.topic) ?? 0) + Math.max(0, end.offset - start.offset));
    }
    const configs = await context.kafka.admin.describeConfigs(
      detailed.map((topic) => ({ type: "topic" as const, name: topic.name, keys: ["retention.ms"] })),
    );
    for (const resource of configs) {
      retention.set(resource.name, resource.configs.find((entry) => entry.name === "retention.ms")?.value ?? null);
    }
  }
  return listed.map((topic) => ({
    name: topic.name,
    internal: topic.internal,
    partitions: topic.partitionCount,
    messages: messages.get(topic.name) ?? null,
    retentionMs: retention.get(topic.name) ?? null,
    sizeBytes: sizes.get(topic.name) ?? null,
  }));
}

/** The partitions of a topic with their offsets; 404 for an unknown topic. */
export async function partitionRows(context: ConsoleContext, topic: string): Promise<PartitionRow[]> {
  const [metadata] = await context.kafka.admin.describeTopics([topic]);
  if (metadata === undefined) throw notFound(`there is no topic "${topic}"`);
  const [offsets, sizes] = await Promise.all([
    context.kafka.admin.topicOffsets(topic),
    logSizes(context, [{ topic, partitions: metadata.partitions.map((partition) => partition.partition) }]),
  ]);
  const byPartition = new Map(offsets.map((entry) => [entry.partition, entry]));
  return [...metadata.partitions]
    .sort((left, right) => left.partition - right.partition)
    .map((partition) => {
      const entry = byPartition.get(partition.partition);
      const logStartOffset = entry?.earliest ?? 0;
      const highWatermark = entry?.latest ?? 0;
      return {
        partition: partition.partition,
        leader: partition.leader,
        replicas: partition.replicas,
        isr: partition.isr,
        logStartOffset,
        highWatermark,
        messages: Math.max(0, highWatermark - logStartOffset),
        sizeBytes: sizes?.get(`${topic}:${partition.partition}`) ?? null,
      };
    });
}

async function topicConfigs(context: ConsoleContext, topic: string) {
  const [resource] = await context.kafka.admin.describeConfigs([{ type: "topic", name: topic }], {
    includeDocumentation: true,
  });
  if (resource?.error) throw resource.error;
  return (resource?.configs ?? []).map((entry) => ({
    name: entry.name,
    value: entry.sensitive ? null : entry.value,
    source: entry.source,
    isDefault: entry.isDefault,
    readOnly: entry.readOnly,
    sensitive: entry.sensitive,
    documentation: entry.documentation,
  }));
}

function throwIfFailed(result: { error: Error | null } | undefined): void {
  if (result?.error) throw result.error;
}

export async function topicRoutes(app: FastifyInstance, context: ConsoleContext): Promise<void> {
  app.get("/api/topics", { preHandler: context.view }, async (request) => {
    const query = request.query as Fields;
    const includeInternal = optionalBoolean(query, "internal") ?? false;
    const filter = optionalString(query, "filter", 249)?.toLowerCase() ?? "";
    const rows = await listTopicRows(context, includeInternal);
    return { topics: rows.filter((row) => row.name.toLowerCase().includes(filter)) };
  });

  app.get("/api/topics/:topic", { preHandler: context.view }, async (request) => {
    const topic = topicName((request.params as Fields).topic);
    const partitions = await partitionRows(context, topic);
    return {
      name: topic,
      partitions,
      messages: partitions.reduce((sum, partition) => sum + partition.messages, 0),
      sizeBytes: partitions.some((partition) => partition.sizeBytes === null)
        ? null
        : partitions.reduce((sum, partition) => sum + partition.sizeBytes!, 0),
      configs: await topicConfigs(context, topic),
    };
  });

  app.post("/api/topics", { preHandler: context.change }, async (request, reply) => {
    const body = objectBody(request.body);
    const name = topicName(body.name, "name");
    const partitions = integerOr(body, "partitions", 1, 1, PARTITIONS_MAX);
    const configs = stringRecord(body, "configs", TOPIC_CONFIGS_MAX);
    await context.audit.record(actorOf(request), "topic.create", name, { partitions, configs }, async () => {
      const [created] = await context.kafka.admin.createTopics([{ name, partitions, configs }]);
      throwIfFailed(created);
    });
    return reply.status(201).send({ name, partitions, configs });
  });

  app.delete("/api/topics/:topic", { preHandler: context.change }, async (request) => {
    const topic = topicName((request.params as Fields).topic);
    const confirm = optionalString(request.query as Fields, "confirm", 249);
    if (confirm !== topic) {
      throw validationFailed("confirm", `type the topic's name as ?confirm=${topic} to delete it and all its records`);
    }
    await context.audit.record(actorOf(request), "topic.delete", topic, {}, async () => {
      const [deleted] = await context.kafka.admin.deleteTopics([topic]);
      throwIfFailed(deleted);
    });
    return { deleted: topic };
  });

  app.patch("/api/topics/:topic/configs", { preHandler: context.change }, async (request) => {
    const topic = topicName((request.params as Fields).topic);
    const body = objectBody(request.body);
    const set = stringRecord(body, "set", TOPIC_CONFIGS_MAX);
    const remove = body.delete ?? [];
    if (
      !Array.isArray(remove) ||
      remove.some((name) => typeof name !== "string") ||
      remove.length > TOPIC_CONFIGS_MAX
    ) {
      throw validationFailed("delete", `delete must be a list of at most ${TOPIC_CONFIGS_MAX} config names`);
    }
    const changes = [
      ...Object.entries(set).map(([name, value]) => ({ name, operation: "set" as const, value })),
      ...(remove as string[]).map((name) => ({ name, operation: "delete" as const })),
    ];
    if (changes.length === 0) throw validationFailed("set", "name at least one config to set or delete");
    await partitionRows(context, topic);
    await context.audit.record(actorOf(request), "topic.configs", topic, { set, delete: remove }, async () => {
      const [result] = await context.kafka.admin.incrementalAlterConfigs([{ type: "topic", name: topic, changes }]);
      throwIfFailed(result);
    });
    return { configs: await topicConfigs(context, topic) };
  });
}
