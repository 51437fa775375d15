// The inbox consumer's options: what a caller may set, the defaults and limits, and their resolution into the
// settings every part of the consumer (consumer.ts) reads.

import type { DatabaseSession } from "../store/database.js";
import { integerOption, resolveIntegers } from "../platform/options.js";
import { INBOX_TEXT_CHARS_MAX } from "../store/inbox.js";
import { consumerMetrics, type ConsumerMetrics } from "./consumer-metrics.js";
import { describeError, InvalidArgumentError } from "./errors.js";
import { EVENT_BYTES_MAX, type ConsumedEvent } from "./event.js";
import { PARTITIONS_CONCURRENTLY_MAX } from "./kafka/consumer.js";
import { silentLogger, type ToolkitLogger } from "./logger.js";
import { resolveRetryPolicy, retryTopicNames, type RetryOptions, type RetryPolicy } from "./retry.js";
import type { EventOf, TopicDefinition } from "./topic.js";
import type { Queryable } from "../store/database.js";
import type { TransportClient } from "./transports/transport.js";

/** Records processed between two offset commits of one partition, at most. */
export const COMMIT_RECORDS_MAX = 500;
/** Events of one partition handled in one database transaction, at most. */
export const EVENTS_PER_TRANSACTION_MAX = 100;
/** Handlers of one transaction's events running at once, at most (handlersAtOnce). */
export const HANDLERS_AT_ONCE_MAX = EVENTS_PER_TRANSACTION_MAX;
export const DEFAULT_INBOX_RETENTION_MS = 7 * 24 * 60 * 60 * 1000;
export const DEFAULT_INBOX_CLEANUP_INTERVAL_MS = 60_000;
export const INBOX_CLEANUP_BATCH_SIZE = 1_000;
/** Cleanup batches per run, so that one run after a long outage cannot hold the database for long. */
export const INBOX_CLEANUP_BATCHES_PER_RUN_MAX = 100;
/** A scrape within this long of the last lag reading reuses it: each reading is a few requests to the broker. */
export const DEFAULT_LAG_REFRESH_INTERVAL_MS = 5_000;
/** The first and the longest pause of a partition whose database or broker work failed, before trying again. */
export const DEFAULT_FAILURE_BACKOFF_BASE_MS = 100;
export const DEFAULT_FAILURE_BACKOFF_MAX_MS = 10_000;
export const DEFAULT_READY_TIMEOUT_MS = 30_000;
/** How long one handler call may take before it counts as failed (HandlerTimeoutError) and is retried. */
export const DEFAULT_HANDLER_TIMEOUT_MS = 60_000;
export const HANDLER_TIMEOUT_MS_MAX = 60 * 60 * 1000;
/** While handlers run, the group is told this often that the member is alive, so a slow handler keeps its place. */
export const HEARTBEAT_WHILE_HANDLING_MS = 1_000;
export const CONSUMER_TOPICS_MAX = 100;
export const CONSUMER_GROUP_ID_CHARS_MAX = INBOX_TEXT_CHARS_MAX;

/** The handler of a consumer: runs inside tx, and its writes commit with the event's inbox record. */
export type EventHandler<T> = (event: ConsumedEvent<T>, tx: Queryable) => Promise<void>;

/**
 * Handles the consecutive events of one partition that share a transaction (up to 100, in offset order, each once),
 * with set-based statements: one multi-row INSERT for all of them instead of one per event. Its writes commit with
 * the events' inbox records. When it throws, the transaction rolls back and the events run again one by one through
 * the consumer's handler, each in a savepoint, so that a failure is pinned on its own event (retried, or dead-lettered)
 * and the others are still processed: handler and groupHandler must do the same work. Outbox events it adds through
 * tx continue no trace unless given one (each event's is event.traceparent).
 */
export type GroupHandler<T> = (events: ReadonlyArray<ConsumedEvent<T>>, tx: Queryable) => Promise<void>;

/** Points where tests can make the consumer crash (see ConsumerHooks). */
export type ConsumerCrashPoint = "before-handler" | "after-handler" | "after-commit";

export interface ConsumerHookContext {
  point: ConsumerCrashPoint;
  eventId: string;
  topic: string;
  partition: number;
  offset: string;
}

/**
 * For crash tests. The hook runs at each point; when it throws, the consumer behaves as if its process died there:
 * the transaction in progress rolls back, no offset is committed, nothing more is processed, and the consumer
 * disconnects ("crashed" state). before-handler and after-handler run inside the transaction; after-commit runs
 * between the database commit and the offset commit.
 */
export interface ConsumerHooks {
  at?(context: ConsumerHookContext): void | Promise<void>;
}

