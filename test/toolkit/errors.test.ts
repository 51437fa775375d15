import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import { test } from "node:test";

import { ToolkitError, ToolkitErrorCode } from "../../src/toolkit/errors.js";

const CODE_SHAPE = /^SLUICE_[A-Z]+(_[A-Z]+)+$/;

test("every toolkit error code follows SLUICE_<SUBJECT>_<CONDITION> and is unique", () => {
  const codes = Object.values(ToolkitErrorCode);
  for (const code of codes) assert.match(code, CODE_SHAPE);
  assert.equal(new Set(codes).size, codes.length);
});

test("docs/toolkit-errors.md lists exactly the codes of the catalogue", async () => {
  const text = await readFile(new URL("../../docs/toolkit-errors.md", import.meta.url), "utf8");
  const documented = [...text.matchAll(/^\| `(SLUICE_[A-Z_]+)`/gm)].map((match) => match[1]);
  assert.deepEqual([...documented].sort(), Object.values(ToolkitErrorCode).sort());
});

test("no toolkit module spells out a code of its own instead of naming it in the catalogue", async () => {
  const root = new URL("../../src/toolkit/", import.meta.url);
  const files = (await readdir(root, { recursive: true })).filter((file) => file.endsWith(".ts"));
  const stray: string[] = [];
  for (const file of files) {
    if (file === "errors.ts") continue;
    const text = await readFile(new URL(file, root), "utf8");
    for (const match of text.matchAll(/"SLUICE_[A-Z_]+"/g)) stray.push(`${file}: ${match[0]}`);
  }
  assert.deepEqual(stray, []);
});

test("a ToolkitError carries its catalogue code", () => {
  const error = new ToolkitError(ToolkitErrorCode.HANDLER_TIMED_OUT, "late");
  assert.equal(error.code, "SLUICE_HANDLER_TIMED_OUT");
  assert.equal(error.name, "ToolkitError");
});
