// The Node versions Sluice declares are ones every dependency accepts, so that `npm install` on them prints no
// EBADENGINE warning, and every dependency's install script is decided in allowScripts, so that npm prints no notice.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

interface LockPackage {
  engines?: { node?: string };
  hasInstallScript?: boolean;
  optional?: boolean;
}

const manifest = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
  engines: { node: string };
  allowScripts?: Record<string, boolean>;
};
const lock = JSON.parse(readFileSync(new URL("../../package-lock.json", import.meta.url), "utf8")) as {
  packages: Record<string, LockPackage>;
};

type Version = [number, number, number];

function parseVersion(text: string): Version {
  const [major = 0, minor = 0, patch = 0] = text.replace(/^v/, "").split(".").map(Number);
  return [major, minor, patch];
}

function compare(a: Version, b: Version): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

/** Whether version satisfies one comparator: `>=22`, `^20.9.0`, `20`, `>= 22.19.0`, `<23`. */
function satisfiesComparator(version: Version, comparator: string): boolean {
  if (comparator === "*" || comparator === "") return true;
  const match = /^(>=|<=|>|<|\^|~|=)?\s*v?(\d+(?:\.\d+){0,2})(?:\.x)?$/.exec(comparator.trim());
  if (match === null) throw new Error(`cannot read the Node range comparator "${comparator}"`);
  const operator = match[1] ?? "";
  const bound = parseVersion(match[2]!);
  const parts = match[2]!.split(".").length;
  const order = compare(version, bound);
  switch (operator) {
    case ">=":
      return order >= 0;
    case ">":
      return order > 0;
    case "<=":
      return order <= 0;
    case "<":
      return order < 0;
    case "^":
      return order >= 0 && version[0] === bound[0];
    case "~":
      return order >= 0 && version[0] === bound[0] && version[1] === bound[1];
    default:
      return parts === 1
        ? version[0] === bound[0]
        : parts === 2
          ? version[0] === bound[0] && version[1] === bound[1]
          : order === 0;
  }
}

function satisfies(version: Version, range: string): boolean {
  return range.split("||").some((alternative) =>
    alternative
      .trim()
      .replace(/(>=|<=|>|<)\s+/g, "$1")
      .split(/\s+/)
      .every((comparator) => satisfiesComparator(version, comparator)),
  );
}

/** The lowest release of each supported line: the declared floor, and the first Node 24 LTS every dependency takes. */
const SUPPORTED_FLOORS = ["22.19.0", "24.6.0"].map(parseVersion);

test("the declared Node range starts at 22.19, and every dependency accepts it and Node 24", () => {
  assert.equal(manifest.engines.node, ">=22.19.0");
  const refusing: string[] = [];
  for (const [path, entry] of Object.entries(lock.packages)) {
    const range = entry.engines?.node;
    if (path === "" || range === undefined) continue;
    for (const floor of SUPPORTED_FLOORS) {
      if (!satisfies(floor, range)) refusing.push(`${path} (${range}) refuses Node ${floor.join(".")}`);
    }
  }
  assert.deepEqual(refusing, []);
});

test("every dependency with an install script has a decision in allowScripts", () => {
  const undecided = Object.entries(lock.packages)
    .filter(([, entry]) => entry.hasInstallScript === true)
    .map(([path]) => path.slice(path.lastIndexOf("node_modules/") + "node_modules/".length))
    .filter((name) => manifest.allowScripts?.[name] === undefined);
  assert.deepEqual(undecided, []);
});