export interface ConsumerOptions<D extends readonly TopicDefinition<unknown>[]> {
  /** The transport events come from: a Kafka client (createKafkaClient) or an AMQP one (createAmqpClient). */
  client: TransportClient;
  db: DatabaseSession;
  groupId: string;
  topics: D;
  handler: EventHandler<EventOf<D[number]>>;
  /** The same work as handler for a group of events at once (see GroupHandler); optional. */
  groupHandler?: GroupHandler<EventOf<D[number]>>;
  retry?: RetryOptions;
  /** Decides whether a handler error is worth retrying; NonRetriableError and EventValidationError never are. */
  isRetriable?: (error: Error) => boolean;
  /** Partitions handled at once (events of one partition are always handled one after another). Default 1. */
  concurrency?: number;
  /**
   * Handlers of one transaction's events (a partition's consecutive events) that may run at once, at most 100:
   * their statements then reach PostgreSQL together, pipelined on the transaction's connection, instead of a round
   * trip each. Events with the same key still run one after another, in order; events without a key count as keys
   * of their own. Their statements interleave in the one transaction, so use it only when handlers of different
   * keys neither read what another writes nor lock rows another needs. Default 1: one handler at a time.
   */
  handlersAtOnce?: number;
  /** Where a group with no committed offset starts: the earliest event (default) or only new ones. */
  fromBeginning?: boolean;
  /** How long inbox records are kept; a redelivery older than this would be processed again. */
  inboxRetentionMs?: number;
  /** Time between inbox cleanups; a cleanup that deleted nothing doubles the wait, up to 10 minutes. */
  inboxCleanupIntervalMs?: number;
  /** The lag gauge is read when the metrics are scraped, at most once per this interval. */
  lagRefreshIntervalMs?: number;
  failureBackoffMaxMs?: number;
  /** Events larger than this (key, value and headers) go to the dead-letter topic unread. */
  eventBytesMax?: number;
  /**
   * How long one handler call may run; past it the attempt fails with HandlerTimeoutError, its transaction is
   * rolled back (a statement still running is cancelled by the database) and the event is retried. Default 60 s.
   */
  handlerTimeoutMs?: number;
  /**
   * Also runs each handler inside runWithTraceparent(), so that everything it calls (a publisher's publish(), or
   * currentTraceparent()) continues the event's trace without being handed it. Off by default: on Node 22 it makes
   * every promise in the process track its context, which cost a busy consumer up to a fifth of its throughput (on
   * Node 24 it costs next to nothing).
   * Events added to the outbox through tx continue the trace either way.
   */
  asyncTraceContext?: boolean;
  /**
   * Lets other work of the process go first: each batch starts its transaction on a later turn of the event loop
   * (setImmediate), after the I/O already waiting, such as a latency-sensitive consumer's records that arrived at
   * the same moment. For consumers sharing one embedded database (PGlite), which runs one transaction at a time and
   * blocks the event loop while it does, so that the first consumer handed a record would otherwise delay every
   * other. Default false.
   */
  lowPriority?: boolean;
  /** Create missing topics (the declared ones, their retry topics and dead-letter topic) at start. Default true. */
  createTopics?: boolean;
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  rebalanceTimeoutMs?: number;
  fetchWaitMs?: number;
  logger?: ToolkitLogger;
  hooks?: ConsumerHooks;
  /** Random numbers in [0, 1) for backoff jitter; tests pass a seeded generator. */
  random?: () => number;
  /** The component's name in a service; default `consumer:<groupId>`. */
  name?: string;
}

/** Raised when a crash hook threw or kill() was called: the consumer stops where it is. */
export class SimulatedCrash extends Error {
  constructor(where: string, cause: unknown) {
    super(`crash ${where}: ${describeError(cause)}`, { cause });
    this.name = "SimulatedCrash";
  }
}

const invalidOption = (field: string, message: string): Error => new InvalidArgumentError(field, message);

/** A consumer's options, checked and with their defaults, and what follows from them. */
export interface ResolvedConsumer {
  groupId: string;
  /** The declared topics by name. */
  definitions: Map<string, TopicDefinition<unknown>>;
  policy: RetryPolicy;
  /** The retry topics of each declared topic, in tier order. */
  retryTopics: Map<string, readonly string[]>;
  /** The definition behind every topic read: the declared ones and their retry topics. */
  definitionOfTopic: Map<string, TopicDefinition<unknown>>;
  settings: {
    concurrency: number;
    handlersAtOnce: number;
    inboxRetentionMs: number;
    inboxCleanupIntervalMs: number;
    lagRefreshIntervalMs: number;
    handlerTimeoutMs: number;
    failureBackoffMaxMs: number;
    eventBytesMax: number;
  };
  logger: ToolkitLogger;
  random: () => number;
  isRetriableOption: ((error: Error) => boolean) | undefined;
  handler: EventHandler<unknown>;
  groupHandler: GroupHandler<unknown> | null;
  asyncTraceContext: boolean;
  lowPriority: boolean;
  db: DatabaseSession;
  client: TransportClient;
  metrics: ConsumerMetrics;
  /** The crash hook, turning its throw into a SimulatedCrash; null without a hook. */
  runHook: ((context: ConsumerHookContext) => Promise<void>) | null;
  options: ConsumerOptions<readonly TopicDefinition<unknown>[]>;
}

