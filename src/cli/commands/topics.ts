// `sluice topics list | describe | create | delete`: topic administration against any Kafka endpoint.

import type { ConfigEntry, KafkaAdmin } from "../../kafka/client/index.js";
import { flagOption, integerOption, listOption } from "../args.js";
import { CliError, defineCommand, defineCommandGroup, EXIT_OK, type CommandIo } from "../command.js";
import { connectionOptions, withSluiceClient, type ConnectionValues } from "../connection-options.js";
import { renderTable } from "../table.js";

export const TOPIC_CONFIGS_MAX = 100;
export const PARTITIONS_MAX = 10_000;
export const REPLICATION_FACTOR_MAX = 32;

const CLIENT_ID = "sluice-cli-topics";

const jsonOption = flagOption({ description: "Print JSON for scripts instead of a table" });

export interface TopicSummary {
  readonly name: string;
  readonly partitions: number;
  /** End offset minus start offset, summed over partitions: the records currently retained. */
  readonly messages: number;
}

export interface PartitionDescription {
  readonly partition: number;
  readonly leader: number;
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
  readonly startOffset: number;
  readonly endOffset: number;
}

export interface ConfigDescription {
  readonly name: string;
  readonly value: string | null;
  readonly source: string;
  readonly readOnly: boolean;
  readonly sensitive: boolean;
}

export interface TopicDescription {
  readonly name: string;
  readonly partitions: readonly PartitionDescription[];
  /** Null when the endpoint does not answer DescribeConfigs. */
  readonly configs: readonly ConfigDescription[] | null;
}

/** Kafka's ConfigSource values, spelt for people. */
/** The CLI's names for the config sources Kafka reports. */
const CONFIG_SOURCES: Readonly<Record<string, string>> = {
  DYNAMIC_TOPIC_CONFIG: "topic",
  DYNAMIC_BROKER_CONFIG: "dynamic-broker",
  DYNAMIC_DEFAULT_BROKER_CONFIG: "dynamic-default-broker",
  STATIC_BROKER_CONFIG: "static-broker",
  DEFAULT_CONFIG: "default",
  DYNAMIC_BROKER_LOGGER_CONFIG: "dynamic-broker-logger",
};

export function parseConfigEntry(raw: string): { name: string; value: string } {
  const equalsIndex = raw.indexOf("=");
  if (equalsIndex <= 0) throw new Error(`"${raw}" is not name=value`);
  return { name: raw.slice(0, equalsIndex).trim(), value: raw.slice(equalsIndex + 1) };
}

async function offsetsByPartition(
  admin: KafkaAdmin,
  topic: string,
): Promise<Map<number, { start: number; end: number }>> {
  const offsets = await admin.topicOffsets(topic);
  return new Map(offsets.map((entry) => [entry.partition, { start: entry.earliest, end: entry.latest }]));
}

async function listTopics(admin: KafkaAdmin): Promise<TopicSummary[]> {
  const topics = await admin.listTopics();
  const summaries: TopicSummary[] = [];
  for (const topic of [...topics].sort((a, b) => a.name.localeCompare(b.name))) {
    const offsets = await offsetsByPartition(admin, topic.name);
    let messages = 0;
    for (const { start, end } of offsets.values()) messages += Math.max(0, end - start);
    summaries.push({ name: topic.name, partitions: topic.partitionCount, messages });
  }
  return summaries;
}

function noSuchTopic(name: string): CliError {
  return new CliError(
    `topic "${name}" does not exist`,
    "List the topics with `sluice topics list`, or create it with `sluice topics create`.",
  );
}

async function requireTopic(admin: KafkaAdmin, name: string): Promise<void> {
  // Asking for one topic's metadata could create it on a broker that auto-creates topics, so look in the full list.
  const listed = await admin.listTopics({ includeInternal: true });
  if (!listed.some((topic) => topic.name === name)) throw noSuchTopic(name);
}

