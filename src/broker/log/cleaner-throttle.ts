// The log cleaner's I/O throttle (Kafka's log.cleaner.io.max.bytes.per.second): the cleaning counts every chunk it
// reads or writes and, after each, pauses until the bytes of the current window could have moved at the limit, so
// the rate over any window never exceeds it. The limit is asked for at every chunk, so a dynamic change applies to a
// cleaning in progress.

import { performance } from "node:perf_hooks";
import { LOG_CLEANER_IO_BYTES_PER_SECOND_MAX } from "../config.js";

/** How long a throttle window lasts before its count starts again (Kafka's throttler checks every 300 ms). */
export const CLEANER_THROTTLE_WINDOW_MS = 300;

export class CleanerThrottle {
  private windowStartMs = performance.now();
  private windowBytes = 0;

  constructor(
    /** The limit in bytes per second, read afresh at every chunk; 0 or less holds the cleaning until it is raised. */
    private readonly bytesPerSecondMax: () => number,
    /** Ends a pause early (the cleaning is being abandoned); the caller then stops. */
    private readonly abandoned: () => boolean,
    private readonly windowMs = CLEANER_THROTTLE_WINDOW_MS,
  ) {}

  /** Counts `bytes` read or written, then pauses until the window's rate is at or below the limit. */
  async moved(bytes: number): Promise<void> {
    this.windowBytes += bytes;
    for (;;) {
      const limit = this.bytesPerSecondMax();
      // Kafka's default (Double.MAX_VALUE) means no throttle.
      if (limit >= LOG_CLEANER_IO_BYTES_PER_SECOND_MAX) break;
      const dueMs = limit > 0 ? (this.windowBytes / limit) * 1000 : Infinity;
      const elapsedMs = performance.now() - this.windowStartMs;
      if (elapsedMs >= dueMs || this.abandoned()) break;
      // Timers may fire a little early by the monotonic clock, so the loop looks again; a pause never exceeds a window,
      // so a raised limit and a stop are noticed within one.
      const pauseMs = Math.min(Math.ceil(dueMs - elapsedMs), this.windowMs);
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
    const nowMs = performance.now();
    if (nowMs - this.windowStartMs >= this.windowMs) {
      this.windowStartMs = nowMs;
      this.windowBytes = 0;
    }
  }
}
