// How the console's failures reach the browser: Kafka client errors become the gateway's JSON errors with a status
// that says whose fault it was (an unknown topic is 404, a name taken is 409, a broker out of reach is 503), so the
// console needs no error codes of its own beyond the gateway's catalogue.

import { GatewayError, GatewayErrorCode, toGatewayError, unavailable } from "../gateway/errors.js";
import { KafkaBrokerError, KafkaClientError, KafkaClientErrorCode } from "../kafka/client/index.js";
import { InvalidArgumentError, ToolkitError, ToolkitErrorCode, UnknownTopicError } from "../toolkit/errors.js";

/** Kafka error names that are the caller's mistake, by the status they are answered with. */
const BROKER_ERRORS_BY_CODE: Readonly<Record<string, GatewayErrorCode>> = {
  TOPIC_ALREADY_EXISTS: GatewayErrorCode.CONFLICT,
  NON_EMPTY_GROUP: GatewayErrorCode.CONFLICT,
  UNKNOWN_MEMBER_ID: GatewayErrorCode.CONFLICT,
  REBALANCE_IN_PROGRESS: GatewayErrorCode.CONFLICT,
  ILLEGAL_GENERATION: GatewayErrorCode.CONFLICT,
  UNKNOWN_TOPIC_OR_PARTITION: GatewayErrorCode.NOT_FOUND,
  UNKNOWN_TOPIC_ID: GatewayErrorCode.NOT_FOUND,
  GROUP_ID_NOT_FOUND: GatewayErrorCode.NOT_FOUND,
  INVALID_TOPIC_EXCEPTION: GatewayErrorCode.VALIDATION_FAILED,
  INVALID_PARTITIONS: GatewayErrorCode.VALIDATION_FAILED,
  INVALID_REPLICATION_FACTOR: GatewayErrorCode.VALIDATION_FAILED,
  INVALID_CONFIG: GatewayErrorCode.VALIDATION_FAILED,
  INVALID_REQUEST: GatewayErrorCode.VALIDATION_FAILED,
  POLICY_VIOLATION: GatewayErrorCode.VALIDATION_FAILED,
  INVALID_GROUP_ID: GatewayErrorCode.VALIDATION_FAILED,
  OFFSET_OUT_OF_RANGE: GatewayErrorCode.VALIDATION_FAILED,
  MESSAGE_TOO_LARGE: GatewayErrorCode.BODY_TOO_LARGE,
  RECORD_LIST_TOO_LARGE: GatewayErrorCode.BODY_TOO_LARGE,
  TOPIC_AUTHORIZATION_FAILED: GatewayErrorCode.FORBIDDEN,
  GROUP_AUTHORIZATION_FAILED: GatewayErrorCode.FORBIDDEN,
  CLUSTER_AUTHORIZATION_FAILED: GatewayErrorCode.FORBIDDEN,
};

export function toConsoleError(error: unknown): GatewayError {
  if (error instanceof GatewayError) return error;
  if (error instanceof InvalidArgumentError) {
    return new GatewayError(GatewayErrorCode.VALIDATION_FAILED, error.message, { field: error.field, cause: error });
  }
  if (
    error instanceof UnknownTopicError ||
    (error instanceof ToolkitError && error.code === ToolkitErrorCode.DEAD_LETTER_TOPIC_UNKNOWN)
  ) {
    return new GatewayError(GatewayErrorCode.NOT_FOUND, error.message, { cause: error });
  }
  if (error instanceof KafkaBrokerError) {
    const code = BROKER_ERRORS_BY_CODE[error.errorName];
    if (code !== undefined) return new GatewayError(code, error.message, { cause: error });
  }
  if (error instanceof KafkaClientError) {
    switch (error.code) {
      case KafkaClientErrorCode.TOPIC_UNKNOWN:
      case KafkaClientErrorCode.PARTITION_UNKNOWN:
        return new GatewayError(GatewayErrorCode.NOT_FOUND, error.message, { cause: error });
      case KafkaClientErrorCode.CONFIG_INVALID:
        return new GatewayError(GatewayErrorCode.VALIDATION_FAILED, error.message, { cause: error });
      case KafkaClientErrorCode.CONNECTION_FAILED:
      case KafkaClientErrorCode.CONNECTION_CLOSED:
      case KafkaClientErrorCode.REQUEST_TIMED_OUT:
      case KafkaClientErrorCode.CLIENT_CLOSED:
        return unavailable(`the Kafka cluster cannot be reached: ${error.message}`, 1, error);
    }
    if (error.retriable) return unavailable(`the Kafka cluster cannot serve this now: ${error.message}`, 1, error);
  }
  return toGatewayError(error);
}

export function notFound(what: string): GatewayError {
  return new GatewayError(GatewayErrorCode.NOT_FOUND, what);
}

export function conflict(message: string): GatewayError {
  return new GatewayError(GatewayErrorCode.CONFLICT, message);
}

export function unavailableWithout(what: string, option: string): GatewayError {
  return new GatewayError(GatewayErrorCode.UNAVAILABLE, `this console has no ${what}; start it with ${option}`);
}
