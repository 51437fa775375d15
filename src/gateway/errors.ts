// The gateway's error catalogue: every HTTP error is JSON `{ "error": CODE, "message": …, "field"?: … }` with a
// stable code, and this module is the one place that turns any thrown value into that body and a status code.

import { sqlStateOf, StoreError, StoreErrorCode } from "../store/errors.js";
import {
  EventTooLargeError,
  EventValidationError,
  PublishError,
  ToolkitError,
  ToolkitErrorCode,
} from "../toolkit/errors.js";

export const GatewayErrorCode = {
  BAD_REQUEST: "SLUICE_BAD_REQUEST",
  INVALID_JSON: "SLUICE_INVALID_JSON",
  VALIDATION_FAILED: "SLUICE_VALIDATION_FAILED",
  UNSUPPORTED_MEDIA_TYPE: "SLUICE_UNSUPPORTED_MEDIA_TYPE",
  BODY_TOO_LARGE: "SLUICE_BODY_TOO_LARGE",
  UNAUTHORIZED: "SLUICE_UNAUTHORIZED",
  INVALID_CREDENTIALS: "SLUICE_INVALID_CREDENTIALS",
  FORBIDDEN: "SLUICE_FORBIDDEN",
  NOT_FOUND: "SLUICE_NOT_FOUND",
  CONFLICT: "SLUICE_CONFLICT",
  LIMIT_EXCEEDED: "SLUICE_LIMIT_EXCEEDED",
  UNAVAILABLE: "SLUICE_UNAVAILABLE",
  INTERNAL: "SLUICE_INTERNAL",
} as const;

export type GatewayErrorCode = (typeof GatewayErrorCode)[keyof typeof GatewayErrorCode];

/** The HTTP status that goes with each code. */
export const GATEWAY_ERROR_STATUS: Readonly<Record<GatewayErrorCode, number>> = {
  SLUICE_BAD_REQUEST: 400,
  SLUICE_INVALID_JSON: 400,
  SLUICE_VALIDATION_FAILED: 400,
  SLUICE_UNSUPPORTED_MEDIA_TYPE: 415,
  SLUICE_BODY_TOO_LARGE: 413,
  SLUICE_UNAUTHORIZED: 401,
  SLUICE_INVALID_CREDENTIALS: 401,
  SLUICE_FORBIDDEN: 403,
  SLUICE_NOT_FOUND: 404,
  SLUICE_CONFLICT: 409,
  SLUICE_LIMIT_EXCEEDED: 429,
  SLUICE_UNAVAILABLE: 503,
  SLUICE_INTERNAL: 500,
};

/** The JSON body of every error response. */
export interface ErrorBody {
  error: string;
  message: string;
  field?: string;
}

export interface GatewayErrorOptions {
  /** The request field at fault, as a dotted path such as "text" or "user.name". */
  field?: string;
  /** Seconds after which a client may retry; sent as Retry-After with 503 answers. */
  retryAfterSeconds?: number;
  cause?: unknown;
}

/** An error the gateway answers with its own status and code; throw it from any route or hook. */
export class GatewayError extends Error {
  readonly code: GatewayErrorCode;
  readonly statusCode: number;
  readonly field: string | undefined;
  readonly retryAfterSeconds: number | undefined;

  constructor(code: GatewayErrorCode, message: string, options: GatewayErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "GatewayError";
    this.code = code;
    this.statusCode = GATEWAY_ERROR_STATUS[code];
    this.field = options.field;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }

  toBody(): ErrorBody {
    return this.field === undefined
      ? { error: this.code, message: this.message }
      : { error: this.code, message: this.message, field: this.field };
  }
}

export function validationFailed(field: string, message: string): GatewayError {
  return new GatewayError(GatewayErrorCode.VALIDATION_FAILED, message, { field });
}

export function unauthorized(message: string): GatewayError {
  return new GatewayError(GatewayErrorCode.UNAUTHORIZED, message);
}

export function unavailable(message: string, retryAfterSeconds?: number, cause?: unknown): GatewayError {
  return new GatewayError(GatewayErrorCode.UNAVAILABLE, message, { retryAfterSeconds, cause });
}

