// The idempotent (inbox) consumer: a consumer-group member that hands each event to a handler together with a
// database transaction. The inbox record saying "this group processed this event id" is written in that same
// transaction, so the handler's writes and the record commit together or not at all, and a redelivered event finds
// its record and is skipped. The Kafka offset is committed only after the transaction, so a crash at any point
// leads to a redelivery, never to a lost event: processing into PostgreSQL is effectively once.
//
// Per record: read the retry headers (records from retry topics) and decode and validate the value (an unreadable
// event goes to the dead-letter topic at once). Consecutive events of a partition then share one transaction: one
// statement records them in the inbox (those already there are skipped), and the handlers run one after another,
// each in a span of its event's trace. When a handler fails, the group is rolled back and run again with a savepoint
// per event, so that only the failed event's work is lost. After the commit, each failed event goes to a
// retry topic (see retry.ts for why retry topics) or, after the last attempt or for a non-retriable error, to
// `<topic>.dlt`; then the offset is committed. When the database or the broker fail (not the handler), the
// partition is paused for a backoff and the same record is tried again: nothing is skipped.

import type { DatabaseSession, Queryable } from "../store/database.js";
import { StoreError, StoreErrorCode } from "../store/errors.js";
import { execute, statementTimeoutForTransaction } from "../store/sql/statement.js";
import { AttemptQueryable } from "./attempt-queryable.js";
import {
  deleteInboxEventsBefore,
  forgetInboxEvents,
  INBOX_TEXT_CHARS_MAX,
  recordInboxEvent,
  recordInboxEvents,
} from "../store/inbox.js";
import { refreshConsumerLag, consumerMetrics, type ConsumerMetrics, type PartitionLag } from "./consumer-metrics.js";
import { DEAD_LETTER_HEADERS, deadLetterHeaders, deadLetterTopicName, type DeadLetterReason } from "./dead-letter.js";
import {
  EventTooLargeError,
  EventDecodeError,
  EventValidationError,
  InvalidArgumentError,
  PublishError,
  ToolkitError,
  ToolkitErrorCode,
  UnknownTopicError,
  describeError,
} from "./errors.js";
import {
  EVENT_BYTES_MAX,
  EVENT_HEADERS,
  readEventHeaders,
  recordBytes,
  type ConsumedEvent,
  type EventHeaderValues,
} from "./event.js";
import type { KafkaAdmin } from "./kafka/admin.js";
import type { KafkaClient } from "./kafka/connection.js";
import {
  createKafkaConsumer,
  PARTITIONS_CONCURRENTLY_MAX,
  type ConsumerRecord,
  type KafkaConsumer,
  type PartitionBatch,
} from "./kafka/consumer.js";
import type { KafkaProducer, ProducerRecord } from "./kafka/producer.js";
import { silentLogger, type ToolkitLogger } from "./logger.js";
import {
  backoffDelayMs,
  HandlerTimeoutError,
  errorSummary,
  NonRetriableError,
  parseRetryHeaders,
  resolveRetryPolicy,
  retryHeaders,
  retryTierOf,
  retryTopicName,
  retryTopicNames,
  toError,
  withoutRetryHeaders,
  type RetryOptions,
  type RetryPolicy,
} from "./retry.js";
import { serializerFor } from "./serializer.js";
import type { Component } from "./service.js";
import type { EventOf, TopicDefinition } from "./topic.js";
import { childTraceparent, runWithTraceparent } from "./tracing.js";

/** Records processed between two offset commits of one partition, at most. */
export const COMMIT_RECORDS_MAX = 500;
/** Events of one partition handled in one database transaction, at most. */
export const EVENTS_PER_TRANSACTION_MAX = 100;
export const DEFAULT_INBOX_RETENTION_MS = 7 * 24 * 60 * 60 * 1000;
export const DEFAULT_INBOX_CLEANUP_INTERVAL_MS = 60_000;
export const INBOX_CLEANUP_BATCH_SIZE = 1_000;
/** Cleanup batches per run, so that one run after a long outage cannot hold the database for long. */
export const INBOX_CLEANUP_BATCHES_PER_RUN_MAX = 100;
export const DEFAULT_LAG_REFRESH_INTERVAL_MS = 15_000;
/** The first and the longest pause of a partition whose database or broker work failed, before trying again. */
export const DEFAULT_FAILURE_BACKOFF_BASE_MS = 100;
export const DEFAULT_FAILURE_BACKOFF_MAX_MS = 10_000;
export const DEFAULT_READY_TIMEOUT_MS = 30_000;
/** How long one handler call may take before it counts as failed (HandlerTimeoutError) and is retried. */
export const DEFAULT_HANDLER_TIMEOUT_MS = 60_000;
export const HANDLER_TIMEOUT_MS_MAX = 60 * 60 * 1000;
/** While handlers run, the group is told this often that the member is alive, so a slow handler keeps its place. */
const HEARTBEAT_WHILE_HANDLING_MS = 1_000;
export const CONSUMER_TOPICS_MAX = 100;
export const CONSUMER_GROUP_ID_CHARS_MAX = INBOX_TEXT_CHARS_MAX;

