// Starting `sluice up`'s system in the test's process with chosen apps (the fixture is not in the catalogue), on
// free ports and in a temporary data directory.

import type { TestContext } from "node:test";

import pino from "pino";

import { parseArguments } from "../../../src/cli/args.js";
import { resolveUpConfig, upOptions, type UpConfig } from "../../../src/cli/up/config.js";
import { temporaryDir } from "../../helpers/environment.js";

export const silent = pino({ level: process.env.SLUICE_TEST_LOG_LEVEL ?? "silent" }, pino.destination(2));

/** A config from `sluice up` flags, running the given apps (the fixture is not in the catalogue) and the broker. */
export function configFor(
  t: TestContext,
  apps: UpConfig["runningApps"],
  dataDir = temporaryDir(t),
  flags: readonly string[] = [],
): UpConfig {
  const parsed = parseArguments(
    ["--port", "0", "--broker-port", "0", "--registry-port", "0", "--data-dir", dataDir, ...flags],
    {
      options: upOptions,
      positionals: [],
    },
  );
  if (parsed.help) throw new Error("unexpected --help");
  const config = resolveUpConfig(parsed.options);
  const roles = new Set(["broker", ...apps.flatMap((app) => app.roles.map((role) => role.name))]);
  return { ...config, roles, runningApps: apps };
}
