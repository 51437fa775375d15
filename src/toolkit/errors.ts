// The toolkit's error catalogue: every error the toolkit throws, or writes into a dead letter's error-code header,
// has one of these codes and a message that says what to do next. Codes follow one scheme,
// SLUICE_<SUBJECT>_<CONDITION> (subject: what failed, such as TOPIC, EVENT, HANDLER, CONSUMER; condition: how), and
// never change once published, because dead letters and dashboards keep them. docs/toolkit-errors.md lists them.

export const ToolkitErrorCode = {
  INVALID_ARGUMENT: "SLUICE_TOOLKIT_INVALID_ARGUMENT",
  TOPIC_DEFINITION_INVALID: "SLUICE_TOPIC_DEFINITION_INVALID",
  TOPIC_UNKNOWN: "SLUICE_TOPIC_UNKNOWN",
  TOPIC_READ_TIMED_OUT: "SLUICE_TOPIC_READ_TIMED_OUT",
  EVENT_INVALID: "SLUICE_EVENT_INVALID",
  EVENT_TOO_LARGE: "SLUICE_EVENT_TOO_LARGE",
  EVENT_ENCODE_FAILED: "SLUICE_EVENT_ENCODE_FAILED",
  EVENT_DECODE_FAILED: "SLUICE_EVENT_DECODE_FAILED",
  /** A record that carries a value of null. */
  EVENT_VALUE_MISSING: "SLUICE_EVENT_VALUE_MISSING",
  EVENT_ID_INVALID: "SLUICE_EVENT_ID_INVALID",
  KAFKA_CONFIG_INVALID: "SLUICE_KAFKA_CONFIG_INVALID",
  KAFKA_UNREACHABLE: "SLUICE_KAFKA_UNREACHABLE",
  AMQP_CONFIG_INVALID: "SLUICE_AMQP_CONFIG_INVALID",
  AMQP_UNREACHABLE: "SLUICE_AMQP_UNREACHABLE",
  /** RabbitMQ did not finish a connection's handshake, or answer a channel operation, within its limit. */
  AMQP_TIMED_OUT: "SLUICE_AMQP_TIMED_OUT",
  PUBLISH_FAILED: "SLUICE_PUBLISH_FAILED",
  PUBLISHER_CLOSED: "SLUICE_PUBLISHER_CLOSED",
  RELAY_CRASHED: "SLUICE_RELAY_CRASHED",
  SERVICE_START_FAILED: "SLUICE_SERVICE_START_FAILED",
  CONSUMER_STATE_INVALID: "SLUICE_CONSUMER_STATE_INVALID",
  CONSUMER_NOT_READY: "SLUICE_CONSUMER_NOT_READY",
  CONSUMER_CRASHED: "SLUICE_CONSUMER_CRASHED",
  CONSUMER_ALREADY_STARTED: "SLUICE_CONSUMER_ALREADY_STARTED",
  /** A handler error without a code of its own. */
  HANDLER_FAILED: "SLUICE_HANDLER_FAILED",
  HANDLER_NON_RETRIABLE: "SLUICE_HANDLER_NON_RETRIABLE",
  HANDLER_THREW_NON_ERROR: "SLUICE_HANDLER_THREW_NON_ERROR",
  HANDLER_TIMED_OUT: "SLUICE_HANDLER_TIMED_OUT",
  HANDLER_ATTEMPT_OVER: "SLUICE_HANDLER_ATTEMPT_OVER",
  RETRY_POLICY_INVALID: "SLUICE_RETRY_POLICY_INVALID",
  RETRY_HEADERS_INVALID: "SLUICE_RETRY_HEADERS_INVALID",
  DEAD_LETTER_TOPIC_UNKNOWN: "SLUICE_DEAD_LETTER_TOPIC_UNKNOWN",
  DEAD_LETTER_INVALID: "SLUICE_DEAD_LETTER_INVALID",
  SCHEMA_REGISTRY_FAILED: "SLUICE_SCHEMA_REGISTRY_FAILED",
  /** Too many writes are already waiting for a group commit. */
  GROUP_COMMIT_FULL: "SLUICE_GROUP_COMMIT_FULL",
  GROUP_COMMIT_CLOSED: "SLUICE_GROUP_COMMIT_CLOSED",
} as const;

export type ToolkitErrorCode = (typeof ToolkitErrorCode)[keyof typeof ToolkitErrorCode];