/** The handler of a consumer: runs inside tx, and its writes commit with the event's inbox record. */
export type EventHandler<T> = (event: ConsumedEvent<T>, tx: Queryable) => Promise<void>;

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
  client: KafkaClient;
  db: DatabaseSession;
  groupId: string;
  topics: D;
  handler: EventHandler<EventOf<D[number]>>;
  retry?: RetryOptions;
  /** Decides whether a handler error is worth retrying; NonRetriableError and EventValidationError never are. */
  isRetriable?: (error: Error) => boolean;
  /** Partitions handled at once (events of one partition are always handled one after another). Default 1. */
  concurrency?: number;
  /** Where a group with no committed offset starts: the earliest event (default) or only new ones. */
  fromBeginning?: boolean;
  /** How long inbox records are kept; a redelivery older than this would be processed again. */
  inboxRetentionMs?: number;
  inboxCleanupIntervalMs?: number;
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
   * currentTraceparent()) continues the event's trace without being handed it. Off by default: on Node 20 it makes
   * every promise in the process track its context, which cost a busy consumer up to a fifth of its throughput.
   * Events added to the outbox through tx continue the trace either way.
   */
  asyncTraceContext?: boolean;
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

export type ConsumerState = "created" | "starting" | "running" | "stopping" | "stopped" | "crashed";

export interface InboxConsumer extends Component {
  readonly groupId: string;
  readonly state: ConsumerState;
  /** The retry topics this consumer reads for each of its topics, in tier order. */
  readonly retryTopics: ReadonlyMap<string, readonly string[]>;
  /** Resolves once the member has joined its group; rejects after timeoutMs or when it stops first. */
  whenReady(timeoutMs?: number): Promise<void>;
  /** Resolves when the consumer has stopped or crashed and released its connections. */
  whenStopped(): Promise<void>;
  /** Deletes inbox records older than the retention window now; returns how many went. */
  cleanInbox(): Promise<number>;
  /** Reads the group's lag from the broker now and updates the lag gauge. */
  refreshLag(): Promise<PartitionLag[]>;
  /**
   * For crash tests: the consumer behaves as if its process died now. A handler running now finishes but its
   * transaction rolls back, no further offset is committed, nothing more is processed, and the consumer disconnects
   * ("crashed" state). It returns at once (a handler may call it); whenStopped() resolves when it is down.
   */
  kill(): void;
}

/** Where an event first arrived, and the attempt a delivery is. */
interface Origin {
  topic: string;
  partition: number;
  offset: string;
  attempt: number;
}

/** What reading a record decided, before any database or broker work. */
type PreparedRecord = IgnoredRecord | BlockingRecord | EventRecord;
/** A record this group does not handle: another group's retry, or a topic it does not read. */
type IgnoredRecord = { kind: "ignore" };
/** A retry not due yet, or a record that goes to the dead-letter topic unread. */
type BlockingRecord =
  | { kind: "wait"; untilMs: number }
  | {
      kind: "reject";
      headers: Record<string, string>;
      eventId: string;
      origin: Origin;
      error: Error;
      attempts: number;
    };
type EventRecord = { kind: "event"; event: ConsumedEvent<unknown>; headers: Record<string, string>; origin: Origin };

/** What one attempt of an event ended with inside its group's transaction. */
type EventResult = { kind: "processed"; durationMs: number } | { kind: "duplicate" } | { kind: "failed"; error: Error };

/** A record handled in a group transaction, and (once handled) what happened to it. */
interface GroupEntry {
  record: ConsumerRecord;
  prepared: IgnoredRecord | EventRecord;
  result: EventResult | null;
}

/** The savepoint each event of a group transaction runs in; reused, since one is open at a time. */
const EVENT_SAVEPOINT = "sluice_event";

/** Rolls back a group run at once, so that it runs again event by event (see handleGroupAtOnce). */
class GroupRolledBack extends Error {
  /** The entry whose handler failed, when known; its attempt is over and is not run again. */
  readonly failed: { index: number; result: EventResult } | null;

  constructor(failed: { index: number; result: EventResult } | null) {
    super("a handler failed; the group runs again event by event");
    this.name = "GroupRolledBack";
    this.failed = failed;
  }
}

/** Raised when a crash hook threw or kill() was called: the consumer stops where it is. */
class SimulatedCrash extends Error {
  constructor(where: string, cause: unknown) {
    super(`crash ${where}: ${describeError(cause)}`, { cause });
    this.name = "SimulatedCrash";
  }
}

