// A group consumer's settings: the group's timings, where partitions without a committed offset start, the assignors
// offered, how many partitions' batches run at once, and the fetch limits. Every option is checked when the consumer
// is made, with an error that names it; every limit has a named default.

import { KafkaConfigError } from "../errors.js";
import {
  FETCH_MAX_WAIT_MS_MAX,
  resolveFetchLimits,
  type FetchLimits,
  type ResolvedFetchLimits,
} from "../fetch/fetch.js";
import { integerOption as declaredInteger, resolveInteger } from "../../../platform/options.js";
import { ASSIGNOR_NAMES, type AssignorName } from "./assignors.js";

/** How long the coordinator waits for a heartbeat before it removes the member (Kafka's session.timeout.ms). */
export const GROUP_SESSION_TIMEOUT_MS = 45_000;
/** How often a member heartbeats while it holds its assignment (Kafka's heartbeat.interval.ms). */
export const GROUP_HEARTBEAT_INTERVAL_MS = 3_000;
/**
 * How often a member heartbeats while its fetches come back empty, unless given: a third of the session timeout, as
 * Kafka advises for heartbeat.interval.ms (15 s with the default session). A member hears of a rebalance from a
 * heartbeat, so on its own this would delay a rebalance by up to that long; but a member also heartbeats at once when
 * a fetch comes back empty before its wait ran out, which is what Sluice's broker does to the fetches waiting on a
 * group's topics when the group begins a rebalance. Against another broker, a rebalance waits for the idle members'
 * next heartbeat.
 */
export const GROUP_IDLE_HEARTBEAT_SESSION_FRACTION = 3;
/** How long the coordinator waits for every member to rejoin in a rebalance; also how long a rejoin may wait. */
export const GROUP_REBALANCE_TIMEOUT_MS = 60_000;
/**
 * How long an idle member's fetch waits for records. Records end the wait as soon as they arrive, so a long wait
 * costs no latency; it is what an idle member wakes up for, beside its heartbeats.
 */
export const GROUP_FETCH_MAX_WAIT_MS = 5_000;
/**
 * How long an idle member's fetch may wait at most: while fetches come back empty, each waits twice as long as the
 * one before, from maxWaitMs up to this (records bring it back to maxWaitMs). A partition resumed during such a long
 * wait ends it at once, so the longer wait only saves an idle member's wake-ups.
 */
export const GROUP_FETCH_IDLE_MAX_WAIT_MS = 10_000;
/** Partitions whose batches are handled at the same time, at most. */
export const GROUP_CONCURRENCY_MAX = 64;
/** Topics one member subscribes to, at most. */
export const GROUP_TOPICS_MAX = 1_000;
/** The assignors offered, in order of preference; the coordinator picks one every member offers. */
export const GROUP_ASSIGNORS: readonly AssignorName[] = ["roundrobin", "range"];
const DAY_MS = 24 * 60 * 60 * 1000;

export type ResetPolicy = "earliest" | "latest";

export interface GroupConsumerOptions extends FetchLimits {
  readonly groupId: string;
  readonly topics: readonly string[];
  readonly sessionTimeoutMs?: number;
  readonly heartbeatIntervalMs?: number;
  /**
   * How often an idle member (its fetches come back empty) heartbeats; default a third of sessionTimeoutMs, at least
   * heartbeatIntervalMs. See GROUP_IDLE_HEARTBEAT_SESSION_FRACTION.
   */
  readonly idleHeartbeatIntervalMs?: number;
  readonly rebalanceTimeoutMs?: number;
  /** Where a partition without a committed offset (or one no longer in the log) starts; default "latest". */
  readonly resetTo?: ResetPolicy;
  /** Assignors offered, in order of preference; default GROUP_ASSIGNORS. */
  readonly assignors?: readonly AssignorName[];
  /** Partitions whose batches are handled at the same time; default 1. */
  readonly concurrency?: number;
  /** The longest an idle member's fetch waits (at least maxWaitMs); default GROUP_FETCH_IDLE_MAX_WAIT_MS. */
  readonly idleMaxWaitMs?: number;
}

export interface ResolvedGroupOptions {
  readonly groupId: string;
  readonly topics: readonly string[];
  readonly sessionTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  readonly idleHeartbeatIntervalMs: number;
  readonly rebalanceTimeoutMs: number;
  readonly resetTo: ResetPolicy;
  readonly assignors: readonly AssignorName[];
  readonly concurrency: number;
  readonly fetch: ResolvedFetchLimits;
  readonly idleMaxWaitMs: number;
}

