// The subset of a pino logger the console uses, apart from context.ts so that the parts the context holds (the
// audit log, the overview sampler) can log without importing the context.

export interface ConsoleLogger {
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
  error(details: object, message: string): void;
  debug(details: object, message: string): void;
}
