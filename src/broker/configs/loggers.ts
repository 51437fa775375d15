// The BROKER_LOGGER config resource: Kafka names log4j loggers and levels; Sluice has one logger tree (pino), whose
// root is the broker's logger. Its level is read and changed under the name "root" with log4j's level names.

import type { Logger } from "pino";

export const ROOT_LOGGER = "root";

/** log4j level names, as Kafka's tools send them, and the pino level each one becomes. */
const PINO_LEVEL_OF: Readonly<Record<string, string>> = {
  ALL: "trace",
  TRACE: "trace",
  DEBUG: "debug",
  INFO: "info",
  WARN: "warn",
  ERROR: "error",
  FATAL: "fatal",
  OFF: "silent",
};

const LOG4J_LEVEL_OF: Readonly<Record<string, string>> = {
  trace: "TRACE",
  debug: "DEBUG",
  info: "INFO",
  warn: "WARN",
  error: "ERROR",
  fatal: "FATAL",
  silent: "OFF",
};

export const LOG4J_LEVELS = Object.keys(PINO_LEVEL_OF);

export function loggerLevels(logger: Logger): Array<{ name: string; level: string }> {
  return [{ name: ROOT_LOGGER, level: LOG4J_LEVEL_OF[logger.level] ?? logger.level.toUpperCase() }];
}

/** The pino level for a log4j level name, or null when the name is not a level. */
export function pinoLevel(log4jLevel: string): string | null {
  return PINO_LEVEL_OF[log4jLevel] ?? null;
}