export function notFound(message: string): GatewayError {
  return new GatewayError(GatewayErrorCode.NOT_FOUND, message);
}

/** Seconds a client is asked to wait before retrying when a dependency is down. */
export const DEFAULT_RETRY_AFTER_SECONDS = 1;

/** Network error codes that mean a dependency (database or broker) cannot be reached right now. */
const UNREACHABLE_ERROR_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EHOSTUNREACH", "EPIPE"]);

/**
 * PostgreSQL SQLSTATEs that mean the database cannot serve now: connection exceptions (class 08), insufficient
 * resources (class 53), the server shutting down or starting (57P01-57P03), and a statement cancelled by its time
 * limit (57014).
 */
function isDatabaseUnavailableState(state: string): boolean {
  return state.startsWith("08") || state.startsWith("53") || ["57P01", "57P02", "57P03", "57014"].includes(state);
}

/**
 * The pg driver reports a lost connection and a full pool by message only; these are its wordings (pg 8).
 */
const DATABASE_CONNECTION_MESSAGES = [/^Connection terminated/, /^timeout exceeded when trying to connect/i];

/** kafkajs errors that mean the broker could not be reached or did not answer in time. */
const BROKER_UNREACHABLE_ERROR_NAMES = new Set([
  "KafkaJSConnectionError",
  "KafkaJSRequestTimeoutError",
  "KafkaJSNumberOfRetriesExceeded",
  "KafkaJSBrokerNotFound",
]);

interface ErrorWithCode {
  code?: unknown;
  statusCode?: unknown;
  validation?: unknown;
  validationContext?: unknown;
}

interface AjvIssue {
  instancePath?: unknown;
  message?: unknown;
  params?: { missingProperty?: unknown; additionalProperty?: unknown };
}

/** Turns a JSON pointer such as "/user/name" into "user.name". */
function pointerToField(pointer: string): string {
  return pointer
    .split("/")
    .filter((part) => part !== "")
    .map((part) => part.replaceAll("~1", "/").replaceAll("~0", "~"))
    .join(".");
}

/** Reads the first issue of a Fastify schema validation error into a field and a message. */
function fromSchemaValidation(error: ErrorWithCode & Error): GatewayError {
  const issues = Array.isArray(error.validation) ? (error.validation as AjvIssue[]) : [];
  const first = issues[0];
  const context = typeof error.validationContext === "string" ? error.validationContext : "body";
  let field = typeof first?.instancePath === "string" ? pointerToField(first.instancePath) : "";
  const missing = first?.params?.missingProperty;
  if (typeof missing === "string") field = field === "" ? missing : `${field}.${missing}`;
  const extra = first?.params?.additionalProperty;
  if (typeof extra === "string") field = field === "" ? extra : `${field}.${extra}`;
  const reason = typeof first?.message === "string" ? first.message : error.message;
  const where = field === "" ? context : `${context === "body" ? "" : `${context} `}${field}`;
  return new GatewayError(GatewayErrorCode.VALIDATION_FAILED, `${where} ${reason}`, {
    field: field === "" ? context : field,
  });
}

/**
 * Maps any thrown value to the error the client sees. Client mistakes keep their 4xx status; dependencies that are
 * down become 503; everything else is a 500 whose message reveals nothing of the server's internals.
 */
