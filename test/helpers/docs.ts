// Guides show code as excerpts of examples that tests run: this checks that every TypeScript block of a guide is
// really in its example, so the guide cannot drift from code that works.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";

export function assertBlocksAreExcerpts(doc: URL, example: URL, blocksMin: number): void {
  const docText = readFileSync(doc, "utf8");
  const exampleText = readFileSync(example, "utf8");
  const blocks = [...docText.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1] ?? "");
  assert.ok(blocks.length >= blocksMin, `found ${blocks.length} blocks, expected at least ${blocksMin}`);
  for (const block of blocks) assert.ok(exampleText.includes(block), `not in the example:\n${block}`);
}
