// The `sluice` command tree: every command the CLI offers, and the version it reports.

import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { defineCommandGroup, type Command, type CommandIo } from "./command.js";
import { brokerCommand } from "./commands/broker.js";
import { consoleCommand } from "./commands/console.js";
import { consumeCommand } from "./commands/consume.js";
import { dltCommand } from "./commands/dlt.js";
import { outboxCommand } from "./commands/outbox.js";
import { produceCommand } from "./commands/produce.js";
import { registryCommand } from "./commands/registry.js";
import { schemasCommand } from "./commands/schemas.js";
import { topicsCommand } from "./commands/topics.js";
import { upCommand } from "./commands/up.js";

const PACKAGE_SEARCH_DEPTH_MAX = 5;

/** Finds this package's version by walking up from this file, which sits at a different depth in src/ and dist/. */
function packageVersion(): string {
  let directory = dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < PACKAGE_SEARCH_DEPTH_MAX; depth++) {
    try {
      const manifest: unknown = JSON.parse(readFileSync(join(directory, "package.json"), "utf8"));
      if (typeof manifest === "object" && manifest !== null && "name" in manifest && manifest.name === "sluice") {
        return "version" in manifest ? String(manifest.version) : "unknown";
      }
    } catch {
      // No readable package.json here; keep walking up.
    }
    directory = dirname(directory);
  }
  return "unknown";
}

export const sluiceCommand: Command = defineCommandGroup({
  name: "sluice",
  summary: "Sluice: a Kafka-compatible broker and tools for event-driven TypeScript services.",
  version: packageVersion(),
  commands: [
    upCommand,
    brokerCommand,
    registryCommand,
    consoleCommand,
    schemasCommand,
    topicsCommand,
    produceCommand,
    consumeCommand,
    dltCommand,
    outboxCommand,
  ],
});

/** Runs the CLI with the given arguments (without the node and script paths) and resolves to the exit code. */
export function runSluice(argv: readonly string[], io: CommandIo): Promise<number> {
  return sluiceCommand.execute(argv, io, "");
}