export class ToolkitError extends Error {
  readonly code: ToolkitErrorCode;

  constructor(code: ToolkitErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "ToolkitError";
    this.code = code;
  }
}

/** A caller passed an option or argument the toolkit cannot use. */
export class InvalidArgumentError extends ToolkitError {
  readonly field: string;

  constructor(field: string, message: string) {
    super(ToolkitErrorCode.INVALID_ARGUMENT, `${field}: ${message}`);
    this.name = "InvalidArgumentError";
    this.field = field;
  }
}

/** An event value does not match its topic's schema; field is a path such as "customer.email" or "lines[2].sku". */
export class EventValidationError extends ToolkitError {
  readonly topic: string;
  readonly field: string;
  /** What the schema expected at that field. */
  readonly reason: string;

  constructor(topic: string, field: string, reason: string) {
    super(
      ToolkitErrorCode.EVENT_INVALID,
      `event for topic "${topic}" is invalid at ${field}: ${reason}; fix the value, or change the topic's schema`,
    );
    this.name = "EventValidationError";
    this.topic = topic;
    this.field = field;
    this.reason = reason;
  }
}

/** An event's key, value and headers together are over the limit a broker accepts. */
export class EventTooLargeError extends ToolkitError {
  readonly topic: string;
  readonly bytes: number;
  readonly bytesMax: number;

  constructor(topic: string, bytes: number, bytesMax: number) {
    super(
      ToolkitErrorCode.EVENT_TOO_LARGE,
      `event for topic "${topic}" takes ${bytes} bytes (key, value and headers), over the ${bytesMax} byte limit; ` +
        "publish a smaller event, for example a reference to data stored elsewhere",
    );
    this.name = "EventTooLargeError";
    this.topic = topic;
    this.bytes = bytes;
    this.bytesMax = bytesMax;
  }
}

/** A value could not be turned into bytes (for example it holds a BigInt or a cycle). */
export class EventEncodeError extends ToolkitError {
  readonly topic: string;

  constructor(topic: string, reason: string, cause?: unknown) {
    super(
      ToolkitErrorCode.EVENT_ENCODE_FAILED,
      `event for topic "${topic}" cannot be encoded: ${reason}; use only JSON values in events`,
      { cause },
    );
    this.name = "EventEncodeError";
    this.topic = topic;
  }
}

/** Bytes read from a topic are not an event its serializer understands. */
export class EventDecodeError extends ToolkitError {
  readonly topic: string;

  constructor(topic: string, reason: string, cause?: unknown) {
    super(
      ToolkitErrorCode.EVENT_DECODE_FAILED,
      `a record on topic "${topic}" cannot be decoded: ${reason}; check what produces to this topic`,
      { cause },
    );
    this.name = "EventDecodeError";
    this.topic = topic;
  }
}

/** The broker does not have the topic. */
export class UnknownTopicError extends ToolkitError {
  readonly topic: string;

  constructor(topic: string, cause?: unknown) {
    super(
      ToolkitErrorCode.TOPIC_UNKNOWN,
      `topic "${topic}" does not exist on the broker; create it with ensureTopics() at start-up, ` +
        `or with \`sluice topics create ${topic}\``,
      { cause },
    );
    this.name = "UnknownTopicError";
    this.topic = topic;
  }
}

/** Publishing failed for a reason other than an unknown topic; the cause holds the Kafka client's error. */
export class PublishError extends ToolkitError {
  readonly topics: readonly string[];
  /** True when trying again later may succeed (the broker was unreachable or busy). */
  readonly retriable: boolean;

  constructor(topics: readonly string[], reason: string, retriable: boolean, cause?: unknown) {
    super(
      ToolkitErrorCode.PUBLISH_FAILED,
      `publishing${topics.length === 0 ? "" : ` to ${topics.map((topic) => `"${topic}"`).join(", ")}`} failed: ${reason}` +
        (retriable ? "; check that the broker is reachable, then try again" : ""),
      { cause },
    );
    this.name = "PublishError";
    this.topics = topics;
    this.retriable = retriable;
  }
}

/** Describes any thrown value in one line, including values that are not Errors. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message === "" ? error.name : `${error.name}: ${error.message}`;
  if (typeof error === "string") return error;
  try {
    const json = JSON.stringify(error);
    if (json !== undefined) return json;
  } catch {
    // Fall through to String() for values JSON cannot represent, such as cycles.
  }
  return String(error);
}