async function describeConfigs(admin: KafkaAdmin, name: string, io: CommandIo): Promise<ConfigDescription[] | null> {
  let entries: readonly ConfigEntry[];
  try {
    const [resource] = await admin.describeConfigs([{ type: "topic", name }]);
    if (resource?.error) throw resource.error;
    entries = resource?.configs ?? [];
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    io.stderr.write(`warning: the broker did not describe the topic's configs: ${reason}\n`);
    return null;
  }
  return entries
    .map((entry) => ({
      name: entry.name,
      value: entry.sensitive ? null : entry.value,
      source: CONFIG_SOURCES[entry.source] ?? (entry.isDefault ? "default" : "unknown"),
      readOnly: entry.readOnly,
      sensitive: entry.sensitive,
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

async function describeTopic(admin: KafkaAdmin, name: string, io: CommandIo): Promise<TopicDescription> {
  await requireTopic(admin, name);
  const [metadata] = await admin.describeTopics([name]);
  if (metadata === undefined) throw new CliError(`the broker returned no metadata for topic "${name}"`);
  const offsets = await offsetsByPartition(admin, name);
  const partitions = [...metadata.partitions]
    .sort((a, b) => a.partition - b.partition)
    .map((partition) => ({
      partition: partition.partition,
      leader: partition.leader,
      replicas: [...partition.replicas],
      isr: [...partition.isr],
      startOffset: offsets.get(partition.partition)?.start ?? 0,
      endOffset: offsets.get(partition.partition)?.end ?? 0,
    }));
  return { name, partitions, configs: await describeConfigs(admin, name, io) };
}

function printJson(io: CommandIo, value: unknown): void {
  io.stdout.write(JSON.stringify(value) + "\n");
}

function formatDescription(description: TopicDescription): string {
  const partitionTable = renderTable(
    [
      { header: "PARTITION", align: "right" },
      { header: "LEADER", align: "right" },
      { header: "REPLICAS" },
      { header: "ISR" },
      { header: "START OFFSET", align: "right" },
      { header: "END OFFSET", align: "right" },
    ],
    description.partitions.map((partition) => [
      partition.partition,
      partition.leader,
      partition.replicas.join(","),
      partition.isr.join(","),
      partition.startOffset,
      partition.endOffset,
    ]),
  );
  const lines = [`Topic: ${description.name}`, `Partitions: ${description.partitions.length}`, "", partitionTable];
  if (description.configs === null) {
    lines.push("Configs: unavailable\n");
  } else {
    const configTable = renderTable(
      [{ header: "CONFIG" }, { header: "VALUE" }, { header: "SOURCE" }],
      description.configs.map((config) => [config.name, config.value ?? "(sensitive)", config.source]),
    );
    lines.push(configTable);
  }
  return lines.join("\n");
}

function run<T>(values: ConnectionValues, io: CommandIo, work: (admin: KafkaAdmin) => Promise<T>): Promise<T> {
  return withSluiceClient(values, CLIENT_ID, io.stderr, (client) => work(client.admin));
}

const listCommand = defineCommand({
  name: "list",
  summary: "List topics with their partition and message counts",
  arguments: { options: { json: jsonOption, ...connectionOptions }, positionals: [] },
  async run({ options }, io) {
    const topics = await run(options, io, listTopics);
    if (options.json) {
      printJson(io, topics);
    } else {
      io.stdout.write(
        renderTable(
          [{ header: "TOPIC" }, { header: "PARTITIONS", align: "right" }, { header: "MESSAGES", align: "right" }],
          topics.map((topic) => [topic.name, topic.partitions, topic.messages]),
        ),
      );
    }
    return EXIT_OK;
  },
});

const describeCommand = defineCommand({
  name: "describe",
  summary: "Show a topic's partitions, leaders, offsets and configs",
  arguments: {
    options: { json: jsonOption, ...connectionOptions },
    positionals: [{ name: "topic", description: "Topic to describe", required: true }],
  },
  async run({ options, positionals }, io) {
    const name = positionals[0]!;
    const description = await run(options, io, (admin) => describeTopic(admin, name, io));
    if (options.json) printJson(io, description);
    else io.stdout.write(formatDescription(description));
    return EXIT_OK;
  },
});

const createCommand = defineCommand({
  name: "create",
  summary: "Create a topic",
  examples: ["sluice topics create orders --partitions 3 --config retention.ms=86400000"],
  arguments: {
    options: {
      partitions: integerOption({ description: "Number of partitions", min: 1, max: PARTITIONS_MAX, default: 1 }),
      replicationFactor: integerOption({
        description: "Copies of each partition",
        min: 1,
        max: REPLICATION_FACTOR_MAX,
        default: 1,
      }),
      config: listOption({
        description: "Topic config, e.g. retention.ms=86400000",
        valueName: "name=value",
        parse: parseConfigEntry,
        countMax: TOPIC_CONFIGS_MAX,
      }),
      ifNotExists: flagOption({ description: "Succeed when the topic already exists" }),
      json: jsonOption,
      ...connectionOptions,
    },
    positionals: [{ name: "topic", description: "Name of the new topic", required: true }],
  },
  async run({ options, positionals }, io) {
    const name = positionals[0]!;
    const created = await withSluiceClient(options, CLIENT_ID, io.stderr, async (client) => {
      const configs = Object.fromEntries(options.config.map((entry) => [entry.name, entry.value]));
      const [result] = await client.admin.createTopics(
        [{ name, partitions: options.partitions, replicationFactor: options.replicationFactor, configs }],
        { timeoutMs: options.timeoutMs },
      );
      if (result!.error === null) return true;
      if (result!.error.errorName === "TOPIC_ALREADY_EXISTS") return false;
      throw result!.error;
    });
    if (!created && !options.ifNotExists) {
      throw new CliError(
        `topic "${name}" already exists`,
        "Pick another name, delete it first with `sluice topics delete`, or pass --if-not-exists.",
      );
    }
    if (options.json) printJson(io, { topic: name, created, partitions: options.partitions });
    else if (created) io.stdout.write(`created topic ${name} with ${options.partitions} partition(s)\n`);
    else io.stdout.write(`topic ${name} already exists\n`);
    return EXIT_OK;
  },
});

const deleteCommand = defineCommand({
  name: "delete",
  summary: "Delete a topic and all its messages",
  arguments: {
    options: { json: jsonOption, ...connectionOptions },
    positionals: [{ name: "topic", description: "Topic to delete", required: true }],
  },
  async run({ options, positionals }, io) {
    const name = positionals[0]!;
    await withSluiceClient(options, CLIENT_ID, io.stderr, async (client) => {
      const listed = await client.admin.listTopics({ includeInternal: true });
      if (!listed.some((topic) => topic.name === name)) throw noSuchTopic(name);
      const [result] = await client.admin.deleteTopics([name], { timeoutMs: options.timeoutMs });
      if (result!.error !== null) throw result!.error;
    });
    if (options.json) printJson(io, { topic: name, deleted: true });
    else io.stdout.write(`deleted topic ${name}\n`);
    return EXIT_OK;
  },
});

export const topicsCommand = defineCommandGroup({
  name: "topics",
  summary: "List, describe, create and delete topics",
  commands: [listCommand, describeCommand, createCommand, deleteCommand],
});
