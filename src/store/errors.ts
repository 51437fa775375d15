// The store's error catalogue: stable codes, and messages that say what to do.

export const StoreErrorCode = {
  INVALID_ARGUMENT: "SLUICE_STORE_INVALID_ARGUMENT",
  CONNECT_FAILED: "SLUICE_STORE_CONNECT_FAILED",
  CLOSED: "SLUICE_STORE_CLOSED",
  TRANSACTION_FINISHED: "SLUICE_STORE_TRANSACTION_FINISHED",
  TRANSACTION_ROLLED_BACK: "SLUICE_STORE_TRANSACTION_ROLLED_BACK",
  NESTED_DATABASE_USE: "SLUICE_STORE_NESTED_DATABASE_USE",
  WORKER_FAILED: "SLUICE_STORE_WORKER_FAILED",
  QUEUE_FULL: "SLUICE_STORE_QUEUE_FULL",
  MIGRATION_FILE_INVALID: "SLUICE_STORE_MIGRATION_FILE_INVALID",
  MIGRATION_CHECKSUM_MISMATCH: "SLUICE_STORE_MIGRATION_CHECKSUM_MISMATCH",
  MIGRATION_OUT_OF_ORDER: "SLUICE_STORE_MIGRATION_OUT_OF_ORDER",
  MIGRATION_LOCK_TIMEOUT: "SLUICE_STORE_MIGRATION_LOCK_TIMEOUT",
  MIGRATION_FAILED: "SLUICE_STORE_MIGRATION_FAILED",
} as const;

export type StoreErrorCode = (typeof StoreErrorCode)[keyof typeof StoreErrorCode];

export class StoreError extends Error {
  readonly code: StoreErrorCode;
  /** The option or argument at fault, when there is one. */
  readonly field: string | undefined;

  constructor(code: StoreErrorCode, message: string, options: { field?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "StoreError";
    this.code = code;
    this.field = options.field;
  }
}

/**
 * The SQLSTATE of an error raised by PostgreSQL (for example "23505" for a unique violation), from either driver;
 * undefined for any other error.
 */
export function sqlStateOf(error: unknown): string | undefined {
  if (typeof error !== "object" || error === null || !("code" in error)) return undefined;
  const code = (error as { code: unknown }).code;
  return typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

const UNIQUE_VIOLATION = "23505";

/**
 * Whether error is PostgreSQL's unique violation (SQLSTATE 23505), from either driver; with constraint, only a
 * violation of that constraint (named by the error, or in its message where the driver does not carry the name).
 */
export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  if (sqlStateOf(error) !== UNIQUE_VIOLATION) return false;
  if (constraint === undefined) return true;
  const named = (error as { constraint?: unknown }).constraint;
  return named === constraint || (error instanceof Error && error.message.includes(`"${constraint}"`));
}

export function invalidArgument(field: string, message: string): StoreError {
  return new StoreError(StoreErrorCode.INVALID_ARGUMENT, `${field}: ${message}`, { field });
}

export function closedError(): StoreError {
  return new StoreError(StoreErrorCode.CLOSED, "the database has been closed; open a new one with openDatabase()");
}

export function transactionFinishedError(): StoreError {
  return new StoreError(
    StoreErrorCode.TRANSACTION_FINISHED,
    "this transaction has already committed or rolled back; await every query inside the work function",
  );
}

/**
 * The work returned normally, but a statement inside it had failed (and the work caught the error), which leaves a
 * PostgreSQL transaction aborted: its COMMIT rolls everything back. Reported rather than passed off as a commit.
 */
export function transactionRolledBackError(cause?: unknown): StoreError {
  return new StoreError(
    StoreErrorCode.TRANSACTION_ROLLED_BACK,
    "the transaction was rolled back, not committed: a statement inside it failed and the work carried on; let " +
      "the error propagate, or use a savepoint around a statement that may fail",
    { cause },
  );
}
