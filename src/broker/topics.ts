// Topics and their partitions: creation, deletion, partition growth and config changes, all synchronous so that
// they happen on the broker's one serial path, persisted through the metadata file when there is a data dir.

import { randomUUID } from "node:crypto";
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "pino";
import { ErrorCode } from "../kafka/protocol/error-codes.js";
import type { BrokerConfig } from "./config.js";
import { PartitionLog, type LogConfig } from "./log/partition-log.js";
import { PartitionProducerState } from "./producer-state.js";
import { PartitionTxns } from "./txn/partition-txns.js";
import type { BrokerSettings } from "./configs/settings.js";
import { compacts, deletesByRetention, TOPIC_CONFIGS, topicConfigValue, validateTopicConfig } from "./topic-config.js";
import type { StoredTopic } from "./metadata-file.js";

export const TOPIC_NAME_LENGTH_MAX = 249;
export const PARTITIONS_PER_TOPIC_MAX = 10_000;
const TOPIC_NAME = /^[a-zA-Z0-9._-]+$/;

export class Partition {
  readonly producers = new PartitionProducerState();
  /** Open and aborted transactions here: the last stable offset and what read_committed fetches skip. */
  readonly txns = new PartitionTxns();
  /**
   * Fetches waiting for data on this partition; each is called once on the next append or deletion (with false), or
   * when the broker ends their wait early (with true: answer now, with what there is).
   */
  private readonly waiters = new Set<(released: boolean) => void>();

  constructor(
    readonly topic: Topic,
    readonly index: number,
    readonly log: PartitionLog,
  ) {}

  wait(wake: (released: boolean) => void): () => void {
    this.waiters.add(wake);
    return () => this.waiters.delete(wake);
  }

  /** Something changed: the waiting fetches look again. */
  wakeWaiters(): void {
    this.#callWaiters(false);
  }

  /** The waiting fetches are answered now, with what there is. */
  releaseWaiters(): void {
    this.#callWaiters(true);
  }

  #callWaiters(released: boolean): void {
    if (this.waiters.size === 0) return;
    const waiting = [...this.waiters];
    this.waiters.clear();
    for (const wake of waiting) wake(released);
  }
}

export class Topic {
  readonly partitions: Partition[] = [];
  deleted = false;

  constructor(
    readonly name: string,
    readonly id: Buffer,
    readonly configs: Map<string, string>,
  ) {}
}

export class TopicError extends Error {
  constructor(
    readonly errorCode: number,
    message: string,
  ) {
    super(message);
  }
}

export function topicNameProblem(name: string): string | null {
  if (name.length === 0) return "topic name is empty";
  if (name.length > TOPIC_NAME_LENGTH_MAX) return `topic name is longer than ${TOPIC_NAME_LENGTH_MAX} characters`;
  if (name === "." || name === "..") return `topic name cannot be "${name}"`;
  if (!TOPIC_NAME.test(name))
    return `topic name ${JSON.stringify(name)} may only contain ASCII letters, digits, '.', '_' and '-'`;
  return null;
}

export interface TopicRegistryOptions {
  config: BrokerConfig;
  settings: BrokerSettings;
  logger: Logger;
  /** Called after every change that must survive a restart. */
  persist: () => void;
  /** Called after a topic is deleted, so that what refers to it (committed offsets) goes too. */
  onTopicDeleted?: (name: string) => void;
}

export class TopicRegistry {
  private readonly topics = new Map<string, Topic>();

  constructor(private readonly options: TopicRegistryOptions) {}

  get(name: string): Topic | undefined {
    return this.topics.get(name);
  }

  partition(topic: string, index: number): Partition | undefined {
    return this.topics.get(topic)?.partitions[index];
  }

  all(): Topic[] {
    return [...this.topics.values()];
  }

  get size(): number {
    return this.topics.size;
  }

  /** Checks a creation request without changing anything; throws TopicError with the Kafka error code. */
  validateCreate(name: string, partitions: number, configs: ReadonlyMap<string, string | null>): void {
    const nameProblem = topicNameProblem(name);
    if (nameProblem !== null) throw new TopicError(ErrorCode.INVALID_TOPIC_EXCEPTION, nameProblem);
    if (this.topics.has(name)) throw new TopicError(ErrorCode.TOPIC_ALREADY_EXISTS, `topic ${name} already exists`);
    if (!Number.isInteger(partitions) || partitions < 1 || partitions > PARTITIONS_PER_TOPIC_MAX) {
      throw new TopicError(
        ErrorCode.INVALID_PARTITIONS,
        `number of partitions must be between 1 and ${PARTITIONS_PER_TOPIC_MAX}, got ${partitions}`,
      );
    }
    for (const [key, value] of configs) {
      const problem = validateTopicConfig(key, value);
      if (problem !== null) throw new TopicError(ErrorCode.INVALID_CONFIG, problem);
    }
  }

  create(name: string, partitions: number, configs: ReadonlyMap<string, string | null>, id?: string): Topic {
    this.validateCreate(name, partitions, configs);
    const stored = new Map<string, string>();
    for (const [key, value] of configs) if (value !== null) stored.set(key, value);
    const topic = new Topic(name, Buffer.from((id ?? randomUUID()).replace(/-/g, ""), "hex"), stored);
    for (let index = 0; index < partitions; index++) topic.partitions.push(this.openPartition(topic, index));
    this.topics.set(name, topic);
    this.options.logger.info({ topic: name, partitions, configs: Object.fromEntries(stored) }, "topic created");
    if (id === undefined) this.options.persist();
    return topic;
  }

  restore(stored: StoredTopic): Topic {
    return this.create(stored.name, stored.partitions, new Map(Object.entries(stored.configs)), stored.id);
  }

