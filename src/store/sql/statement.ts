// The shape every SQL builder returns, and the one way to run it.

import type { Queryable, QueryResult } from "../database-types.js";
import { invalidArgument } from "../errors.js";

declare const rowType: unique symbol;

/** SQL text with $n placeholders and its values; Row is the shape of the rows it returns. */
export interface SqlStatement<Row = Record<string, unknown>> {
  readonly text: string;
  readonly values: readonly unknown[];
  /** Never set: it only carries the row type from a builder to execute(). */
  readonly [rowType]?: Row;
}

export function sql<Row = Record<string, unknown>>(text: string, values: readonly unknown[] = []): SqlStatement<Row> {
  return { text, values };
}

export function execute<Row>(target: Queryable, statement: SqlStatement<Row>): Promise<QueryResult<Row>> {
  return target.query<Row>(statement.text, statement.values);
}

/**
 * Limits every later statement of the current transaction to timeoutMs (0: no limit); the database cancels a
 * statement that runs longer, which fails the transaction.
 */
export function statementTimeoutForTransaction(timeoutMs: number): SqlStatement<never> {
  if (!Number.isInteger(timeoutMs) || timeoutMs < 0) {
    throw invalidArgument("timeoutMs", `must be an integer >= 0, got ${String(timeoutMs)}`);
  }
  return sql("SELECT set_config('statement_timeout', $1, true)", [String(timeoutMs)]);
}

/**
 * A text[] parameter as PostgreSQL's array literal, every element quoted: for lists of simple values (ids, names)
 * this is one join, where the driver would escape element by element. A list holding a quote or a backslash goes
 * to the driver as it is, which escapes them.
 */
export function textArrayParam(values: readonly string[]): string | readonly string[] {
  if (values.length === 0) return "{}";
  const together = values.join("");
  return together.includes('"') || together.includes("\\") ? values : `{"${values.join('","')}"}`;
}

/** An integer[] or bigint[] parameter as PostgreSQL's array literal (see textArrayParam). */
export function integerArrayParam(values: readonly number[]): string {
  for (const value of values) {
    if (!Number.isSafeInteger(value)) throw invalidArgument("values", `must be safe integers, got ${String(value)}`);
  }
  return `{${values.join(",")}}`;
}