function checkInteger(field: string, value: number | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new InvalidArgumentError(field, `must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
  return value;
}

function partitionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

function stateError(message: string): ToolkitError {
  return new ToolkitError(ToolkitErrorCode.CONSUMER_STATE_INVALID, message);
}

/**
 * Creates an inbox consumer (a Component: start() joins the group, stop() finishes the events in progress, commits
 * and leaves). Handler writes go through the tx it receives.
 */
export function createConsumer<const D extends readonly TopicDefinition<unknown>[]>(
  options: ConsumerOptions<D>,
): InboxConsumer {
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
  const settings = {
    concurrency: checkInteger("concurrency", options.concurrency, 1, 1, PARTITIONS_CONCURRENTLY_MAX),
    inboxRetentionMs: checkInteger(
      "inboxRetentionMs",
      options.inboxRetentionMs,
      DEFAULT_INBOX_RETENTION_MS,
      0,
      365 * dayMs,
    ),
    inboxCleanupIntervalMs: checkInteger(
      "inboxCleanupIntervalMs",
      options.inboxCleanupIntervalMs,
      DEFAULT_INBOX_CLEANUP_INTERVAL_MS,
      1,
      dayMs,
    ),
    lagRefreshIntervalMs: checkInteger(
      "lagRefreshIntervalMs",
      options.lagRefreshIntervalMs,
      DEFAULT_LAG_REFRESH_INTERVAL_MS,
      1,
      dayMs,
    ),
    handlerTimeoutMs: checkInteger(
      "handlerTimeoutMs",
      options.handlerTimeoutMs,
      DEFAULT_HANDLER_TIMEOUT_MS,
      1,
      HANDLER_TIMEOUT_MS_MAX,
    ),
    failureBackoffMaxMs: checkInteger(
      "failureBackoffMaxMs",
      options.failureBackoffMaxMs,
      DEFAULT_FAILURE_BACKOFF_MAX_MS,
      DEFAULT_FAILURE_BACKOFF_BASE_MS,
      dayMs,
    ),
    eventBytesMax: checkInteger("eventBytesMax", options.eventBytesMax, EVENT_BYTES_MAX, 1, 1024 * 1024 * 1024),
  };
  const logger = options.logger ?? silentLogger;
  const random = options.random ?? Math.random;
  const isRetriableOption = options.isRetriable;
  const handler = options.handler as EventHandler<unknown>;
  const asyncTraceContext = options.asyncTraceContext === true;
  const db = options.db;
  const client = options.client;
  const metrics: ConsumerMetrics = consumerMetrics();

  let state: ConsumerState = "created";
  let joined = false;
  let kafkaConsumer: KafkaConsumer | null = null;
  let producer: KafkaProducer | null = null;
  let lagAdmin: KafkaAdmin | null = null;
  const partitionCounts = new Map<string, number>();
  const resumeTimers = new Map<string, NodeJS.Timeout>();
  const failureCounts = new Map<string, number>();
  const intervals: NodeJS.Timeout[] = [];
  let readyWaiters: Array<{ resolve: () => void; reject: (error: Error) => void }> = [];
  let teardown: Promise<void> | null = null;
  let starting: Promise<void> | null = null;
  let resolveStopped: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => {
    resolveStopped = resolve;
  });
  let cleaning: Promise<number> | null = null;
  let refreshingLag: Promise<PartitionLag[]> | null = null;

  const settleReadyWaiters = (error: Error | null): void => {
    const waiters = readyWaiters;
    readyWaiters = [];
    for (const waiter of waiters) {
      if (error === null) waiter.resolve();
      else waiter.reject(error);
    }
  };

  // Functions, not inline comparisons: TypeScript would otherwise keep a narrowed state across awaits.
  const halted = (): boolean => state !== "running";
  const crashed = (): boolean => state === "crashed";

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

  const isRetriable = (error: Error): boolean => {
    if (error instanceof NonRetriableError || error instanceof EventValidationError) return false;
    if (isRetriableOption === undefined) return true;
    try {
      return isRetriableOption(error);
    } catch (predicateError) {
      logger.warn({ err: predicateError }, `consumer group ${groupId}: isRetriable threw; retrying as if it said yes`);
      return true;
    }
  };

  const errorCodeOf = (error: Error): string =>
    error instanceof ToolkitError ? error.code : ToolkitErrorCode.HANDLER_FAILED;

  /** The partition to pin a republished record to: the original's, when the target topic has that partition. */
  const pinnedPartition = (topic: string, partition: number): number | undefined => {
    const count = partitionCounts.get(topic);
    return count !== undefined && partition < count ? partition : undefined;
  };

  const requireProducer = (): KafkaProducer => {
    if (producer === null) throw stateError("the consumer has no producer; start() it first");
    return producer;
  };

  const deadLetter = async (
    record: ConsumerRecord,
    headers: Record<string, string>,
    eventId: string,
    origin: Origin,
    error: Error,
    attempts: number,
  ): Promise<void> => {
    const reason: DeadLetterReason = {
      originalTopic: origin.topic,
      originalPartition: origin.partition,
      originalOffset: origin.offset,
      error: errorSummary(error),
      errorCode: errorCodeOf(error),
      attempts,
      time: new Date(),
      consumerGroup: groupId,
    };
    const topic = deadLetterTopicName(origin.topic);
    const letter: ProducerRecord = {
      topic,
      key: record.key,
      value: record.value,
      headers: deadLetterHeaders(headers, eventId, reason),
      partition: pinnedPartition(topic, origin.partition),
    };
    try {
      await requireProducer().send([letter]);
    } catch (error) {
      if (!(error instanceof PublishError) || error.retriable) throw error;
      // The broker refuses the dead letter itself, most likely because the added headers made it too large. It is
      // parked without its value, which stays readable at its original position, rather than blocking the partition.
      const refusal = errorSummary(error);
      await requireProducer().send([
        { ...letter, value: null, headers: { ...letter.headers, [DEAD_LETTER_HEADERS.valueDropped]: refusal } },
      ]);
    }
    metrics.deadLettered.inc({ topic: origin.topic, group: groupId, code: reason.errorCode });
    logger.warn(
      { topic: origin.topic, partition: origin.partition, offset: origin.offset, eventId, attempts, err: error },
      `event ${eventId} went to the dead-letter topic ${topic}: ${reason.error}`,
    );
  };

  const scheduleRetry = async (
    record: ConsumerRecord,
    headers: Record<string, string>,
    eventId: string,
    origin: Origin,
    error: Error,
  ): Promise<void> => {
    const delayMs = backoffDelayMs(policy, origin.attempt, random);
    const topic = retryTopicName(origin.topic, retryTierOf(policy, origin.attempt));
    const envelope = {
      attempt: origin.attempt + 1,
      dueTimeMs: Date.now() + delayMs,
      group: groupId,
      originalTopic: origin.topic,
      originalPartition: origin.partition,
      originalOffset: origin.offset,
      error: errorSummary(error),
    };
    try {
      await requireProducer().send([
        {
          topic,
          key: record.key,
          value: record.value,
          headers: { ...headers, [EVENT_HEADERS.id]: eventId, ...retryHeaders(envelope) },
          partition: pinnedPartition(topic, origin.partition),
        },
      ]);
    } catch (sendError) {
      if (!(sendError instanceof PublishError) || sendError.retriable) throw sendError;
      // The retry topic refuses the record for good (too large with the retry headers, say): retrying cannot work.
      await deadLetter(record, headers, eventId, origin, error, origin.attempt);
      return;
    }
    metrics.retried.inc({ topic: origin.topic, group: groupId });
    logger.info(
      {
        topic: origin.topic,
        partition: origin.partition,
        offset: origin.offset,
        eventId,
        attempt: origin.attempt,
        delayMs,
      },
      `event ${eventId} failed attempt ${origin.attempt} of ${policy.attempts} (${envelope.error}); retrying in ` +
        `${delayMs} ms through ${topic}`,
    );
  };

  /** The event a record holds, or the reason it cannot be read. */
  const decode = (
    definition: TopicDefinition<unknown>,
    record: ConsumerRecord,
    headers: Record<string, string>,
    envelope: EventHeaderValues,
    eventId: string,
    origin: Origin,
  ): ConsumedEvent<unknown> | Error => {
    if (record.value === null) {
      return new ToolkitError(
        ToolkitErrorCode.EVENT_VALUE_MISSING,
        `record ${origin.offset} in partition ${origin.partition} of "${origin.topic}" has no value (a tombstone); ` +
          "events on this topic must carry a value",
      );
    }
    const bytes = recordBytes(record.key, record.value, headers);
    if (bytes > settings.eventBytesMax) return new EventTooLargeError(origin.topic, bytes, settings.eventBytesMax);
    const serializer = serializerFor(definition);
    if (envelope.contentType !== null && envelope.contentType !== serializer.contentType) {
      return new EventDecodeError(
        origin.topic,
        `its content type is "${envelope.contentType}", but the topic's serializer reads "${serializer.contentType}"`,
      );
    }
    let value: unknown;
    try {
      value = definition.validate(serializer.decode(definition, record.value));
    } catch (error) {
      return toError(error);
    }
    return {
      id: eventId,
      type: envelope.type ?? definition.eventType,
      time: envelope.time ?? new Date(record.timestamp),
      topic: origin.topic,
      partition: origin.partition,
      offset: origin.offset,
      key: record.key === null ? null : record.key.toString("utf8"),
      value,
      headers,
      traceparent: envelope.traceparent,
    };
  };

  /**
   * Runs an event's handler inside tx between its hooks. Resolves to what happened, or rejects when the consumer
   * crashed (a hook threw, or kill() was called), which rolls back the whole transaction.
   */
  const runHandler = async (
    tx: Queryable,
    event: ConsumedEvent<unknown>,
    origin: Origin,
    startedMs: number,
    settle: (() => Promise<void>) | null,
  ): Promise<EventResult> => {
    const context = { eventId: event.id, topic: origin.topic, partition: origin.partition, offset: origin.offset };
    if (runHook !== null) await runHook({ point: "before-handler", ...context });
    let failure: Error | null = null;
    let timer: NodeJS.Timeout | undefined;
    const span = childTraceparent(event.traceparent);
    const attemptTx = new AttemptQueryable(tx, span);
    try {
      const timeout = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(new HandlerTimeoutError(settings.handlerTimeoutMs)), settings.handlerTimeoutMs);
      });
      // An async wrapper, so that a handler that throws at once or returns no promise is handled the same way.
      const handled = (async () =>
        asyncTraceContext ? runWithTraceparent(span, () => handler(event, attemptTx)) : handler(event, attemptTx))();
      // A handler still running after its timeout may reject later; that rejection is no longer anyone's concern.
      handled.catch(() => undefined);
      await Promise.race([handled, timeout]);
    } catch (thrown) {
      failure = toError(thrown);
    } finally {
      attemptTx.end();
      clearTimeout(timer);
    }
    // After the attempt's handle ended, so that nothing the handler left running lands after the settling statement.
    if (failure === null && settle !== null) await settle().catch((thrown: unknown) => (failure = toError(thrown)));
    // kill() during the handler: a dead process would never commit.
    if (crashed()) throw new SimulatedCrash("by kill() during the handler", failure ?? new Error("killed"));
    if (failure !== null) {
      metrics.handlerDuration.observe(
        { topic: origin.topic, group: groupId, outcome: "error" },
        (performance.now() - startedMs) / 1000,
      );
      return { kind: "failed", error: failure };
    }
    if (runHook !== null) await runHook({ point: "after-handler", ...context });
    return { kind: "processed", durationMs: performance.now() - startedMs };
  };

  /** Runs one attempt of an event whose inbox record the group transaction has already written. */
  const attemptInGroup = (tx: Queryable, event: ConsumedEvent<unknown>, origin: Origin): Promise<EventResult> =>
    runHandler(tx, event, origin, performance.now(), null);

  /**
   * Runs one attempt of an event inside the group's transaction, in its own savepoint, so that a failing handler
   * rolls back only its own writes and inbox record. The savepoint is open on entry and again on return, fresh, for
   * the next event: establishing it together with releasing the last one saves a round trip per event. Resolves to
   * what happened, or rejects when the database failed (not the handler) or the consumer crashed; either rolls back
   * the whole transaction.
   */
  const attemptInSavepoint = async (
    tx: Queryable,
    event: ConsumedEvent<unknown>,
    origin: Origin,
  ): Promise<EventResult> => {
    const startedMs = performance.now();
    const first = await recordInboxEvent(tx, {
      consumerGroup: groupId,
      eventId: event.id,
      topic: origin.topic,
      partition: origin.partition,
      offset: Number(origin.offset),
    });
    // The savepoint holds no change then, so it serves the next event as it is.
    if (!first) return { kind: "duplicate" };
    // A handler that caught a failed statement leaves the transaction aborted, and COMMIT would quietly roll it
    // back; releasing the savepoint fails in that case, so the event counts as failed instead of processed.
    const result = await runHandler(tx, event, origin, startedMs, () =>
      tx.exec(`RELEASE SAVEPOINT ${EVENT_SAVEPOINT}; SAVEPOINT ${EVENT_SAVEPOINT}`),
    );
    // Rolling back to a savepoint keeps it established, ready for the next event.
    if (result.kind === "failed") await tx.query(`ROLLBACK TO SAVEPOINT ${EVENT_SAVEPOINT}`);
    return result;
  };

  /** Lets the topic's serializer fetch what decoding the record needs (a writer's schema); decode reports failures. */
  const prepareToDecode = async (record: ConsumerRecord): Promise<void> => {
    const definition = definitionOfTopic.get(record.topic);
    if (definition === undefined || record.value === null) return;
    await serializerFor(definition)
      .prepareDecode?.(definition, record.value)
      .catch(() => undefined);
  };

  /** Reads a record's headers and value; decides everything about it that needs neither database nor broker. */
  const prepareRecord = (record: ConsumerRecord): PreparedRecord => {
    const definition = definitionOfTopic.get(record.topic);
    if (definition === undefined) return { kind: "ignore" };
    let origin: Origin = { topic: record.topic, partition: record.partition, offset: record.offset, attempt: 1 };
    let headers = record.headers;
    const fallbackId = (): string => `${origin.topic}:${origin.partition}:${origin.offset}`;
    if (record.topic !== definition.name) {
      let envelope;
      try {
        envelope = parseRetryHeaders(record.headers);
      } catch (error) {
        const cleaned = withoutRetryHeaders(record.headers);
        const eventId = readEventHeaders(cleaned).id ?? fallbackId();
        return { kind: "reject", headers: cleaned, eventId, origin, error: toError(error), attempts: 0 };
      }
      // Retry topics are shared by every group consuming the topic; each group retries only its own failures.
      if (envelope.group !== groupId) return { kind: "ignore" };
      if (envelope.dueTimeMs > Date.now()) return { kind: "wait", untilMs: envelope.dueTimeMs };
      origin = {
        topic: definition.name,
        partition: envelope.originalPartition,
        offset: envelope.originalOffset,
        attempt: envelope.attempt,
      };
      headers = withoutRetryHeaders(record.headers);
    }
    // Events from producers other than the toolkit may lack an id; their position identifies them for the inbox
    // and travels with them (as the id header) through retries and dead letters.
    const envelope = readEventHeaders(headers);
    const eventId = envelope.id ?? fallbackId();
    if (eventId.length > INBOX_TEXT_CHARS_MAX) {
      const error = new ToolkitError(
        ToolkitErrorCode.EVENT_ID_INVALID,
        `event id header ${EVENT_HEADERS.id} is ${eventId.length} characters long, over ${INBOX_TEXT_CHARS_MAX}; ` +
          "use UUIDs as event ids",
      );
      return { kind: "reject", headers, eventId: fallbackId(), origin, error, attempts: origin.attempt - 1 };
    }
    const event = decode(definition, record, headers, envelope, eventId, origin);
    if (event instanceof Error) {
      return { kind: "reject", headers, eventId, origin, error: event, attempts: origin.attempt - 1 };
    }
    return { kind: "event", event, headers, origin };
  };

  /**
   * Handles a group's events in one transaction and returns how many entries it got through: fewer than all when
   * the consumer began stopping or lost the partition, in which case what it finished still commits. The group is
   * first run at once, without savepoints; only when a handler fails is it rolled back and run again event by
   * event, each in its own savepoint, so that the failure is pinned on its event alone.
   */
  const handleGroup = async (batch: PartitionBatch, entries: GroupEntry[]): Promise<number> => {
    const outcome = await handleGroupAtOnce(batch, entries);
    if (typeof outcome === "number") return outcome;
    for (const entry of entries) entry.result = null;
    return handleGroupEventByEvent(batch, entries, outcome.failed);
  };

  /**
   * The fast way through a group: one statement records every event in the inbox, then the handlers run one after
   * another in the same transaction. A savepoint per event costs a database round trip per event, which was most
   * of the consumer's time. Resolves to how many entries it got through; or, when a handler failed or left the
   * transaction unusable, rolls everything back and resolves to that rollback, and the caller runs the group
   * again event by event. A handler that failed on its own is not run again for this attempt, but the handlers
   * before it, whose work was rolled back, are: only a handler's writes through tx are effectively once, as after
   * a crash.
   */
  const handleGroupAtOnce = async (batch: PartitionBatch, entries: GroupEntry[]): Promise<number | GroupRolledBack> => {
    const events = entries.flatMap((entry) => (entry.prepared.kind === "event" ? [entry.prepared] : []));
    try {
      return await db.transaction(async (tx) => {
        await execute(tx, statementTimeoutForTransaction(settings.handlerTimeoutMs));
        const recorded =
          events.length === 0
            ? new Set<string>()
            : await recordInboxEvents(
                tx,
                groupId,
                events.map(({ event, origin }) => ({
                  eventId: event.id,
                  topic: origin.topic,
                  partition: origin.partition,
                  offset: Number(origin.offset),
                })),
              );
        const started = new Set<string>();
        let handled = 0;
        for (const [index, entry] of entries.entries()) {
          if (!batch.active() || halted()) break;
          if (entry.prepared.kind === "event") {
            const { event, origin } = entry.prepared;
            if (!recorded.has(event.id) || started.has(event.id)) {
              entry.result = { kind: "duplicate" };
            } else {
              started.add(event.id);
              const result = await attemptInGroup(tx, event, origin);
              entry.result = result;
              if (result.kind === "failed") {
                // The failure is this event's own, and its attempt is over, when the handler threw with the
                // transaction still answering (or timed out). A transaction that no longer answers was broken by a
                // failed statement, perhaps an earlier handler's, or by the connection: the event-by-event run
                // then finds out which event failed, or that the database did.
                const own =
                  result.error instanceof HandlerTimeoutError ||
                  (await tx.query("SELECT 1").then(
                    () => true,
                    () => false,
                  ));
                throw new GroupRolledBack(own ? { index, result } : null);
              }
            }
          }
          handled += 1;
        }
        // Events left for later (the consumer is stopping) must not keep the inbox records that would skip them.
        const notStarted = [...recorded].filter((eventId) => !started.has(eventId));
        if (notStarted.length > 0) await forgetInboxEvents(tx, groupId, notStarted);
        return handled;
      });
    } catch (error) {
      if (error instanceof GroupRolledBack) return error;
      // A handler that caught a failed statement left the transaction aborted, so nothing committed: the group
      // runs again event by event, where releasing that handler's savepoint fails and pins the failure on it.
      if (error instanceof StoreError && error.code === StoreErrorCode.TRANSACTION_ROLLED_BACK) {
        return new GroupRolledBack(null);
      }
      throw error;
    }
  };

  const handleGroupEventByEvent = async (
    batch: PartitionBatch,
    entries: GroupEntry[],
    alreadyFailed: GroupRolledBack["failed"],
  ): Promise<number> =>
    db.transaction(async (tx) => {
      await execute(tx, statementTimeoutForTransaction(settings.handlerTimeoutMs));
      let handled = 0;
      let savepointOpen = false;
      for (const [index, entry] of entries.entries()) {
        if (!batch.active() || halted()) break;
        if (index === alreadyFailed?.index) {
          entry.result = alreadyFailed.result;
        } else if (entry.prepared.kind === "event") {
          if (!savepointOpen) await tx.query(`SAVEPOINT ${EVENT_SAVEPOINT}`);
          savepointOpen = true;
          entry.result = await attemptInSavepoint(tx, entry.prepared.event, entry.prepared.origin);
        }
        handled += 1;
      }
      return handled;
    });

  /**
   * The work on an entry after its transaction committed: metrics, the after-commit hook, and for a failed event
   * its retry or dead letter. Publishing only now means a crash before it leaves no inbox record for the failed
   * event, so the redelivery runs it again rather than losing it, and nothing is published twice.
   */
  const finishEntry = async (entry: GroupEntry): Promise<void> => {
    const prepared = entry.prepared;
    if (prepared.kind === "ignore" || entry.result === null) return;
    const { event, origin, headers } = prepared;
    const labels = { topic: origin.topic, group: groupId };
    const result = entry.result;
    if (result.kind === "processed") {
      metrics.handlerDuration.observe({ ...labels, outcome: "ok" }, result.durationMs / 1000);
      if (runHook !== null)
        await runHook({
          point: "after-commit",
          eventId: event.id,
          topic: origin.topic,
          partition: origin.partition,
          offset: origin.offset,
        });
      metrics.consumed.inc(labels);
    } else if (result.kind === "duplicate") {
      metrics.skipped.inc(labels);
    } else {
      metrics.failed.inc(labels);
      if (isRetriable(result.error) && origin.attempt < policy.attempts) {
        await scheduleRetry(entry.record, headers, event.id, origin, result.error);
      } else {
        await deadLetter(entry.record, headers, event.id, origin, result.error, origin.attempt);
      }
    }
  };
  const pauseUntil = (topic: string, partition: number, untilMs: number): void => {
    const consumer = kafkaConsumer;
    if (consumer === null || halted()) return;
    const key = partitionKey(topic, partition);
    clearTimeout(resumeTimers.get(key));
    consumer.pause(topic, partition);
    const timer = setTimeout(
      () => {
        resumeTimers.delete(key);
        if (!halted()) consumer.resume(topic, partition);
      },
      Math.max(0, untilMs - Date.now()),
    );
    resumeTimers.set(key, timer);
  };

  const backOff = (topic: string, partition: number, error: unknown): void => {
    const key = partitionKey(topic, partition);
    const failures = (failureCounts.get(key) ?? 0) + 1;
    failureCounts.set(key, failures);
    const exponential = DEFAULT_FAILURE_BACKOFF_BASE_MS * 2 ** Math.min(failures - 1, 30);
    const delayMs = Math.round(Math.min(settings.failureBackoffMaxMs, exponential) * (0.5 + random() / 2));
    logger.warn(
      { topic, partition, failures, delayMs, err: error },
      `consumer group ${groupId} could not finish a record of ${topic}[${partition}] (${describeError(error)}); ` +
        `trying it again in ${delayMs} ms`,
    );
    pauseUntil(topic, partition, Date.now() + delayMs);
  };

  const crash = (error: SimulatedCrash): void => {
    if (state === "crashed" || state === "stopped") return;
    logger.warn({ err: error }, `consumer group ${groupId} crashed on purpose: ${error.message}`);
    state = "crashed";
    joined = false;
    settleReadyWaiters(new ToolkitError(ToolkitErrorCode.CONSUMER_CRASHED, `the consumer crashed: ${error.message}`));
    // Not awaited: the Kafka consumer's stop waits for the batch that is running this very call.
    void release();
  };

  const processBatch = async (batch: PartitionBatch): Promise<void> => {
    // Offsets are committed after the records' transactions, but once per batch (or every COMMIT_RECORDS_MAX
    // records) rather than per record: an OffsetCommit costs a broker round trip and fsync, and a record processed
    // but not yet committed when the process dies is redelivered and skipped by the inbox.
    let lastProcessed: string | null = null;
    let uncommitted = 0;
    const commitProcessed = async (): Promise<boolean> => {
      if (lastProcessed === null) return true;
      const nextOffset = (BigInt(lastProcessed) + 1n).toString();
      try {
        await batch.commit(nextOffset);
      } catch (error) {
        // After a rebalance the partition belongs to another member, which redelivers the records; their inbox
        // records make that harmless. Otherwise the broker is unwell: try again later.
        if (batch.active() && !halted()) backOff(batch.topic, batch.partition, error);
        return false;
      }
      // Marked done only once committed: after a failed commit the client must deliver these records again.
      batch.markDone(lastProcessed);
      lastProcessed = null;
      uncommitted = 0;
      failureCounts.delete(partitionKey(batch.topic, batch.partition));
      return true;
    };
    /** Counts a finished record; false when the partition's work must end here. */
    const markProcessed = async (offset: string, heartbeat: boolean): Promise<boolean> => {
      if (crashed()) return false;
      lastProcessed = offset;
      uncommitted += 1;
      if (uncommitted >= COMMIT_RECORDS_MAX && !(await commitProcessed())) return false;
      if (heartbeat) await batch.heartbeat();
      return true;
    };
    const fail = async (error: unknown): Promise<void> => {
      if (error instanceof SimulatedCrash) {
        crash(error);
        return;
      }
      if (await commitProcessed()) {
        if (!halted()) backOff(batch.topic, batch.partition, error);
      }
    };
    const records = batch.records;
    let next = 0;
    while (next < records.length) {
      // A stopping consumer finishes the events in progress (and commits them) but starts no others.
      if (!batch.active() || halted()) break;
      // Consecutive events share one transaction, each in its own savepoint: a COMMIT per event costs a round trip
      // and a WAL flush. A record that waits or is dead-lettered unread ends the group, so order is kept.
      const entries: GroupEntry[] = [];
      let blocker: { record: ConsumerRecord; prepared: BlockingRecord } | null = null;
      while (next < records.length && entries.length < EVENTS_PER_TRANSACTION_MAX) {
        const record = records[next];
        if (record === undefined) break;
        await prepareToDecode(record);
        const prepared = prepareRecord(record);
        if (prepared.kind === "wait" || prepared.kind === "reject") {
          if (entries.length === 0) {
            blocker = { record, prepared };
            next += 1;
          }
          break;
        }
        entries.push({ record, prepared, result: null });
        next += 1;
      }
      if (blocker !== null) {
        const prepared = blocker.prepared;
        if (prepared.kind === "wait") {
          if (await commitProcessed()) pauseUntil(batch.topic, batch.partition, prepared.untilMs);
          return;
        }
        try {
          await deadLetter(
            blocker.record,
            prepared.headers,
            prepared.eventId,
            prepared.origin,
            prepared.error,
            prepared.attempts,
          );
        } catch (error) {
          await fail(error);
          return;
        }
        if (!(await markProcessed(blocker.record.offset, true))) return;
        continue;
      }
      let handled: number;
      const heartbeats = setInterval(() => void batch.heartbeat().catch(() => undefined), HEARTBEAT_WHILE_HANDLING_MS);
      try {
        handled = await handleGroup(batch, entries);
      } catch (error) {
        await fail(error);
        return;
      } finally {
        clearInterval(heartbeats);
      }
      // A heartbeat after the group's last entry, and after each failed one, which waited for the broker to take its
      // retry or dead letter; the others finish in moments.
      for (const [index, entry] of entries.slice(0, handled).entries()) {
        try {
          await finishEntry(entry);
        } catch (error) {
          await fail(error);
          return;
        }
        const heartbeat = index === handled - 1 || entry.result?.kind === "failed";
        if (!(await markProcessed(entry.record.offset, heartbeat))) return;
      }
      if (handled < entries.length) break;
    }
    // A crash (a dead process) commits nothing; a graceful stop commits what it finished.
    if (!crashed()) await commitProcessed();
  };
  const cleanInbox = async (): Promise<number> => {
    cleaning ??= (async () => {
      let total = 0;
      try {
        for (let round = 0; round < INBOX_CLEANUP_BATCHES_PER_RUN_MAX; round++) {
          const deleted = await deleteInboxEventsBefore(db, {
            olderThanMs: settings.inboxRetentionMs,
            limit: INBOX_CLEANUP_BATCH_SIZE,
          });
          total += deleted;
          if (deleted < INBOX_CLEANUP_BATCH_SIZE) break;
        }
      } finally {
        if (total > 0) metrics.inboxCleaned.inc({ group: groupId }, total);
        cleaning = null;
      }
      return total;
    })();
    return cleaning;
  };

  const lagTopics = (): string[] => [...retryTopics].flatMap(([topic, tiers]) => [topic, ...tiers]);

  const refreshLag = async (): Promise<PartitionLag[]> => {
    refreshingLag ??= (async () => {
      try {
        lagAdmin ??= client.admin();
        return await refreshConsumerLag(metrics, lagAdmin, groupId, lagTopics());
      } finally {
        refreshingLag = null;
      }
    })();
    return refreshingLag;
  };

  const ensureTopics = async (): Promise<void> => {
    const admin = client.admin();
    try {
      const specs: Array<{ name: string; partitions: number }> = [];
      for (const [name, definition] of definitions) {
        let partitions = await admin.partitionCount(name);
        if (partitions === null) {
          if (options.createTopics === false) throw new UnknownTopicError(name);
          partitions = definition.partitions;
          specs.push({ name, partitions });
        }
        // Retry and dead-letter topics get the original's partition count, so records keep their partition number.
        for (const derived of [...(retryTopics.get(name) ?? []), deadLetterTopicName(name)]) {
          specs.push({ name: derived, partitions });
        }
      }
      if (options.createTopics !== false) await admin.ensureTopics(specs);
      for (const spec of specs) {
        const count = await admin.partitionCount(spec.name);
        if (count === null) throw new UnknownTopicError(spec.name);
        partitionCounts.set(spec.name, count);
      }
    } finally {
      await admin.disconnect();
    }
  };

  const release = async (): Promise<void> => {
    teardown ??= (async () => {
      for (const interval of intervals) clearInterval(interval);
      intervals.length = 0;
      const consumer = kafkaConsumer;
      try {
        if (consumer !== null) {
          await consumer.stop().catch((error: unknown) => {
            logger.warn({ err: error }, `consumer group ${groupId}: leaving the group failed`);
          });
        }
      } finally {
        for (const timer of resumeTimers.values()) clearTimeout(timer);
        resumeTimers.clear();
        await cleaning?.catch(() => 0);
        await refreshingLag?.catch(() => []);
        await producer?.disconnect().catch(() => undefined);
        await lagAdmin?.disconnect().catch(() => undefined);
        lagAdmin = null;
        if (state !== "crashed") state = "stopped";
        settleReadyWaiters(stateError(`the consumer of group ${groupId} stopped before it joined its group`));
        resolveStopped();
      }
    })();
    return teardown;
  };

  const every = (intervalMs: number, task: () => Promise<unknown>, what: string): void => {
    const interval = setInterval(() => {
      task().catch((error: unknown) => logger.warn({ err: error }, `consumer group ${groupId}: ${what} failed`));
    }, intervalMs);
    interval.unref();
    intervals.push(interval);
  };

  const begin = async (): Promise<void> => {
    try {
      await ensureTopics();
      for (const definition of definitions.values()) await serializerFor(definition).prepare?.(definition);
      producer = client.producer();
      await producer.connect();
      const consumer = createKafkaConsumer(client, {
        groupId,
        sessionTimeoutMs: options.sessionTimeoutMs,
        heartbeatIntervalMs: options.heartbeatIntervalMs,
        rebalanceTimeoutMs: options.rebalanceTimeoutMs,
        fetchWaitMs: options.fetchWaitMs,
      });
      kafkaConsumer = consumer;
      consumer.onJoin((assignment) => {
        joined = true;
        logger.info({ assignment: assignment.partitions }, `consumer group ${groupId}: joined`);
        if (state === "running") settleReadyWaiters(null);
      });
      consumer.onCrash((error, restarting) => {
        joined = false;
        logger.error(
          { err: error, restarting },
          `consumer group ${groupId}: the Kafka consumer failed (${describeError(error)})` +
            (restarting ? "; it is rejoining the group" : ""),
        );
        if (!restarting && state === "running") {
          state = "crashed";
          settleReadyWaiters(
            new ToolkitError(ToolkitErrorCode.CONSUMER_CRASHED, `the consumer crashed: ${error.message}`),
          );
          void release();
        }
      });
      // The state must say running before the first batch arrives, which can happen before start() returns.
      state = "running";
      await consumer.start({
        topics: [...definitionOfTopic.keys()],
        fromBeginning: options.fromBeginning ?? true,
        concurrency: settings.concurrency,
        eachBatch: processBatch,
      });
    } catch (error) {
      state = "stopping";
      await release();
      state = "stopped";
      throw error;
    }
    // A crash during the first batches may have ended the consumer already.
    if (state !== "running") return;
    if (joined) settleReadyWaiters(null);
    every(settings.inboxCleanupIntervalMs, cleanInbox, "inbox cleanup");
    every(settings.lagRefreshIntervalMs, refreshLag, "refreshing the consumer lag");
    logger.info({ topics: [...definitionOfTopic.keys()] }, `consumer group ${groupId}: started`);
  };

  return {
    name: options.name ?? `consumer:${groupId}`,
    groupId,
    retryTopics,

    get state() {
      return state;
    },

    get ready() {
      return state === "running" && joined;
    },

    async start() {
      if (state !== "created") throw stateError(`start() was called on a consumer that is ${state}; create a new one`);
      state = "starting";
      starting = begin();
      await starting;
    },

    async stop() {
      if (state === "created") {
        state = "stopped";
        resolveStopped();
        return;
      }
      if (!halted()) state = "stopping";
      // A stop during start waits for the start to finish (or fail), so that nothing it creates is left open.
      await starting?.catch(() => undefined);
      if (!halted()) state = "stopping";
      await release();
    },

    whenReady(timeoutMs = DEFAULT_READY_TIMEOUT_MS) {
      if (state === "running" && joined) return Promise.resolve();
      if (state === "stopped" || state === "crashed" || state === "stopping") {
        return Promise.reject(stateError(`the consumer of group ${groupId} is ${state}`));
      }
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          readyWaiters = readyWaiters.filter((waiter) => waiter.resolve !== done);
          reject(
            new ToolkitError(
              ToolkitErrorCode.CONSUMER_NOT_READY,
              `the consumer of group ${groupId} did not join its group within ${timeoutMs} ms; check the broker`,
            ),
          );
        }, timeoutMs);
        const done = (): void => {
          clearTimeout(timer);
          resolve();
        };
        readyWaiters.push({
          resolve: done,
          reject: (error) => {
            clearTimeout(timer);
            reject(error);
          },
        });
      });
    },

    whenStopped() {
      return stopped;
    },

    cleanInbox,
    refreshLag,

    kill() {
      if (state === "running" || state === "stopping") crash(new SimulatedCrash("by kill()", new Error("killed")));
    },
  };
}
