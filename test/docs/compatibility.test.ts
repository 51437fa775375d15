// The README's compatibility table must list exactly the API keys and versions ApiVersions advertises.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { HANDLERS } from "../../src/broker/handlers/index.js";

test("the README's table of API keys is what the broker serves", () => {
  const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
  const section = readme.slice(readme.indexOf("### Compatibility"), readme.indexOf("Not supported (not advertised"));
  const listed = new Map<number, string>();
  for (const line of section.split("\n").filter((row) => /^\| \d/.test(row) || /^\| \| \| \| \| \d/.test(row))) {
    const cells = line.split("|").map((cell) => cell.trim());
    for (const start of [1, 5]) {
      const [key, name, versions] = cells.slice(start, start + 3);
      if (key === undefined || key === "") continue;
      listed.set(Number(key), `${name} ${versions}`);
    }
  }
  const served = new Map(
    [...HANDLERS.values()].map((handler) => {
      const [min, max] = handler.versions;
      return [handler.apiKey, `${handler.name} ${min === max ? String(min) : `${min}–${max}`}`];
    }),
  );
  assert.deepEqual(new Map([...listed].sort(([a], [b]) => a - b)), new Map([...served].sort(([a], [b]) => a - b)));
});
