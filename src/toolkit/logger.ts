// The logging interface the toolkit writes to: the subset of a pino logger it uses, so services pass their own.

export interface ToolkitLogger {
  debug(details: object, message: string): void;
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
  error(details: object, message: string): void;
}

export const silentLogger: ToolkitLogger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
};
