// The broker configs Sluice knows, as data, under Kafka's names with Kafka 3.9's types, defaults and validators:
// every broker-level default behind a topic config, and the broker settings Sluice has flags for. `fromFlags` reads
// the value Sluice was started with; where it differs from Kafka's default, DescribeConfigs reports it as a static
// broker config, as Kafka does for a value set in server.properties. The "cluster-wide" configs are the ones
// AlterConfigs may change at run time, for this broker or as the cluster default; Sluice applies them at once.

import type { BrokerConfig } from "../config.js";
import { INT_MAX_TEXT, type BrokerConfigDefinition } from "./definition.js";
import { TOPIC_CONFIGS } from "./topic-configs.js";

export interface SluiceBrokerConfigDefinition extends BrokerConfigDefinition {
  /** The value Sluice was started with, when a flag or option sets this config. */
  readonly fromFlags?: (config: BrokerConfig) => string | null;
}

/** A broker config that only gives a topic config its default: same type, validator and default as the topic's. */
function topicDefault(
  name: string,
  topicConfigName: string,
  documentation: string,
  overrides: Partial<SluiceBrokerConfigDefinition> = {},
): SluiceBrokerConfigDefinition {
  const topic = TOPIC_CONFIGS.get(topicConfigName)!;
  return {
    name,
    type: topic.type,
    defaultValue: topic.defaultValue,
    validator: topic.validator,
    updateMode: "cluster-wide",
    documentation,
    ...(topic.sluiceNote === undefined ? {} : { sluiceNote: topic.sluiceNote }),
    ...overrides,
  };
}

const WEEK_MS = 7 * 24 * 3_600_000;

/** Kafka leaves log.retention.ms and log.roll.ms unset and defaults their hours to a week; so does Sluice. */
function unlessWeek(ms: number): string | null {
  return ms === WEEK_MS ? null : String(ms);
}

/** Double.MAX_VALUE as Kafka prints it, the default of log.cleaner.io.max.bytes.per.second. */
const KAFKA_DOUBLE_MAX = "1.7976931348623157E308";

/** A double as Kafka's default would show it, so that the default set as a flag still reads as the default. */
function kafkaDouble(value: number): string {
  return value === Number.MAX_VALUE ? KAFKA_DOUBLE_MAX : String(value);
}

const RESTART = "Set by a flag of `sluice broker`; changing it needs a restart.";

