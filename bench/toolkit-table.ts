// The table bench:toolkit prints: a row a measure, in the order they ran.

import { table } from "./common.js";

export interface Row {
  transport?: string;
  database: string;
  measure: string;
  events: number;
  seconds: number;
  result: string;
  /** CPU µs per event: this process + RabbitMQ + PostgreSQL (see toolkit-cpu.ts). */
  cpu?: string;
}

export function printTable(rows: Row[]): void {
  const header = ["transport", "database", "measure", "events", "seconds", "result", "CPU µs/event"];
  const lines = rows.map((row) => [
    row.transport ?? "kafka",
    row.database,
    row.measure,
    String(row.events),
    row.seconds.toFixed(2),
    row.result,
    row.cpu ?? "",
  ]);
  console.log(table(header, lines));
}
