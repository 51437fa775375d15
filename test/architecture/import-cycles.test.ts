// No import cycles under src/: a cycle makes load order decide whether a module sees its imports initialized, and
// ties files together that should stand alone. Static imports and re-exports count, type-only ones too (a type
// cycle is the same tangle of responsibilities); dynamic import() does not, since it runs after every module loaded.

import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SOURCE = join(ROOT, "src");
const STATIC_SPECIFIER = /^\s*(?:import|export)\b[^'"]*?\bfrom\s*["']([^"']+)["']|^\s*import\s*["']([^"']+)["']/gm;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return name.endsWith(".ts") && !name.endsWith(".d.ts") ? [path] : [];
  });
}

/** The files under src/ that file imports statically; packages and node: modules are left out. */
function localImports(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const imports: string[] = [];
  for (const match of text.matchAll(STATIC_SPECIFIER)) {
    const specifier = match[1] ?? match[2] ?? "";
    if (!specifier.startsWith(".")) continue;
    imports.push(resolve(dirname(file), specifier).replace(/\.js$/, ".ts"));
  }
  return imports;
}

/** Every strongly connected group of two or more files (or a file importing itself), each as sorted paths. */
function importCycles(files: readonly string[]): string[][] {
  const graph = new Map(files.map((file) => [file, localImports(file)]));
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  let counter = 0;
  const visit = (file: string): void => {
    index.set(file, counter);
    low.set(file, counter++);
    stack.push(file);
    onStack.add(file);
    for (const target of graph.get(file) ?? []) {
      if (!graph.has(target)) continue;
      if (!index.has(target)) {
        visit(target);
        low.set(file, Math.min(low.get(file)!, low.get(target)!));
      } else if (onStack.has(target)) {
        low.set(file, Math.min(low.get(file)!, index.get(target)!));
      }
    }
    if (low.get(file) !== index.get(file)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      component.push(member);
    } while (member !== file);
    if (component.length > 1 || (graph.get(file) ?? []).includes(file)) cycles.push(component.sort());
  };
  for (const file of files) if (!index.has(file)) visit(file);
  return cycles;
}

test("no import cycles under src/", () => {
  const cycles = importCycles(sourceFiles(SOURCE)).map((cycle) =>
    cycle.map((file) => relative(ROOT, file)).join(" ↔ "),
  );
  assert.deepEqual(cycles, [], cycles.join("\n"));
});
