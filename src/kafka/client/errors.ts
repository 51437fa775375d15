// The error catalogue of Sluice's Kafka client. Every error carries a stable SLUICE_KAFKA_… code, a message that says
// what to do next, and whether trying again may succeed. An error code a broker returns keeps its Kafka name and its
// retriable flag from the protocol's error catalogue, so callers decide on retries from data, not from strings.

import { KAFKA_ERRORS } from "../protocol/error-codes.js";

export const KafkaClientErrorCode = {
  CONFIG_INVALID: "SLUICE_KAFKA_CONFIG_INVALID",
  CONNECTION_FAILED: "SLUICE_KAFKA_CONNECTION_FAILED",
  CONNECTION_CLOSED: "SLUICE_KAFKA_CONNECTION_CLOSED",
  REQUEST_TIMED_OUT: "SLUICE_KAFKA_REQUEST_TIMED_OUT",
  REQUEST_QUEUE_FULL: "SLUICE_KAFKA_REQUEST_QUEUE_FULL",
  PROTOCOL_VIOLATION: "SLUICE_KAFKA_PROTOCOL_VIOLATION",
  UNSUPPORTED_API: "SLUICE_KAFKA_UNSUPPORTED_API",
  AUTHENTICATION_FAILED: "SLUICE_KAFKA_AUTHENTICATION_FAILED",
  BROKER_ERROR: "SLUICE_KAFKA_BROKER_ERROR",
  TOPIC_UNKNOWN: "SLUICE_KAFKA_TOPIC_UNKNOWN",
  PARTITION_UNKNOWN: "SLUICE_KAFKA_PARTITION_UNKNOWN",
  RECORDS_INVALID: "SLUICE_KAFKA_RECORDS_INVALID",
  CLIENT_CLOSED: "SLUICE_KAFKA_CLIENT_CLOSED",
} as const;

export type KafkaClientErrorCode = (typeof KafkaClientErrorCode)[keyof typeof KafkaClientErrorCode];

export class KafkaClientError extends Error {
  readonly code: KafkaClientErrorCode;
  /** Whether the same operation may succeed if tried again (after refreshing metadata or reconnecting). */
  readonly retriable: boolean;

  constructor(code: KafkaClientErrorCode, message: string, options: { retriable?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "KafkaClientError";
    this.code = code;
    this.retriable = options.retriable ?? false;
  }
}

/** A client option that cannot be used; `field` names it. */
export class KafkaConfigError extends KafkaClientError {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(KafkaClientErrorCode.CONFIG_INVALID, `${field}: ${message}`);
    this.name = "KafkaConfigError";
  }
}

/**
 * The connection to a broker failed, closed, or did not answer in time. `requestSent` tells whether the request had
 * been handed to the socket: a request that was never sent may always be retried, one that was sent may have been
 * carried out by the broker.
 */
export class KafkaConnectionError extends KafkaClientError {
  constructor(
    code:
      | typeof KafkaClientErrorCode.CONNECTION_FAILED
      | typeof KafkaClientErrorCode.CONNECTION_CLOSED
      | typeof KafkaClientErrorCode.REQUEST_TIMED_OUT,
    message: string,
    readonly broker: string,
    readonly requestSent: boolean,
    options: { cause?: unknown } = {},
  ) {
    super(code, message, { retriable: true, ...options });
    this.name = "KafkaConnectionError";
  }
}

/** The broker sent bytes that do not follow the Kafka protocol; the connection is closed. */
export class KafkaProtocolViolationError extends KafkaClientError {
  constructor(
    message: string,
    readonly broker: string,
    options: { cause?: unknown } = {},
  ) {
    super(
      KafkaClientErrorCode.PROTOCOL_VIOLATION,
      `${broker} broke the Kafka protocol: ${message}; the connection was closed (check that the address is a Kafka broker's, and whether it needs TLS)`,
      options,
    );
    this.name = "KafkaProtocolViolationError";
  }
}

/** An error code from a broker's response, with its Kafka name and retriable flag. */
export class KafkaBrokerError extends KafkaClientError {
  readonly errorCode: number;
  readonly errorName: string;
  /** The broker's own message, when the response carries one. */
  readonly brokerMessage: string | null;

  constructor(errorCode: number, context: string, brokerMessage: string | null = null) {
    const info = KAFKA_ERRORS.get(errorCode);
    const errorName = info?.name ?? `UNKNOWN_ERROR_CODE_${errorCode}`;
    const explanation = brokerMessage ?? info?.message ?? "the broker returned an error code this client does not know";
    super(KafkaClientErrorCode.BROKER_ERROR, `${context}: ${errorName} (${errorCode}): ${explanation}`, {
      retriable: info?.retriable ?? false,
    });
    this.name = "KafkaBrokerError";
    this.errorCode = errorCode;
    this.errorName = errorName;
    this.brokerMessage = brokerMessage;
  }
}

/** Throws a KafkaBrokerError for a non-zero error code. */
export function checkErrorCode(errorCode: number, context: string, brokerMessage: string | null = null): void {
  if (errorCode !== 0) throw new KafkaBrokerError(errorCode, context, brokerMessage);
}

/** A broker error, or null for error code 0; for per-item results of batched admin operations. */
export function brokerErrorOrNull(
  errorCode: number,
  context: string,
  brokerMessage: string | null = null,
): KafkaBrokerError | null {
  return errorCode === 0 ? null : new KafkaBrokerError(errorCode, context, brokerMessage);
}

export class KafkaAuthenticationError extends KafkaClientError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(
      KafkaClientErrorCode.AUTHENTICATION_FAILED,
      `${message}; check the SASL mechanism, user name and password`,
      options,
    );
    this.name = "KafkaAuthenticationError";
  }
}

export class KafkaUnsupportedApiError extends KafkaClientError {
  constructor(
    readonly apiName: string,
    message: string,
  ) {
    super(KafkaClientErrorCode.UNSUPPORTED_API, message);
    this.name = "KafkaUnsupportedApiError";
  }
}

export class KafkaTopicUnknownError extends KafkaClientError {
  constructor(readonly topic: string) {
    super(
      KafkaClientErrorCode.TOPIC_UNKNOWN,
      `topic "${topic}" does not exist; create it first (sluice topics create ${topic}), or check its name`,
    );
    this.name = "KafkaTopicUnknownError";
  }
}

export class KafkaPartitionUnknownError extends KafkaClientError {
  constructor(
    readonly topic: string,
    readonly partition: number,
    partitionCount: number,
  ) {
    super(
      KafkaClientErrorCode.PARTITION_UNKNOWN,
      `topic "${topic}" has ${partitionCount} partition${partitionCount === 1 ? "" : "s"} (0 to ${partitionCount - 1}); partition ${partition} does not exist`,
    );
    this.name = "KafkaPartitionUnknownError";
  }
}

export class KafkaClientClosedError extends KafkaClientError {
  constructor(what = "the Kafka client") {
    super(KafkaClientErrorCode.CLIENT_CLOSED, `${what} is closed; create a new one`);
    this.name = "KafkaClientClosedError";
  }
}

export function isRetriable(error: unknown): boolean {
  return error instanceof KafkaClientError && error.retriable;
}
