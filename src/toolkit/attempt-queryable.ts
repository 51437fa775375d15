// The transaction handle a handler receives for one attempt. Once the attempt is over (it finished, failed or
// timed out), the handle refuses further statements: a handler that outlived its timeout must not write into the
// savepoint of the event after it, where its work would commit with somebody else's. The handle also carries the
// handler's span, so that events added to the outbox through it continue the consumed event's trace.

import type { Queryable, QueryResult } from "../store/database.js";
import { ToolkitError, ToolkitErrorCode } from "./errors.js";
import { TRACEPARENT, type TraceCarrier } from "./tracing.js";

export class AttemptQueryable implements Queryable, TraceCarrier {
  #over = false;
  readonly [TRACEPARENT]: string | null;

  constructor(
    private readonly transaction: Queryable,
    traceparent: string | null,
  ) {
    this[TRACEPARENT] = traceparent;
  }

  query<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<Row>> {
    if (this.#over) return Promise.reject(attemptOverError());
    return this.transaction.query<Row>(sql, params);
  }

  exec(script: string): Promise<void> {
    if (this.#over) return Promise.reject(attemptOverError());
    return this.transaction.exec(script);
  }

  /** Statements already sent still finish; any sent from now on are refused. */
  end(): void {
    this.#over = true;
  }
}

function attemptOverError(): ToolkitError {
  return new ToolkitError(
    ToolkitErrorCode.HANDLER_ATTEMPT_OVER,
    "this handler attempt is over (it timed out or already finished), so its transaction accepts no more " +
      "statements; await every query inside the handler",
  );
}
