// Broker configuration: every limit has a name with its unit last and a named default.

export const DEFAULT_PORT = 9092;
export const REQUEST_BYTES_MAX = 100 * 1024 * 1024;
export const MESSAGE_BYTES_MAX = 1024 * 1024;
export const CONNECTIONS_MAX = 1000;
export const IN_FLIGHT_REQUESTS_MAX = 100;
export const DEFAULT_PARTITIONS = 1;
export const SEGMENT_BYTES_MAX = 1024 * 1024 * 1024;
export const SEGMENT_MS = 7 * 24 * 60 * 60 * 1000;
export const RETENTION_MS = 7 * 24 * 60 * 60 * 1000;
export const RETENTION_CHECK_INTERVAL_MS = 60_000;
/** Kafka's log.cleaner.dedupe.buffer.size: the most memory one cleaning's offset map may take. */
export const LOG_CLEANER_DEDUPE_BUFFER_BYTES = 134_217_728;
/**
 * The old-generation heap the log cleaner's worker thread may use, beyond its key map (the dedupe buffer, held
 * outside the heap): past it the worker stops with an out-of-memory error, the cleaning fails and is retried.
 */
export const LOG_CLEANER_WORKER_HEAP_MB = 64;
/**
 * The nice value of the log cleaner's worker thread (Linux; 0 leaves it as the broker's): a cleaner that would take
 * the core a request is about to run on gives it up at once, so that compaction slows down rather than produce.
 */
export const LOG_CLEANER_THREAD_NICE = 10;
/**
 * Kafka's log.cleaner.io.max.bytes.per.second, Double.MAX_VALUE: the cleaner's reads and writes are not throttled
 * unless a lower limit is set (at start, or at run time through IncrementalAlterConfigs).
 */
export const LOG_CLEANER_IO_BYTES_PER_SECOND_MAX = Number.MAX_VALUE;
/** Kafka's log.cleaner.backoff.ms: how long the cleaner sleeps when no log needs cleaning. */
export const LOG_CLEANER_BACKOFF_MS = 15_000;
export const GROUP_MIN_SESSION_TIMEOUT_MS = 6_000;
export const GROUP_MAX_SESSION_TIMEOUT_MS = 1_800_000;
export const GROUP_INITIAL_REBALANCE_DELAY_MS = 0;
export const FETCH_MAX_WAIT_MS_MAX = 30_000;
/** Kafka's offsets.retention.minutes (7 days): how long an empty group's committed offsets outlive it. */
export const OFFSETS_RETENTION_MS = 7 * 24 * 60 * 60 * 1000;
/** Kafka's offsets.retention.check.interval.ms. */
export const OFFSETS_RETENTION_CHECK_INTERVAL_MS = 600_000;

/** Kafka's transaction.max.timeout.ms: the longest transaction timeout a producer may ask for. */
export const TRANSACTION_MAX_TIMEOUT_MS = 900_000;
/** Kafka's transaction.abort.timed.out.transaction.cleanup.interval.ms: how often timed-out transactions are aborted. */
export const TRANSACTION_ABORT_CHECK_INTERVAL_MS = 10_000;
/** Kafka's transactional.id.expiration.ms: a transactional id unused this long (with nothing open) is forgotten. */
export const TRANSACTIONAL_ID_EXPIRATION_MS = 7 * 24 * 60 * 60 * 1000;

export type FlushMode = { kind: "always" } | { kind: "interval"; intervalMs: number };

export type SaslMechanism = "PLAIN" | "SCRAM-SHA-256" | "SCRAM-SHA-512";