export function toGatewayError(error: unknown): GatewayError {
  if (error instanceof GatewayError) return error;
  if (error instanceof EventValidationError) {
    return new GatewayError(GatewayErrorCode.VALIDATION_FAILED, `${error.field}: ${error.reason}`, {
      field: error.field,
      cause: error,
    });
  }
  if (error instanceof EventTooLargeError) {
    return new GatewayError(
      GatewayErrorCode.BODY_TOO_LARGE,
      `the event would take ${error.bytes} bytes, over the ${error.bytesMax} byte limit; send less`,
      { cause: error },
    );
  }
  if (error instanceof PublishError && error.retriable) {
    return unavailable("the message broker cannot be reached; try again shortly", DEFAULT_RETRY_AFTER_SECONDS, error);
  }
  if (error instanceof ToolkitError && error.code === ToolkitErrorCode.KAFKA_UNREACHABLE) {
    return unavailable("the message broker cannot be reached; try again shortly", DEFAULT_RETRY_AFTER_SECONDS, error);
  }
  if (
    error instanceof ToolkitError &&
    (error.code === ToolkitErrorCode.GROUP_COMMIT_FULL || error.code === ToolkitErrorCode.GROUP_COMMIT_CLOSED)
  ) {
    return unavailable(error.message, DEFAULT_RETRY_AFTER_SECONDS, error);
  }
  if (
    error instanceof StoreError &&
    (error.code === StoreErrorCode.CONNECT_FAILED || error.code === StoreErrorCode.CLOSED)
  ) {
    return unavailable("the database cannot be reached; try again shortly", DEFAULT_RETRY_AFTER_SECONDS, error);
  }
  if (!(error instanceof Error)) return internal(error);
  const { code, statusCode } = error as ErrorWithCode & Error;
  const sqlState = sqlStateOf(error);
  if (
    (sqlState !== undefined && isDatabaseUnavailableState(sqlState)) ||
    DATABASE_CONNECTION_MESSAGES.some((pattern) => pattern.test(error.message))
  ) {
    return unavailable(
      "the database cannot serve this request now; try again shortly",
      DEFAULT_RETRY_AFTER_SECONDS,
      error,
    );
  }
  if (BROKER_UNREACHABLE_ERROR_NAMES.has(error.name)) {
    return unavailable("the message broker cannot be reached; try again shortly", DEFAULT_RETRY_AFTER_SECONDS, error);
  }
  if (typeof code === "string" && UNREACHABLE_ERROR_CODES.has(code)) {
    return unavailable(
      "a service the gateway depends on cannot be reached; try again shortly",
      DEFAULT_RETRY_AFTER_SECONDS,
      error,
    );
  }
  switch (code) {
    case "FST_ERR_CTP_INVALID_JSON_BODY":
      return new GatewayError(GatewayErrorCode.INVALID_JSON, "the request body is not valid JSON", { cause: error });
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return new GatewayError(
        GatewayErrorCode.INVALID_JSON,
        "the request body is empty, but its content-type says JSON; send a JSON document",
        { cause: error },
      );
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return new GatewayError(GatewayErrorCode.BODY_TOO_LARGE, "the request body is over the size limit", {
        cause: error,
      });
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return new GatewayError(
        GatewayErrorCode.UNSUPPORTED_MEDIA_TYPE,
        "the request's content-type is not supported here; send application/json",
        { cause: error },
      );
    case "FST_ERR_CTP_INVALID_CONTENT_LENGTH":
      return new GatewayError(GatewayErrorCode.BAD_REQUEST, "the content-length header does not match the body", {
        cause: error,
      });
    case "FST_ERR_BAD_URL":
      return new GatewayError(GatewayErrorCode.BAD_REQUEST, "the URL is not valid: check its percent-encoding", {
        cause: error,
      });
    case "FST_ERR_MAX_PARAM_LENGTH":
      return new GatewayError(GatewayErrorCode.BAD_REQUEST, "a part of the URL path is too long", { cause: error });
    case "FST_ERR_VALIDATION":
      return fromSchemaValidation(error);
  }
  if (typeof statusCode === "number" && statusCode >= 400 && statusCode < 500) {
    if (statusCode === 404) return new GatewayError(GatewayErrorCode.NOT_FOUND, error.message, { cause: error });
    if (statusCode === 413) return new GatewayError(GatewayErrorCode.BODY_TOO_LARGE, error.message, { cause: error });
    if (statusCode === 415) {
      return new GatewayError(GatewayErrorCode.UNSUPPORTED_MEDIA_TYPE, error.message, { cause: error });
    }
    return new GatewayError(GatewayErrorCode.BAD_REQUEST, error.message, { cause: error });
  }
  return internal(error);
}

function internal(cause: unknown): GatewayError {
  return new GatewayError(
    GatewayErrorCode.INTERNAL,
    "the server failed to handle this request; it has been logged, please try again or report it",
    { cause },
  );
}
