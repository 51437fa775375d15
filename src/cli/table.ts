// Aligned plain-text tables for human output: a header row, left-aligned text and right-aligned numbers.

export interface TableColumn {
  readonly header: string;
  readonly align?: "left" | "right";
}

export type TableCell = string | number;

export function renderTable(columns: readonly TableColumn[], rows: readonly (readonly TableCell[])[]): string {
  const text = rows.map((row) => columns.map((_, index) => String(row[index] ?? "")));
  const widths = columns.map((column, index) =>
    Math.max(column.header.length, ...text.map((row) => row[index]!.length)),
  );
  const renderRow = (cells: readonly string[]): string =>
    cells
      .map((cell, index) =>
        columns[index]!.align === "right" ? cell.padStart(widths[index]!) : cell.padEnd(widths[index]!),
      )
      .join("  ")
      .trimEnd();
  return [renderRow(columns.map((column) => column.header)), ...text.map(renderRow)].join("\n") + "\n";
}