function integer(field: string, value: number | undefined, fallback: number, min: number, max: number): number {
  return resolveInteger(
    field,
    value,
    declaredInteger(fallback, min, max),
    (name, message) => new KafkaConfigError(name, message),
  );
}

export function resolveGroupOptions(options: GroupConsumerOptions): ResolvedGroupOptions {
  if (typeof options.groupId !== "string" || !/^[\x20-\x7e]{1,255}$/.test(options.groupId)) {
    throw new KafkaConfigError("groupId", "must be 1 to 255 printable ASCII characters");
  }
  const topics = options.topics;
  if (!Array.isArray(topics) || topics.length === 0 || topics.length > GROUP_TOPICS_MAX) {
    throw new KafkaConfigError("topics", `give 1 to ${GROUP_TOPICS_MAX} topic names`);
  }
  topics.forEach((topic, index) => {
    if (typeof topic !== "string" || topic === "")
      throw new KafkaConfigError(`topics[${index}]`, "must be a topic name");
  });
  const sessionTimeoutMs = integer("sessionTimeoutMs", options.sessionTimeoutMs, GROUP_SESSION_TIMEOUT_MS, 1, DAY_MS);
  const heartbeatIntervalMs = integer(
    "heartbeatIntervalMs",
    options.heartbeatIntervalMs,
    Math.min(GROUP_HEARTBEAT_INTERVAL_MS, Math.max(1, Math.floor(sessionTimeoutMs / 3))),
    1,
    DAY_MS,
  );
  if (heartbeatIntervalMs >= sessionTimeoutMs) {
    throw new KafkaConfigError(
      "heartbeatIntervalMs",
      `must be less than sessionTimeoutMs (${sessionTimeoutMs}), or the member is removed between heartbeats`,
    );
  }
  const idleHeartbeatIntervalMs = integer(
    "idleHeartbeatIntervalMs",
    options.idleHeartbeatIntervalMs,
    Math.max(heartbeatIntervalMs, Math.floor(sessionTimeoutMs / GROUP_IDLE_HEARTBEAT_SESSION_FRACTION)),
    heartbeatIntervalMs,
    DAY_MS,
  );
  if (idleHeartbeatIntervalMs >= sessionTimeoutMs) {
    throw new KafkaConfigError(
      "idleHeartbeatIntervalMs",
      `must be less than sessionTimeoutMs (${sessionTimeoutMs}), or an idle member is removed between heartbeats`,
    );
  }
  const resetTo = options.resetTo ?? "latest";
  if (resetTo !== "earliest" && resetTo !== "latest") {
    throw new KafkaConfigError("resetTo", 'must be "earliest" or "latest"');
  }
  const assignors = options.assignors ?? GROUP_ASSIGNORS;
  if (!Array.isArray(assignors) || assignors.length === 0 || assignors.some((name) => !ASSIGNOR_NAMES.includes(name))) {
    throw new KafkaConfigError("assignors", `give one or more of ${ASSIGNOR_NAMES.join(", ")}`);
  }
  const fetch = resolveFetchLimits({ ...options, maxWaitMs: options.maxWaitMs ?? GROUP_FETCH_MAX_WAIT_MS });
  return {
    groupId: options.groupId,
    topics: [...new Set(topics)],
    sessionTimeoutMs,
    heartbeatIntervalMs,
    idleHeartbeatIntervalMs,
    rebalanceTimeoutMs: integer(
      "rebalanceTimeoutMs",
      options.rebalanceTimeoutMs,
      GROUP_REBALANCE_TIMEOUT_MS,
      1,
      DAY_MS,
    ),
    resetTo,
    assignors: [...new Set(assignors)],
    concurrency: integer("concurrency", options.concurrency, 1, 1, GROUP_CONCURRENCY_MAX),
    fetch,
    idleMaxWaitMs: Math.max(
      fetch.maxWaitMs,
      integer("idleMaxWaitMs", options.idleMaxWaitMs, GROUP_FETCH_IDLE_MAX_WAIT_MS, 0, FETCH_MAX_WAIT_MS_MAX),
    ),
  };
}
