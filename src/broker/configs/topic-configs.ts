// Every topic config of Kafka 3.9, as data: name, type, default, validator, the broker configs it falls back to,
// and what it does, in Sluice's words. Values that pass Kafka's validator are accepted and stored; sluiceNote says
// where Sluice does not (yet) act on a stored value the way Kafka does.

import { LONG_MAX_TEXT, type TopicConfigDefinition } from "./definition.js";

const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;
const NOT_REPLICATED =
  "Sluice runs one broker, so there is nothing to replicate or throttle; the value is stored only.";
const NO_TIERED_STORAGE = "Sluice has no tiered storage; the value is stored only.";

export const TOPIC_CONFIG_DEFINITIONS: readonly TopicConfigDefinition[] = [
  {
    name: "cleanup.policy",
    type: "list",
    defaultValue: "delete",
    validator: { kind: "list-of", values: ["compact", "delete"] },
    brokerSynonyms: [{ name: "log.cleanup.policy" }],
    documentation:
      'How old log segments are disposed of: "delete" removes segments past the retention time or size, "compact" ' +
      "keeps at least the latest record of every key; both may be given.",
    sluiceNote:
      "Segments are deleted by retention when the policy includes delete. With compact, the log cleaner keeps the " +
      "latest record of every key in the sealed segments; transactional batches are kept whole.",
  },
  {
    name: "compression.gzip.level",
    type: "int",
    defaultValue: "-1",
    validator: { kind: "range-or", min: "1", max: "9", or: "-1" },
    brokerSynonyms: [{ name: "compression.gzip.level" }],
    documentation: "The gzip level used when the broker compresses this topic's batches with gzip.",
    sluiceNote: "Batches are stored as the producer compressed them, so the level is stored only.",
  },
  {
    name: "compression.lz4.level",
    type: "int",
    defaultValue: "9",
    validator: { kind: "range", min: "1", max: "17" },
    brokerSynonyms: [{ name: "compression.lz4.level" }],
    documentation: "The lz4 level used when the broker compresses this topic's batches with lz4.",
    sluiceNote: "Batches are stored as the producer compressed them, so the level is stored only.",
  },
  {
    name: "compression.type",
    type: "string",
    defaultValue: "producer",
    validator: { kind: "one-of", values: ["uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"] },
    brokerSynonyms: [{ name: "compression.type" }],
    documentation:
      'The codec this topic\'s batches are stored with; "producer" keeps whatever codec the producer used, ' +
      '"uncompressed" stores them uncompressed.',
    sluiceNote: "Batches are stored as the producer compressed them whatever the value; consumers see no difference.",
  },
  {
    name: "compression.zstd.level",
    type: "int",
    defaultValue: "3",
    validator: { kind: "range", min: "-131072", max: "22" },
    brokerSynonyms: [{ name: "compression.zstd.level" }],
    documentation: "The zstd level used when the broker compresses this topic's batches with zstd.",
    sluiceNote: "Batches are stored as the producer compressed them, so the level is stored only.",
  },
  {
    name: "delete.retention.ms",
    type: "long",
    defaultValue: "86400000",
    validator: { kind: "range", min: "0" },
    brokerSynonyms: [{ name: "log.cleaner.delete.retention.ms" }],
    documentation:
      "On a compacted topic, how long a tombstone (a record with a null value) stays readable after compaction " +
      "reaches it, so that consumers catching up still see the deletion.",
    sluiceNote: "Applied by the log cleaner: the horizon is stored in the tombstone's batch, as in Kafka.",
  },
  {
    name: "file.delete.delay.ms",
    type: "long",
    defaultValue: "60000",
    validator: { kind: "range", min: "0" },
    brokerSynonyms: [{ name: "log.segment.delete.delay.ms" }],
    documentation: "How long a segment the log no longer needs waits before its file is removed from disk.",
    sluiceNote: "Sluice removes a retired segment's files at once; the value is stored only.",
  },
  {
    name: "flush.messages",
    type: "long",
    defaultValue: LONG_MAX_TEXT,
    validator: { kind: "range", min: "1" },
    brokerSynonyms: [{ name: "log.flush.interval.messages" }],
    documentation: "Forces an fsync of the log after this many records; the default leaves flushing to the OS.",
    sluiceNote: "Sluice fsyncs by its --flush setting (before acks=all answers by default); the value is stored only.",
  },
  {
    name: "flush.ms",
    type: "long",
    defaultValue: LONG_MAX_TEXT,
    validator: { kind: "range", min: "0" },
    brokerSynonyms: [{ name: "log.flush.interval.ms" }],
    documentation: "Forces an fsync of the log when this long has passed since the last one.",
    sluiceNote: "Sluice fsyncs by its --flush setting (before acks=all answers by default); the value is stored only.",
  },
  {
    name: "follower.replication.throttled.replicas",
    type: "list",
    defaultValue: "",
    validator: { kind: "throttled-replicas" },
    brokerSynonyms: [],
    documentation: 'Replicas (partition:broker pairs, or "*") whose follower-side replication is throttled.',
    sluiceNote: NOT_REPLICATED,
  },
  {
    name: "index.interval.bytes",
    type: "int",
    defaultValue: "4096",
    validator: { kind: "range", min: "0" },
    brokerSynonyms: [{ name: "log.index.interval.bytes" }],
    documentation: "How many bytes of records lie between two entries of the offset index.",
    sluiceNote: "Sluice indexes every batch; the value is stored only.",
  },
  {
    name: "leader.replication.throttled.replicas",
    type: "list",
    defaultValue: "",
    validator: { kind: "throttled-replicas" },
    brokerSynonyms: [],
    documentation: 'Replicas (partition:broker pairs, or "*") whose leader-side replication is throttled.',
    sluiceNote: NOT_REPLICATED,
  },
  {
    name: "local.retention.bytes",
    type: "long",
    defaultValue: "-2",
    validator: { kind: "range", min: "-2" },
    brokerSynonyms: [{ name: "log.local.retention.bytes" }],
    documentation:
      "With tiered storage, the size of the part of a partition kept on local disk; -2 means retention.bytes.",
    sluiceNote: NO_TIERED_STORAGE,
  },
  {
    name: "local.retention.ms",
    type: "long",
    defaultValue: "-2",
    validator: { kind: "range", min: "-2" },
    brokerSynonyms: [{ name: "log.local.retention.ms" }],
    documentation: "With tiered storage, how long segments stay on local disk; -2 means retention.ms.",
    sluiceNote: NO_TIERED_STORAGE,
  },
  {
    name: "max.compaction.lag.ms",
    type: "long",
    defaultValue: LONG_MAX_TEXT,
    validator: { kind: "range", min: "1" },
    brokerSynonyms: [{ name: "log.cleaner.max.compaction.lag.ms" }],
    documentation: "The longest a record may stay uncompacted on a compacted topic.",
    sluiceNote: "Applied by the log cleaner, measured from when the first dirty segment began.",
  },
  {
    name: "max.message.bytes",
    type: "int",
    defaultValue: "1048588",
    validator: { kind: "range", min: "0" },
    brokerSynonyms: [{ name: "message.max.bytes" }],
    documentation: "The largest record batch, after compression, that a producer may append to this topic.",
  },
  {
    name: "message.downconversion.enable",
    type: "boolean",
    defaultValue: "true",
    validator: { kind: "none" },
    brokerSynonyms: [{ name: "log.message.downconversion.enable" }],
    documentation: "Whether the broker converts batches to an older message format for consumers that need it.",
    sluiceNote: "Sluice serves only message format v2 (Fetch v4 and later); the value is stored only.",
  },
  {
    name: "message.format.version",
    type: "string",
    defaultValue: "3.0-IV1",
    validator: { kind: "none" },
    brokerSynonyms: [{ name: "log.message.format.version" }],
    documentation: "Deprecated: the message format version to store batches in; ignored from Kafka 3.0 on.",
    sluiceNote: "Ignored, as in Kafka 3.x: batches are stored in format v2.",
  },
  {
    name: "message.timestamp.after.max.ms",
    type: "long",
    defaultValue: LONG_MAX_TEXT,
    validator: { kind: "range", min: "0" },
    brokerSynonyms: [{ name: "log.message.timestamp.after.max.ms" }],
    documentation: "How far in the future a CreateTime timestamp may be, relative to the broker's clock.",
    sluiceNote: "Not checked yet; the value is stored only.",
  },
  {
    name: "message.timestamp.before.max.ms",
    type: "long",
    defaultValue: LONG_MAX_TEXT,
    validator: { kind: "range", min: "0" },
    brokerSynonyms: [{ name: "log.message.timestamp.before.max.ms" }],
    documentation: "How far in the past a CreateTime timestamp may be, relative to the broker's clock.",
    sluiceNote: "Not checked yet; the value is stored only.",
  },
  {
    name: "message.timestamp.difference.max.ms",
    type: "long",
    defaultValue: LONG_MAX_TEXT,
    validator: { kind: "range", min: "0" },
    brokerSynonyms: [{ name: "log.message.timestamp.difference.max.ms" }],
    documentation:
      "Deprecated in favour of the before/after limits: how far a CreateTime timestamp may be from the broker's clock.",
    sluiceNote: "Not checked yet; the value is stored only.",
  },
  {
    name: "message.timestamp.type",
    type: "string",
    defaultValue: "CreateTime",
    validator: { kind: "one-of", values: ["CreateTime", "LogAppendTime"] },
    brokerSynonyms: [{ name: "log.message.timestamp.type" }],
    documentation:
      "Whether records keep the producer's timestamp (CreateTime) or get the broker's clock on append (LogAppendTime).",
  },
  {
    name: "min.cleanable.dirty.ratio",
    type: "double",
    defaultValue: "0.5",
    validator: { kind: "range", min: "0", max: "1" },
    brokerSynonyms: [{ name: "log.cleaner.min.cleanable.ratio" }],
    documentation: "The share of a compacted log not yet compacted at which compaction of it starts.",
  },
  {
    name: "min.compaction.lag.ms",
    type: "long",
    defaultValue: "0",
    validator: { kind: "range", min: "0" },
    brokerSynonyms: [{ name: "log.cleaner.min.compaction.lag.ms" }],
    documentation: "The shortest time a record stays uncompacted on a compacted topic.",
    sluiceNote: "Applied by the log cleaner, by the newest timestamp of each sealed segment.",
  },
  {
    name: "min.insync.replicas",
    type: "int",
    defaultValue: "1",
    validator: { kind: "range", min: "1" },
    brokerSynonyms: [{ name: "min.insync.replicas" }],
    documentation:
      "How many replicas must hold a batch before a producer asking for acks=all gets its answer; with fewer in " +
      "sync the produce fails with NOT_ENOUGH_REPLICAS.",
    sluiceNote: "Every partition has one replica, so a value above 1 makes acks=all produces fail, as in Kafka.",
  },
  {
    name: "preallocate",
    type: "boolean",
    defaultValue: "false",
    validator: { kind: "none" },
    brokerSynonyms: [{ name: "log.preallocate" }],
    documentation: "Whether a new segment's file is allocated at its full size when it is created.",
    sluiceNote: "Stored only.",
  },
  {
    name: "remote.log.copy.disable",
    type: "boolean",
    defaultValue: "false",
    validator: { kind: "none" },
    brokerSynonyms: [],
    documentation: "With tiered storage, stops copying new segments to remote storage while keeping what is there.",
    sluiceNote: NO_TIERED_STORAGE,
  },
  {
    name: "remote.log.delete.on.disable",
    type: "boolean",
    defaultValue: "false",
    validator: { kind: "none" },
    brokerSynonyms: [],
    documentation: "With tiered storage, whether turning it off for the topic deletes the remote segments.",
    sluiceNote: NO_TIERED_STORAGE,
  },
  {
    name: "remote.storage.enable",
    type: "boolean",
    defaultValue: "false",
    validator: { kind: "none" },
    brokerSynonyms: [],
    documentation: "Whether this topic uses tiered storage.",
    sluiceNote: NO_TIERED_STORAGE,
  },
  {
    name: "retention.bytes",
    type: "long",
    defaultValue: "-1",
    validator: { kind: "none" },
    brokerSynonyms: [{ name: "log.retention.bytes" }],
    documentation:
      "The size a partition may reach before its oldest segments are deleted (with the delete policy); -1 means " +
      "no size limit.",
  },
  {
    name: "retention.ms",
    type: "long",
    defaultValue: "604800000",
    validator: { kind: "range", min: "-1" },
    brokerSynonyms: [
      { name: "log.retention.ms" },
      { name: "log.retention.minutes", factor: MINUTE_MS },
      { name: "log.retention.hours", factor: HOUR_MS },
    ],
    documentation:
      "How long a segment is kept after its newest record's timestamp before it is deleted (with the delete " +
      "policy); -1 means no time limit.",
  },
  {
    name: "segment.bytes",
    type: "int",
    defaultValue: "1073741824",
    validator: { kind: "range", min: "14" },
    brokerSynonyms: [{ name: "log.segment.bytes" }],
    documentation: "The size at which a partition's active segment is closed and a new one started.",
  },
  {
    name: "segment.index.bytes",
    type: "int",
    defaultValue: "10485760",
    validator: { kind: "range", min: "4" },
    brokerSynonyms: [{ name: "log.index.size.max.bytes" }],
    documentation: "The largest size of a segment's offset index.",
    sluiceNote: "Sluice sizes its indexes by the segment's batches; the value is stored only.",
  },
  {
    name: "segment.jitter.ms",
    type: "long",
    defaultValue: "0",
    validator: { kind: "range", min: "0" },
    brokerSynonyms: [{ name: "log.roll.jitter.ms" }, { name: "log.roll.jitter.hours", factor: HOUR_MS }],
    documentation: "A random amount, up to this, subtracted from segment.ms so that segments do not all roll at once.",
    sluiceNote: "Stored only: segments roll at exactly segment.ms.",
  },
  {
    name: "segment.ms",
    type: "long",
    defaultValue: "604800000",
    validator: { kind: "range", min: "1" },
    brokerSynonyms: [{ name: "log.roll.ms" }, { name: "log.roll.hours", factor: HOUR_MS }],
    documentation:
      "How long after its first record a segment is closed and a new one started, so that retention can delete it.",
  },
  {
    name: "unclean.leader.election.enable",
    type: "boolean",
    defaultValue: "false",
    validator: { kind: "none" },
    brokerSynonyms: [{ name: "unclean.leader.election.enable" }],
    documentation: "Whether a replica that is not in sync may become leader, at the cost of losing records.",
    sluiceNote: NOT_REPLICATED,
  },
];

export const TOPIC_CONFIGS: ReadonlyMap<string, TopicConfigDefinition> = new Map(
  TOPIC_CONFIG_DEFINITIONS.map((definition) => [definition.name, definition]),
);