export const BROKER_CONFIG_DEFINITIONS: readonly SluiceBrokerConfigDefinition[] = [
  {
    name: "allow.everyone.if.no.acl.found",
    type: "boolean",
    defaultValue: "false",
    validator: { kind: "none" },
    updateMode: "read-only",
    documentation: "Whether a resource that no ACL names is open to every principal when an authorizer is on.",
    fromFlags: (c) => (c.authorizer === null ? null : String(c.authorizer.allowEveryoneIfNoAclFound)),
  },
  {
    name: "authorizer.class.name",
    type: "string",
    defaultValue: "",
    validator: { kind: "none" },
    updateMode: "read-only",
    documentation: "The authorizer that enforces ACLs; empty means none, and every request is allowed.",
    sluiceNote: "Sluice's built-in authorizer is on when `sluice broker --super-users` is given.",
    fromFlags: (c) => (c.authorizer === null ? null : "sluice.StandardAuthorizer"),
  },
  {
    name: "auto.create.topics.enable",
    type: "boolean",
    defaultValue: "true",
    validator: { kind: "none" },
    updateMode: "read-only",
    documentation: "Whether a Metadata request or a produce for an unknown topic creates it with the defaults.",
    fromFlags: (c) => String(c.autoCreateTopics),
  },
  {
    name: "broker.id",
    type: "int",
    defaultValue: "-1",
    validator: { kind: "none" },
    updateMode: "read-only",
    documentation: "This broker's id in the cluster.",
    fromFlags: (c) => String(c.nodeId),
  },
  topicDefault("compression.gzip.level", "compression.gzip.level", "The default of the topic config of that name."),
  topicDefault("compression.lz4.level", "compression.lz4.level", "The default of the topic config of that name."),
  topicDefault(
    "compression.type",
    "compression.type",
    "The default codec topics store batches with; see the topic config.",
  ),
  topicDefault("compression.zstd.level", "compression.zstd.level", "The default of the topic config of that name."),
  {
    name: "default.replication.factor",
    type: "int",
    defaultValue: "1",
    validator: { kind: "none" },
    updateMode: "read-only",
    documentation: "The replication factor of topics created without one.",
    sluiceNote: "Always 1: Sluice runs one broker.",
  },
  {
    name: "delete.topic.enable",
    type: "boolean",
    defaultValue: "true",
    validator: { kind: "none" },
    updateMode: "read-only",
    documentation: "Whether DeleteTopics may delete topics.",
  },
  {
    name: "group.initial.rebalance.delay.ms",
    type: "int",
    defaultValue: "3000",
    validator: { kind: "none" },
    updateMode: "read-only",
    documentation: "How long the first rebalance of a new group waits for more members to join.",
    fromFlags: (c) => String(c.groupInitialRebalanceDelayMs),
  },
  {
    name: "group.max.session.timeout.ms",
    type: "int",
    defaultValue: "1800000",
    validator: { kind: "none" },
    updateMode: "read-only",
    documentation: "The longest session timeout a group member may ask for.",
    fromFlags: (c) => String(c.groupMaxSessionTimeoutMs),
  },
  {
    name: "group.min.session.timeout.ms",
    type: "int",
    defaultValue: "6000",
    validator: { kind: "none" },
    updateMode: "read-only",
    documentation: "The shortest session timeout a group member may ask for.",
    fromFlags: (c) => String(c.groupMinSessionTimeoutMs),
  },
  {
    name: "log.cleaner.backoff.ms",
    type: "long",
    defaultValue: "15000",
    validator: { kind: "range", min: "0" },
    updateMode: "read-only",
    documentation: "How long the log cleaner sleeps when no compacted log needs cleaning.",
    sluiceNote: "Set by startBroker's logCleanerBackoffMs option; changing it needs a restart.",
    fromFlags: (c) => String(c.logCleanerBackoffMs),
  },
  {
    name: "log.cleaner.dedupe.buffer.size",
    type: "long",
    defaultValue: "134217728",
    validator: { kind: "none" },
    updateMode: "read-only",
    documentation:
      "The most memory one cleaning may use for its map of keys to latest offsets (24 bytes a key); a log with more " +
      "dirty keys is cleaned in several passes.",
    sluiceNote:
      "Set by startBroker's logCleanerDedupeBufferBytes option; changing it needs a restart. The map is sized to " +
      "the dirty part of the log, up to this limit, for each cleaning.",
    fromFlags: (c) => String(c.logCleanerDedupeBufferBytes),
  },
  topicDefault("log.cleaner.delete.retention.ms", "delete.retention.ms", "The default of delete.retention.ms."),
  {
    name: "log.cleaner.io.max.bytes.per.second",
    type: "double",
    defaultValue: KAFKA_DOUBLE_MAX,
    validator: { kind: "none" },
    updateMode: "cluster-wide",
    documentation:
      "The log cleaner's I/O limit: the sum of the bytes it reads and writes stays at or below this rate a second.",
    sluiceNote:
      "Enforced by pausing the cleaning after each batch it reads or writes, so that the rate over each 300 ms window " +
      "stays at the limit; a change applies to a cleaning in progress, and 0 holds the cleaner until it is raised.",
    fromFlags: (c) => kafkaDouble(c.logCleanerIoBytesPerSecondMax),
  },
  topicDefault("log.cleaner.max.compaction.lag.ms", "max.compaction.lag.ms", "The default of max.compaction.lag.ms."),
  topicDefault(
    "log.cleaner.min.cleanable.ratio",
    "min.cleanable.dirty.ratio",
    "The default of min.cleanable.dirty.ratio.",
  ),
  topicDefault("log.cleaner.min.compaction.lag.ms", "min.compaction.lag.ms", "The default of min.compaction.lag.ms."),
  topicDefault("log.cleanup.policy", "cleanup.policy", "The default cleanup policy of topics; see cleanup.policy."),
  {
    name: "log.dirs",
    type: "string",
    defaultValue: null,
    validator: { kind: "none" },
    updateMode: "read-only",
    documentation: "The directories partition logs are kept in.",
    sluiceNote: "Sluice's --data-dir; null when the broker keeps everything in memory.",
    fromFlags: (c) => c.dataDir,
  },
  topicDefault("log.flush.interval.messages", "flush.messages", "The default of flush.messages."),
  topicDefault("log.flush.interval.ms", "flush.ms", "The default of flush.ms; when null, flushing is left to the OS.", {
    defaultValue: null,
  }),
  topicDefault("log.index.interval.bytes", "index.interval.bytes", "The default of index.interval.bytes."),
  topicDefault("log.index.size.max.bytes", "segment.index.bytes", "The default of segment.index.bytes."),
  topicDefault("log.local.retention.bytes", "local.retention.bytes", "The default of local.retention.bytes."),
  topicDefault("log.local.retention.ms", "local.retention.ms", "The default of local.retention.ms."),
  topicDefault(
    "log.message.downconversion.enable",
    "message.downconversion.enable",
    "The default of message.downconversion.enable.",
  ),
  topicDefault("log.message.format.version", "message.format.version", "The default of message.format.version.", {
    updateMode: "read-only",
  }),
  topicDefault(
    "log.message.timestamp.after.max.ms",
    "message.timestamp.after.max.ms",
    "The default of message.timestamp.after.max.ms.",
  ),
  topicDefault(
    "log.message.timestamp.before.max.ms",
    "message.timestamp.before.max.ms",
    "The default of message.timestamp.before.max.ms.",
  ),
  topicDefault(
    "log.message.timestamp.difference.max.ms",
    "message.timestamp.difference.max.ms",
    "The default of message.timestamp.difference.max.ms.",
  ),
  topicDefault(
    "log.message.timestamp.type",
    "message.timestamp.type",
    "The default of message.timestamp.type: CreateTime or LogAppendTime.",
  ),
  topicDefault("log.preallocate", "preallocate", "The default of preallocate."),
  topicDefault("log.retention.bytes", "retention.bytes", "The default of retention.bytes; -1 means no size limit.", {
    fromFlags: (c) => String(c.retentionBytes),
  }),
  {
    name: "log.retention.check.interval.ms",
    type: "long",
    defaultValue: "300000",
    validator: { kind: "range", min: "1" },
    updateMode: "read-only",
    documentation: "How often the broker looks for segments past their retention.",
    sluiceNote: RESTART,
    fromFlags: (c) => String(c.retentionCheckIntervalMs),
  },
  {
    name: "log.retention.hours",
    type: "int",
    defaultValue: "168",
    validator: { kind: "none" },
    updateMode: "read-only",
    documentation: "The default of retention.ms in hours, used when neither log.retention.ms nor the minutes are set.",
  },
  {
    name: "log.retention.minutes",
    type: "int",
    defaultValue: null,
    validator: { kind: "none" },
    updateMode: "read-only",
    documentation: "The default of retention.ms in minutes, used when log.retention.ms is not set.",
  },
  topicDefault(
    "log.retention.ms",
    "retention.ms",
    "The default of retention.ms; when null, log.retention.minutes or hours apply.",
    { defaultValue: null, fromFlags: (c) => unlessWeek(c.retentionMs) },
  ),
  {
    name: "log.roll.hours",
    type: "int",
    defaultValue: "168",
    validator: { kind: "range", min: "1" },
    updateMode: "read-only",
    documentation: "The default of segment.ms in hours, used when log.roll.ms is not set.",
  },
  {
    name: "log.roll.jitter.hours",
    type: "int",
    defaultValue: "0",
    validator: { kind: "range", min: "0" },
    updateMode: "read-only",
    documentation: "The default of segment.jitter.ms in hours, used when log.roll.jitter.ms is not set.",
  },
  topicDefault("log.roll.jitter.ms", "segment.jitter.ms", "The default of segment.jitter.ms.", { defaultValue: null }),
  topicDefault("log.roll.ms", "segment.ms", "The default of segment.ms; when null, log.roll.hours applies.", {
    defaultValue: null,
    fromFlags: (c) => unlessWeek(c.segmentMs),
  }),
  topicDefault("log.segment.bytes", "segment.bytes", "The default of segment.bytes.", {
    fromFlags: (c) => String(c.segmentBytesMax),
  }),
  topicDefault("log.segment.delete.delay.ms", "file.delete.delay.ms", "The default of file.delete.delay.ms."),
  {
    name: "max.connections",
    type: "int",
    defaultValue: INT_MAX_TEXT,
    validator: { kind: "range", min: "0" },
    updateMode: "read-only",
    documentation: "The most client connections the broker accepts at once.",
    sluiceNote: RESTART,
    fromFlags: (c) => String(c.connectionsMax),
  },
  topicDefault("message.max.bytes", "max.message.bytes", "The default of max.message.bytes.", {
    fromFlags: (c) => String(c.messageBytesMax),
  }),
  topicDefault("min.insync.replicas", "min.insync.replicas", "The default of min.insync.replicas."),
  {
    name: "node.id",
    type: "int",
    defaultValue: "-1",
    validator: { kind: "none" },
    updateMode: "read-only",
    documentation: "This node's id (the KRaft name of broker.id).",
    fromFlags: (c) => String(c.nodeId),
  },
  {
    name: "num.partitions",
    type: "int",
    defaultValue: "1",
    validator: { kind: "range", min: "1" },
    updateMode: "read-only",
    documentation: "The partition count of topics created without one (auto-created ones included).",
    fromFlags: (c) => String(c.defaultPartitions),
  },
  {
    name: "offset.metadata.max.bytes",
    type: "int",
    defaultValue: "4096",
    validator: { kind: "none" },
    updateMode: "read-only",
    documentation: "The longest metadata string a committed offset may carry.",
  },
  {
    name: "offsets.retention.check.interval.ms",
    type: "long",
    defaultValue: "600000",
    validator: { kind: "range", min: "1" },
    updateMode: "read-only",
    documentation: "How often the broker looks for committed offsets past their retention.",
    fromFlags: (c) => String(c.offsetsRetentionCheckIntervalMs),
  },
  {
    name: "offsets.retention.minutes",
    type: "int",
    defaultValue: "10080",
    validator: { kind: "range", min: "1" },
    updateMode: "read-only",
    documentation: "How long an empty group's committed offsets are kept.",
    fromFlags: (c) => String(Math.round(c.offsetsRetentionMs / 60_000)),
  },
  {
    name: "sasl.enabled.mechanisms",
    type: "list",
    defaultValue: "GSSAPI",
    validator: { kind: "none" },
    updateMode: "read-only",
    documentation: "The SASL mechanisms clients may authenticate with.",
    fromFlags: (c) => (c.sasl === null ? null : c.sasl.mechanisms.join(",")),
  },
  {
    name: "socket.request.max.bytes",
    type: "int",
    defaultValue: "104857600",
    validator: { kind: "range", min: "1" },
    updateMode: "read-only",
    documentation: "The largest request the broker reads; a bigger one closes the connection.",
    fromFlags: (c) => String(c.requestBytesMax),
  },
  {
    name: "super.users",
    type: "string",
    defaultValue: "",
    validator: { kind: "none" },
    updateMode: "read-only",
    documentation: "Principals (User:name, separated by semicolons) that every ACL check allows.",
    fromFlags: (c) => (c.authorizer === null ? null : c.authorizer.superUsers.join(";")),
  },
  {
    name: "transaction.abort.timed.out.transaction.cleanup.interval.ms",
    type: "int",
    defaultValue: "10000",
    validator: { kind: "range", min: "1" },
    updateMode: "read-only",
    documentation: "How often the transaction coordinator aborts transactions past their timeout.",
    fromFlags: (c) => String(c.transactionAbortCheckIntervalMs),
  },
  {
    name: "transaction.max.timeout.ms",
    type: "int",
    defaultValue: "900000",
    validator: { kind: "range", min: "1" },
    updateMode: "read-only",
    documentation:
      "The longest transaction timeout a producer may ask for; InitProducerId with a longer one is refused with " +
      "INVALID_TRANSACTION_TIMEOUT.",
    fromFlags: (c) => String(c.transactionMaxTimeoutMs),
  },
  {
    name: "transactional.id.expiration.ms",
    type: "int",
    defaultValue: "604800000",
    validator: { kind: "range", min: "1" },
    updateMode: "read-only",
    documentation:
      "How long the transaction coordinator keeps a transactional id that has had no transaction open or updated.",
    fromFlags: (c) => String(c.transactionalIdExpirationMs),
  },
  topicDefault(
    "unclean.leader.election.enable",
    "unclean.leader.election.enable",
    "The default of unclean.leader.election.enable.",
  ),
];

export const BROKER_CONFIGS: ReadonlyMap<string, SluiceBrokerConfigDefinition> = new Map(
  BROKER_CONFIG_DEFINITIONS.map((definition) => [definition.name, definition]),
);
