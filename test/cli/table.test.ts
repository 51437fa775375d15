import assert from "node:assert/strict";
import { test } from "node:test";
import { renderTable } from "../../src/cli/table.js";

test("renderTable pads text left, numbers right, and trims trailing spaces", () => {
  const table = renderTable(
    [{ header: "TOPIC" }, { header: "PARTITIONS", align: "right" }, { header: "NOTE" }],
    [
      ["orders", 12, ""],
      ["a", 3, "x"],
    ],
  );
  assert.equal(table, ["TOPIC   PARTITIONS  NOTE", "orders          12", "a                3  x", ""].join("\n"));
});

test("renderTable with no rows prints the header alone", () => {
  assert.equal(renderTable([{ header: "A" }, { header: "B" }], []), "A  B\n");
});