  delete(name: string): Promise<void> {
    const topic = this.topics.get(name);
    if (topic === undefined) throw new TopicError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic ${name} does not exist`);
    this.topics.delete(name);
    topic.deleted = true;
    for (const partition of topic.partitions) partition.wakeWaiters();
    this.options.persist();
    this.options.onTopicDeleted?.(name);
    this.options.logger.info({ topic: name }, "topic deleted");
    return Promise.all(topic.partitions.map((partition) => partition.log.delete())).then(() => {
      const dir = this.topicDir(topic);
      if (dir !== null) rmSync(dir, { recursive: true, force: true });
    });
  }

  addPartitions(name: string, total: number, validateOnly: boolean): void {
    const topic = this.topics.get(name);
    if (topic === undefined) throw new TopicError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic ${name} does not exist`);
    if (!Number.isInteger(total) || total <= topic.partitions.length) {
      throw new TopicError(
        ErrorCode.INVALID_PARTITIONS,
        `topic ${name} has ${topic.partitions.length} partitions; the new count must be larger, got ${total}`,
      );
    }
    if (total > PARTITIONS_PER_TOPIC_MAX)
      throw new TopicError(ErrorCode.INVALID_PARTITIONS, `at most ${PARTITIONS_PER_TOPIC_MAX} partitions per topic`);
    if (validateOnly) return;
    for (let index = topic.partitions.length; index < total; index++)
      topic.partitions.push(this.openPartition(topic, index));
    this.options.persist();
    this.options.logger.info({ topic: name, partitions: total }, "partitions added");
  }

  /** Replaces (incremental = false) or patches the topic's config overrides after validating all of them. */
  alterConfigs(
    name: string,
    changes: ReadonlyMap<string, string | null>,
    incremental: boolean,
    validateOnly: boolean,
  ): void {
    const topic = this.topics.get(name);
    if (topic === undefined) throw new TopicError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic ${name} does not exist`);
    for (const [key, value] of changes) {
      const problem = validateTopicConfig(key, value);
      // A null value asks for the default back, which any known config has.
      if (problem !== null && !(value === null && TOPIC_CONFIGS.has(key))) {
        throw new TopicError(ErrorCode.INVALID_CONFIG, problem);
      }
    }
    if (validateOnly) return;
    if (!incremental) topic.configs.clear();
    for (const [key, value] of changes) {
      if (value === null) topic.configs.delete(key);
      else topic.configs.set(key, value);
    }
    this.applyConfigs(topic);
    this.options.persist();
    this.options.logger.info({ topic: name, configs: Object.fromEntries(topic.configs) }, "topic configs changed");
  }

  toStored(): StoredTopic[] {
    return this.all().map((topic) => ({
      name: topic.name,
      id: topic.id.toString("hex"),
      partitions: topic.partitions.length,
      configs: Object.fromEntries(topic.configs),
    }));
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.all().flatMap((topic) => topic.partitions.map((partition) => partition.log.close())));
  }

  /** Hands a topic's effective configs to its partition logs; called after a topic or broker config changes. */
  applyConfigs(topic: Topic): void {
    const logConfig = this.logConfig(topic.configs);
    for (const partition of topic.partitions) partition.log.updateConfig(logConfig);
  }

  logConfig(overrides: ReadonlyMap<string, string>): LogConfig {
    const { settings } = this.options;
    const deletes = deletesByRetention(overrides, settings);
    // Kafka's longs reach 2^63 - 1; past 2^53 a time span means "never", which the largest safe integer says too.
    const longValue = (name: string): number =>
      Math.min(Number(topicConfigValue(overrides, name, settings)), Number.MAX_SAFE_INTEGER);
    return {
      segmentBytesMax: Number(topicConfigValue(overrides, "segment.bytes", settings)),
      segmentMs: Number(topicConfigValue(overrides, "segment.ms", settings)),
      retentionMs: deletes ? Number(topicConfigValue(overrides, "retention.ms", settings)) : -1,
      retentionBytes: deletes ? Number(topicConfigValue(overrides, "retention.bytes", settings)) : -1,
      messageTimestampType: topicConfigValue(
        overrides,
        "message.timestamp.type",
        settings,
      ) as LogConfig["messageTimestampType"],
      compact: compacts(overrides, settings),
      deleteRetentionMs: longValue("delete.retention.ms"),
      minCompactionLagMs: longValue("min.compaction.lag.ms"),
      maxCompactionLagMs: Math.max(1, longValue("max.compaction.lag.ms")),
      minCleanableDirtyRatio: Number(topicConfigValue(overrides, "min.cleanable.dirty.ratio", settings)),
    };
  }

  private topicDir(topic: Topic): string | null {
    const { dataDir } = this.options.config;
    return dataDir === null ? null : join(dataDir, "logs", `${topic.name}~${topic.id.toString("hex")}`);
  }

  private openPartition(topic: Topic, index: number): Partition {
    const topicDir = this.topicDir(topic);
    const dir = topicDir === null ? null : join(topicDir, String(index));
    if (dir !== null) mkdirSync(dir, { recursive: true });
    const log = PartitionLog.open({
      dir,
      config: this.logConfig(topic.configs),
      logger: this.options.logger.child({ topic: topic.name, partition: index }),
    });
    const partition = new Partition(topic, index, log);
    for (const batch of log.recoveredBatchHeaders()) {
      partition.producers.record(
        batch.producerId,
        batch.producerEpoch,
        batch.baseSequence,
        batch.lastOffsetDelta,
        batch.baseOffset,
      );
    }
    return partition;
  }
}
