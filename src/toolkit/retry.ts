// Retries of failed handlers: the backoff policy, the retry topics that hold events until their next attempt, and
// the headers that carry an event's attempt count and due time between attempts.
//
// Why retry topics and not pause-and-resume of the main partition: pausing the partition an event came from holds
// back every later event on it (other keys included) for the whole backoff, which can be minutes. Instead, a failed
// event is re-published to a retry topic and its offset on the main topic is committed, so the main partition keeps
// flowing. Retry topics are tiered by delay (`<topic>.retry.1` holds first retries, `.retry.2` second retries, and
// so on), so that every event in one tier waits about as long as the others: the consumer reads a tier in order and,
// when the next event there is not yet due, pauses just that tier's partition until it is. One tier per delay keeps
// a short delay from queueing behind a long one. The cost: a retried event leaves its key's order (later events of
// the same key may be handled before it), and its due time can overshoot by up to the jitter of the events ahead of
// it in the same tier.

import { ToolkitError, ToolkitErrorCode } from "./errors.js";

export const DEFAULT_RETRY_ATTEMPTS = 5;
export const RETRY_ATTEMPTS_MAX = 20;
export const DEFAULT_RETRY_BASE_DELAY_MS = 1_000;
export const DEFAULT_RETRY_MAX_DELAY_MS = 60_000;
/** The longest delay a policy may ask for; longer waits belong in the dead-letter topic and a redrive. */
export const RETRY_DELAY_MS_MAX = 24 * 60 * 60 * 1000;
/** Each delay is shortened by a random fraction up to this much, so that retries of a burst spread out. */
export const DEFAULT_RETRY_JITTER = 0.2;
/** A failed attempt's error message is cut to this length in retry and dead-letter headers. */
export const RETRY_ERROR_CHARS_MAX = 2_000;

/** Headers a retry record carries besides the event's own. */
export const RETRY_HEADERS = {
  /** The attempt this delivery is: 2 for the first retry. */
  attempt: "sluice-retry-attempt",
  /** When the attempt may run, in milliseconds since the epoch. */
  dueTime: "sluice-retry-due-time",
  /** The consumer group whose handler failed; other groups sharing the retry topic ignore the record. */
  group: "sluice-retry-group",
  originalTopic: "sluice-retry-original-topic",
  originalPartition: "sluice-retry-original-partition",
  originalOffset: "sluice-retry-original-offset",
  /** Why the previous attempt failed. */
  error: "sluice-retry-error",
} as const;

export const RETRY_HEADER_PREFIX = "sluice-retry-";

export interface RetryOptions {
  /** Handler attempts in all, the first included; 1 sends a failed event to the dead-letter topic at once. */
  attempts?: number;
  /** The delay before the first retry; each further retry doubles it. */
  baseDelayMs?: number;
  /** The longest delay between two attempts. */
  maxDelayMs?: number;
  /** From 0 (exact delays) to 1: each delay is shortened by a random fraction of itself up to this. */
  jitter?: number;
}

export interface RetryPolicy {
  readonly attempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  readonly jitter: number;
  /** Retry topics the policy needs: one per distinct delay, at most attempts - 1. */
  readonly tierCount: number;
}

/** Thrown by a handler (or wrapping its error) when trying again cannot help: the event goes to the DLT at once. */
export class NonRetriableError extends ToolkitError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(ToolkitErrorCode.HANDLER_NON_RETRIABLE, message, options);
    this.name = "NonRetriableError";
  }
}

/** Stands in for a thrown value that is not an Error (a string, an object, undefined), so it can be reported. */
export class HandlerThrewNonErrorError extends ToolkitError {
  readonly thrown: unknown;

  constructor(thrown: unknown) {
    super(
      ToolkitErrorCode.HANDLER_THREW_NON_ERROR,
      `the handler threw ${describeThrown(thrown)} instead of an Error; throw Error objects so that failures carry ` +
        "a message and a stack trace",
    );
    this.name = "HandlerThrewNonErrorError";
    this.thrown = thrown;
  }
}

