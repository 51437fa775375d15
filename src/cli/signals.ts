// Graceful shutdown for long-running commands: the first SIGINT or SIGTERM asks the command to finish cleanly;
// a second one means the user has given up waiting, so the process exits at once with status 1.

export const SHUTDOWN_SIGNALS = ["SIGINT", "SIGTERM"] as const;

export interface ShutdownListener {
  /** Resolves with the first shutdown signal received. */
  readonly requested: Promise<NodeJS.Signals>;
  /** Stops listening; later signals get Node's default behaviour again. */
  dispose(): void;
}

export function listenForShutdown(onSecondSignal: (signal: NodeJS.Signals) => void): ShutdownListener {
  let received = false;
  let resolveRequested: (signal: NodeJS.Signals) => void = () => undefined;
  const requested = new Promise<NodeJS.Signals>((resolve) => {
    resolveRequested = resolve;
  });
  const handler = (signal: NodeJS.Signals): void => {
    if (received) {
      onSecondSignal(signal);
      return;
    }
    received = true;
    resolveRequested(signal);
  };
  for (const signal of SHUTDOWN_SIGNALS) process.on(signal, handler);
  return {
    requested,
    dispose() {
      for (const signal of SHUTDOWN_SIGNALS) process.off(signal, handler);
    },
  };
}