export interface BrokerConfig {
  /** Address to listen on. */
  host: string;
  /** Port to listen on; 0 picks a free one. */
  port: number;
  /** Host and port written into Metadata and FindCoordinator; defaults to the listening address. */
  advertisedHost: string | null;
  advertisedPort: number | null;
  nodeId: number;
  clusterId: string;
  /** Where logs and state live; null keeps everything in memory (for tests). */
  dataDir: string | null;
  flush: FlushMode;
  requestBytesMax: number;
  messageBytesMax: number;
  connectionsMax: number;
  inFlightRequestsMax: number;
  autoCreateTopics: boolean;
  defaultPartitions: number;
  segmentBytesMax: number;
  segmentMs: number;
  retentionMs: number;
  retentionBytes: number;
  retentionCheckIntervalMs: number;
  /** The most memory one cleaning of a compacted log may use for its key map (log.cleaner.dedupe.buffer.size). */
  logCleanerDedupeBufferBytes: number;
  /** How often the log cleaner looks for compacted logs to clean (log.cleaner.backoff.ms). */
  logCleanerBackoffMs: number;
  /** The nice value of the log cleaner's worker thread on Linux; 0 runs it at the broker's priority. */
  logCleanerThreadNice: number;
  /** The most bytes a second the log cleaner reads and writes (log.cleaner.io.max.bytes.per.second). */
  logCleanerIoBytesPerSecondMax: number;
  groupMinSessionTimeoutMs: number;
  groupMaxSessionTimeoutMs: number;
  groupInitialRebalanceDelayMs: number;
  /**
   * Committed offsets expire this long after their group became empty (or, for offsets committed without joining
   * a group, after the commit); offsets of a topic an active group no longer subscribes to expire this long after
   * their commit. A group left with no offsets and no members is deleted.
   */
  offsetsRetentionMs: number;
  offsetsRetentionCheckIntervalMs: number;
  transactionMaxTimeoutMs: number;
  /** How often transactions past their timeout are looked for and aborted. */
  transactionAbortCheckIntervalMs: number;
  transactionalIdExpirationMs: number;
  sasl: { mechanisms: SaslMechanism[]; users: Record<string, string> } | null;
  tls: { key: string | Buffer; cert: string | Buffer; ca?: string | Buffer } | null;
  /**
   * ACLs are enforced when set, as with Kafka's authorizer.class.name: superUsers (principals such as User:admin)
   * pass every check, and a resource no ACL names is open only with allowEveryoneIfNoAclFound.
   */
  authorizer: { superUsers: string[]; allowEveryoneIfNoAclFound: boolean } | null;
}

export function defaultBrokerConfig(): BrokerConfig {
  return {
    host: "127.0.0.1",
    port: DEFAULT_PORT,
    advertisedHost: null,
    advertisedPort: null,
    nodeId: 1,
    clusterId: "sluice-cluster",
    dataDir: null,
    flush: { kind: "always" },
    requestBytesMax: REQUEST_BYTES_MAX,
    messageBytesMax: MESSAGE_BYTES_MAX,
    connectionsMax: CONNECTIONS_MAX,
    inFlightRequestsMax: IN_FLIGHT_REQUESTS_MAX,
    autoCreateTopics: true,
    defaultPartitions: DEFAULT_PARTITIONS,
    segmentBytesMax: SEGMENT_BYTES_MAX,
    segmentMs: SEGMENT_MS,
    retentionMs: RETENTION_MS,
    retentionBytes: -1,
    retentionCheckIntervalMs: RETENTION_CHECK_INTERVAL_MS,
    logCleanerDedupeBufferBytes: LOG_CLEANER_DEDUPE_BUFFER_BYTES,
    logCleanerBackoffMs: LOG_CLEANER_BACKOFF_MS,
    logCleanerThreadNice: LOG_CLEANER_THREAD_NICE,
    logCleanerIoBytesPerSecondMax: LOG_CLEANER_IO_BYTES_PER_SECOND_MAX,
    groupMinSessionTimeoutMs: GROUP_MIN_SESSION_TIMEOUT_MS,
    groupMaxSessionTimeoutMs: GROUP_MAX_SESSION_TIMEOUT_MS,
    groupInitialRebalanceDelayMs: GROUP_INITIAL_REBALANCE_DELAY_MS,
    offsetsRetentionMs: OFFSETS_RETENTION_MS,
    offsetsRetentionCheckIntervalMs: OFFSETS_RETENTION_CHECK_INTERVAL_MS,
    transactionMaxTimeoutMs: TRANSACTION_MAX_TIMEOUT_MS,
    transactionAbortCheckIntervalMs: TRANSACTION_ABORT_CHECK_INTERVAL_MS,
    transactionalIdExpirationMs: TRANSACTIONAL_ID_EXPIRATION_MS,
    sasl: null,
    tls: null,
    authorizer: null,
  };
}
