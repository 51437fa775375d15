// The table bench:toolkit prints: a row a measure, in the order they ran.

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
  const widths = header.map((title, index) => Math.max(title.length, ...lines.map((line) => line[index]!.length)));
  const format = (cells: string[]): string =>
    `| ${cells.map((cell, index) => cell.padEnd(widths[index]!)).join(" | ")} |`;
  console.log(format(header));
  console.log(`|${widths.map((width) => "-".repeat(width + 2)).join("|")}|`);
  for (const line of lines) console.log(format(line));
}
