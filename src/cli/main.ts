#!/usr/bin/env node
// Entry point of the `sluice` executable: runs the command named on the command line and exits with its status.

import { withEnvAliases } from "./env-aliases.js";
import { runSluice } from "./sluice.js";

// Without a listener, a closed stdout (`sluice ... | head`) would crash the process with EPIPE; the commands that
// stream output watch for it themselves.
process.stdout.on("error", () => undefined);

const exitCode = await runSluice(process.argv.slice(2), {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  env: withEnvAliases(process.env),
});
// Exiting explicitly stops timers and sockets a client library may have left behind; the empty write lets
// buffered output reach its destination first.
process.stdout.write("", () => process.exit(exitCode));