/**
 * A handler that did not finish within the consumer's handlerTimeoutMs. Its transaction is rolled back and the
 * event is retried like any failure; a statement it was still running is cancelled by the database.
 */
export class HandlerTimeoutError extends ToolkitError {
  readonly timeoutMs: number;

  constructor(timeoutMs: number) {
    super(
      ToolkitErrorCode.HANDLER_TIMED_OUT,
      `the handler did not finish within ${timeoutMs} ms (handlerTimeoutMs); its writes were rolled back and the ` +
        "event is retried. Make the handler faster, or raise handlerTimeoutMs if it really needs longer",
    );
    this.name = "HandlerTimeoutError";
    this.timeoutMs = timeoutMs;
  }
}

function describeThrown(thrown: unknown): string {
  if (thrown === undefined) return "undefined";
  if (thrown === null) return "null";
  if (typeof thrown === "string") return `the string ${JSON.stringify(thrown.slice(0, 200))}`;
  if (typeof thrown === "number" || typeof thrown === "boolean" || typeof thrown === "bigint") {
    return `the ${typeof thrown} ${String(thrown)}`;
  }
  let json: string | undefined;
  try {
    json = JSON.stringify(thrown);
  } catch {
    json = undefined;
  }
  return json === undefined ? `a value of type ${typeof thrown}` : `the ${typeof thrown} ${json.slice(0, 200)}`;
}

/** The thrown value as an Error: Errors unchanged, anything else wrapped in HandlerThrewNonErrorError. */
export function toError(thrown: unknown): Error {
  return thrown instanceof Error ? thrown : new HandlerThrewNonErrorError(thrown);
}

/** One line describing an error for a header: name, message, cut to RETRY_ERROR_CHARS_MAX. */
export function errorSummary(error: Error): string {
  const text = error.message === "" ? error.name : `${error.name}: ${error.message}`;
  const oneLine = text.replace(/\s+/g, " ").trim();
  return oneLine.length <= RETRY_ERROR_CHARS_MAX ? oneLine : `${oneLine.slice(0, RETRY_ERROR_CHARS_MAX - 1)}…`;
}

function policyError(field: string, message: string): ToolkitError {
  return new ToolkitError(ToolkitErrorCode.RETRY_POLICY_INVALID, `retry.${field}: ${message}`);
}