export function resolveConsumerOptions<const D extends readonly TopicDefinition<unknown>[]>(
  options: ConsumerOptions<D>,
): ResolvedConsumer {
  const dayMs = 24 * 60 * 60 * 1000;
  const groupId = options.groupId;
  if (typeof groupId !== "string" || groupId.length < 1 || groupId.length > CONSUMER_GROUP_ID_CHARS_MAX) {
    throw new InvalidArgumentError("groupId", `must be 1 to ${CONSUMER_GROUP_ID_CHARS_MAX} characters`);
  }
  if (!Array.isArray(options.topics) || options.topics.length < 1 || options.topics.length > CONSUMER_TOPICS_MAX) {
    throw new InvalidArgumentError("topics", `must list 1 to ${CONSUMER_TOPICS_MAX} topic definitions`);
  }
  if (typeof options.handler !== "function") {
    throw new InvalidArgumentError("handler", "must be an async function (event, tx) => …");
  }
  if (options.groupHandler !== undefined && typeof options.groupHandler !== "function") {
    throw new InvalidArgumentError("groupHandler", "must be an async function (events, tx) => …");
  }
  const definitions = new Map<string, TopicDefinition<unknown>>();
  for (const definition of options.topics) {
    if (definitions.has(definition.name)) {
      throw new InvalidArgumentError("topics", `lists topic "${definition.name}" twice`);
    }
    definitions.set(definition.name, definition);
  }
  const policy: RetryPolicy = resolveRetryPolicy(options.retry);
  const retryTopics = new Map<string, readonly string[]>();
  const definitionOfTopic = new Map<string, TopicDefinition<unknown>>();
  for (const [name, definition] of definitions) {
    const tiers = retryTopicNames(name, policy);
    retryTopics.set(name, tiers);
    definitionOfTopic.set(name, definition);
    for (const tier of tiers) definitionOfTopic.set(tier, definition);
  }
  const settings = resolveIntegers(
    {
      concurrency: integerOption(1, 1, PARTITIONS_CONCURRENTLY_MAX),
      handlersAtOnce: integerOption(1, 1, HANDLERS_AT_ONCE_MAX),
      inboxRetentionMs: integerOption(DEFAULT_INBOX_RETENTION_MS, 0, 365 * dayMs),
      inboxCleanupIntervalMs: integerOption(DEFAULT_INBOX_CLEANUP_INTERVAL_MS, 1, dayMs),
      lagRefreshIntervalMs: integerOption(DEFAULT_LAG_REFRESH_INTERVAL_MS, 1, dayMs),
      handlerTimeoutMs: integerOption(DEFAULT_HANDLER_TIMEOUT_MS, 1, HANDLER_TIMEOUT_MS_MAX),
      failureBackoffMaxMs: integerOption(DEFAULT_FAILURE_BACKOFF_MAX_MS, DEFAULT_FAILURE_BACKOFF_BASE_MS, dayMs),
      eventBytesMax: integerOption(EVENT_BYTES_MAX, 1, 1024 * 1024 * 1024),
    },
    options,
    invalidOption,
  );
  const logger = options.logger ?? silentLogger;
  const random = options.random ?? Math.random;
  const isRetriableOption = options.isRetriable;
  const handler = options.handler as EventHandler<unknown>;
  const groupHandler = (options.groupHandler ?? null) as GroupHandler<unknown> | null;
  const asyncTraceContext = options.asyncTraceContext === true;
  const lowPriority = options.lowPriority === true;
  const db = options.db;
  const client = options.client;
  const metrics: ConsumerMetrics = consumerMetrics();

  // Null without a hook, so that callers skip building a hook's context, which would cost every event a few
  // allocations.
  const at = options.hooks?.at;
  const runHook =
    at === undefined
      ? null
      : async (context: ConsumerHookContext): Promise<void> => {
          try {
            await at(context);
          } catch (error) {
            throw new SimulatedCrash(`hook at ${context.point}`, error);
          }
        };

  return {
    groupId,
    definitions,
    policy,
    retryTopics,
    definitionOfTopic,
    settings,
    logger,
    random,
    isRetriableOption,
    handler,
    groupHandler,
    asyncTraceContext,
    lowPriority,
    db,
    client,
    metrics,
    runHook,
    options: options as unknown as ConsumerOptions<readonly TopicDefinition<unknown>[]>,
  };
}
