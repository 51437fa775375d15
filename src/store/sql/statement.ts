// The shape every SQL builder returns, and the one way to run it.

import type { Queryable, QueryResult } from "../database.js";

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