function integerSetting(field: string, value: number | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw policyError(field, `must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
  return value;
}

function uncappedDelayMs(baseDelayMs: number, failedAttempt: number): number {
  return baseDelayMs * 2 ** (failedAttempt - 1);
}

export function resolveRetryPolicy(options: RetryOptions = {}): RetryPolicy {
  const attempts = integerSetting("attempts", options.attempts, DEFAULT_RETRY_ATTEMPTS, 1, RETRY_ATTEMPTS_MAX);
  const baseDelayMs = integerSetting(
    "baseDelayMs",
    options.baseDelayMs,
    DEFAULT_RETRY_BASE_DELAY_MS,
    1,
    RETRY_DELAY_MS_MAX,
  );
  const maxDelayMs = integerSetting(
    "maxDelayMs",
    options.maxDelayMs,
    Math.max(DEFAULT_RETRY_MAX_DELAY_MS, baseDelayMs),
    1,
    RETRY_DELAY_MS_MAX,
  );
  if (maxDelayMs < baseDelayMs) throw policyError("maxDelayMs", `must be at least baseDelayMs (${baseDelayMs})`);
  const jitter = options.jitter ?? DEFAULT_RETRY_JITTER;
  if (typeof jitter !== "number" || !Number.isFinite(jitter) || jitter < 0 || jitter > 1) {
    throw policyError("jitter", `must be a number from 0 to 1, got ${String(jitter)}`);
  }
  let tierCount = 0;
  for (let failedAttempt = 1; failedAttempt < attempts; failedAttempt++) {
    tierCount = failedAttempt;
    if (uncappedDelayMs(baseDelayMs, failedAttempt) >= maxDelayMs) break;
  }
  return { attempts, baseDelayMs, maxDelayMs, jitter, tierCount };
}

/**
 * How long to wait after attempt failedAttempt (1 for the first) failed: baseDelayMs doubled per earlier failure,
 * capped at maxDelayMs, then shortened by up to jitter of itself. random returns a number in [0, 1).
 */
export function backoffDelayMs(policy: RetryPolicy, failedAttempt: number, random: () => number): number {
  const capped = Math.min(policy.maxDelayMs, uncappedDelayMs(policy.baseDelayMs, failedAttempt));
  return Math.max(0, Math.round(capped * (1 - policy.jitter * random())));
}

/** The retry tier that holds the attempt after failedAttempt: attempts past the last distinct delay share it. */
export function retryTierOf(policy: RetryPolicy, failedAttempt: number): number {
  return Math.min(failedAttempt, policy.tierCount);
}

export function retryTopicName(topic: string, tier: number): string {
  return `${topic}.retry.${tier}`;
}

export function retryTopicNames(topic: string, policy: RetryPolicy): string[] {
  return Array.from({ length: policy.tierCount }, (_, index) => retryTopicName(topic, index + 1));
}

/** Where a retry record comes from and when it may run. */
export interface RetryEnvelope {
  /** The attempt this delivery is (2 or more). */
  attempt: number;
  dueTimeMs: number;
  group: string;
  originalTopic: string;
  originalPartition: number;
  originalOffset: string;
  error: string;
}

export function retryHeaders(envelope: RetryEnvelope): Record<string, string> {
  return {
    [RETRY_HEADERS.attempt]: String(envelope.attempt),
    [RETRY_HEADERS.dueTime]: String(envelope.dueTimeMs),
    [RETRY_HEADERS.group]: envelope.group,
    [RETRY_HEADERS.originalTopic]: envelope.originalTopic,
    [RETRY_HEADERS.originalPartition]: String(envelope.originalPartition),
    [RETRY_HEADERS.originalOffset]: envelope.originalOffset,
    [RETRY_HEADERS.error]: envelope.error,
  };
}

function headersError(name: string, problem: string): ToolkitError {
  return new ToolkitError(
    ToolkitErrorCode.RETRY_HEADERS_INVALID,
    `retry record header ${name} ${problem}; only the toolkit's consumer should write to retry topics`,
  );
}

function requiredHeader(headers: Readonly<Record<string, string>>, name: string): string {
  const value = headers[name];
  if (value === undefined || value === "") throw headersError(name, "is missing");
  return value;
}

function integerHeader(headers: Readonly<Record<string, string>>, name: string, min: number): number {
  const raw = requiredHeader(headers, name);
  const value = /^[0-9]{1,16}$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(value) || value < min) throw headersError(name, `is "${raw}", not an integer >= ${min}`);
  return value;
}

/** Reads the retry headers of a record from a retry topic; throws ToolkitError when they are missing or malformed. */
export function parseRetryHeaders(headers: Readonly<Record<string, string>>): RetryEnvelope {
  const originalOffset = requiredHeader(headers, RETRY_HEADERS.originalOffset);
  if (!/^[0-9]{1,19}$/.test(originalOffset)) {
    throw headersError(RETRY_HEADERS.originalOffset, `is "${originalOffset}", not an offset`);
  }
  return {
    attempt: integerHeader(headers, RETRY_HEADERS.attempt, 2),
    dueTimeMs: integerHeader(headers, RETRY_HEADERS.dueTime, 0),
    group: requiredHeader(headers, RETRY_HEADERS.group),
    originalTopic: requiredHeader(headers, RETRY_HEADERS.originalTopic),
    originalPartition: integerHeader(headers, RETRY_HEADERS.originalPartition, 0),
    originalOffset,
    error: headers[RETRY_HEADERS.error] ?? "",
  };
}

/** The headers without the retry bookkeeping, as they were on the original event. */
export function withoutRetryHeaders(headers: Readonly<Record<string, string>>): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!name.startsWith(RETRY_HEADER_PREFIX)) result[name] = value;
  }
  return result;
}
