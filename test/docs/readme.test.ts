// The README's code must run as written: every TypeScript block in it is an excerpt of an example that the toolkit
// tests run against the embedded broker and both databases.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
const examples = ["toolkit-publishing.ts", "toolkit-consuming.ts"].map((name) =>
  readFileSync(new URL(`../../examples/${name}`, import.meta.url), "utf8"),
);

test("every TypeScript block of the README's toolkit guide is in a tested example", () => {
  const section = readme.slice(readme.indexOf("## The service toolkit"), readme.indexOf("## The command line"));
  const blocks = [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1] ?? "");
  assert.ok(blocks.length >= 4, `found ${blocks.length} blocks`);
  for (const block of blocks) {
    assert.ok(
      examples.some((example) => example.includes(block)),
      `not in examples/:\n${block}`,
    );
  }
});
