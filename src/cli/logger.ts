// Structured logs for CLI processes: pino, written to stderr so that stdout stays free for the command's output.

import { pino, type Logger } from "pino";
import type { Writable } from "node:stream";

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export function createCliLogger(level: LogLevel, destination: Writable): Logger {
  return pino({ level }, destination);
}
