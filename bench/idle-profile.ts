// Loaded into the `sluice up` that `npm run bench:idle -- --cpu-prof <file>` starts: profiles the main thread's CPU
// between two SIGUSR2 signals (the bench's measuring window) and writes the profile to the file, which Chrome's
// DevTools and VS Code open. Sampling costs CPU itself, so the bench's CPU figure is not comparable with one
// measured without it.

import { renameSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";

/** Microseconds between samples: fine enough for the millisecond-long round trips an idle process makes. */
const SAMPLING_INTERVAL_US = 1_000;

const outFile = process.env.SLUICE_BENCH_PROFILE_FILE!;
const session = new Session();
session.connect();
let profiling = false;

process.on("SIGUSR2", () => {
  void (async () => {
    if (!profiling) {
      profiling = true;
      await session.post("Profiler.enable");
      await session.post("Profiler.setSamplingInterval", { interval: SAMPLING_INTERVAL_US });
      await session.post("Profiler.start");
      return;
    }
    const { profile } = await session.post("Profiler.stop");
    // Written whole under another name first, so that the bench never reads half a profile.
    writeFileSync(`${outFile}.partial`, JSON.stringify(profile));
    renameSync(`${outFile}.partial`, outFile);
  })();
});
