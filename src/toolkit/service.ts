// A service's lifecycle: its components start in order and stop in reverse order, on stop() or on SIGTERM/SIGINT,
// and the service is ready when every component is.

import { describeError, ToolkitError, ToolkitErrorCode } from "./errors.js";
import { silentLogger, type ToolkitLogger } from "./logger.js";

export interface Component {
  readonly name: string;
  start(): Promise<void>;
  /** Finishes in-flight work and releases resources; called once, after start succeeded. */
  stop(): Promise<void>;
  readonly ready: boolean;
}

export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 30_000;
export const DEFAULT_SHUTDOWN_SIGNALS: readonly NodeJS.Signals[] = ["SIGTERM", "SIGINT"];
export const SERVICE_COMPONENTS_MAX = 1_000;

export interface ServiceOptions {
  name: string;
  /** Started in this order, stopped in the reverse order. */
  components: readonly Component[];
  logger?: ToolkitLogger;
  /** Signals that stop the service; an empty list installs no handler. Default SIGTERM and SIGINT. */
  signals?: readonly NodeJS.Signals[];
  /** How long stopping all components may take before the service gives up waiting. */
  shutdownTimeoutMs?: number;
  /**
   * After a signal stopped the service, exit the process (code 0, or 1 when a component failed to stop or the
   * timeout passed); a second signal exits at once. Default true; tests that send signals pass false.
   */
  exitProcess?: boolean;
}

export interface ComponentReadiness {
  name: string;
  ready: boolean;
}

export interface Readiness {
  ready: boolean;
  state: ServiceState;
  components: ComponentReadiness[];
}

export type ServiceState = "created" | "starting" | "running" | "stopping" | "stopped" | "failed";

export interface Service {
  readonly name: string;
  readonly state: ServiceState;
  /** True while running with every component ready. */
  readonly ready: boolean;
  readiness(): Readiness;
  /** Starts every component in order; when one fails, stops those already started and rejects. */
  start(): Promise<void>;
  /** Stops the started components in reverse order; resolves false when one failed or the timeout passed. */
  stop(): Promise<boolean>;
  /** Resolves when the service has stopped, however it was stopped. */
  readonly stopped: Promise<void>;
}

/** A component from plain functions, for resources such as a database that only need closing. */
export function defineComponent(options: {
  name: string;
  start?: () => Promise<void>;
  stop?: () => Promise<void>;
  ready?: () => boolean;
}): Component {
  let running = false;
  return {
    name: options.name,
    async start() {
      await options.start?.();
      running = true;
    },
    async stop() {
      running = false;
      await options.stop?.();
    },
    get ready() {
      return running && (options.ready?.() ?? true);
    },
  };
}

function timeoutAfter(ms: number): { promise: Promise<"timeout">; cancel: () => void } {
  let timer: NodeJS.Timeout | undefined;
  const promise = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), ms);
  });
  return { promise, cancel: () => clearTimeout(timer) };
}

export function createService(options: ServiceOptions): Service {
  const logger = options.logger ?? silentLogger;
  const components = [...options.components];
  if (components.length > SERVICE_COMPONENTS_MAX) {
    throw new ToolkitError(ToolkitErrorCode.SERVICE_START_FAILED, `at most ${SERVICE_COMPONENTS_MAX} components`);
  }
  const names = new Set<string>();
  for (const component of components) {
    if (names.has(component.name)) {
      throw new ToolkitError(
        ToolkitErrorCode.SERVICE_START_FAILED,
        `two components are named "${component.name}"; give each a distinct name`,
      );
    }
    names.add(component.name);
  }
  const signals = options.signals ?? DEFAULT_SHUTDOWN_SIGNALS;
  const shutdownTimeoutMs = options.shutdownTimeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS;
  const exitProcess = options.exitProcess ?? true;
  let state: ServiceState = "created";
  const started: Component[] = [];
  let stopping: Promise<boolean> | null = null;
  let starting: Promise<void> | null = null;
  let resolveStopped: () => void = () => {};
  const stopped = new Promise<void>((resolve) => {
    resolveStopped = resolve;
  });

  const stopStarted = async (): Promise<boolean> => {
    let clean = true;
    while (started.length > 0) {
      const component = started.pop() as Component;
      try {
        await component.stop();
        logger.debug({ service: options.name, component: component.name }, "component stopped");
      } catch (error) {
        clean = false;
        logger.error(
          { service: options.name, component: component.name, err: error },
          `component "${component.name}" failed to stop: ${describeError(error)}`,
        );
      }
    }
    return clean;
  };

  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping !== null) {
      logger.warn({ service: options.name, signal }, "second signal during shutdown");
      if (exitProcess) process.exit(1);
      return;
    }
    logger.info({ service: options.name, signal }, "signal received, shutting down");
    void service.stop().then((clean) => {
      if (exitProcess) process.exit(clean ? 0 : 1);
    });
  };

  const installSignals = (): void => {
    for (const signal of signals) process.on(signal, onSignal);
  };
  const removeSignals = (): void => {
    for (const signal of signals) process.off(signal, onSignal);
  };

  const startComponents = async (): Promise<void> => {
    for (const component of components) {
      if (stopping !== null) return;
      try {
        await component.start();
        started.push(component);
        logger.debug({ service: options.name, component: component.name }, "component started");
      } catch (error) {
        state = "failed";
        await stopStarted();
        removeSignals();
        resolveStopped();
        throw new ToolkitError(
          ToolkitErrorCode.SERVICE_START_FAILED,
          `service "${options.name}": component "${component.name}" failed to start: ${describeError(error)}`,
          { cause: error },
        );
      }
    }
    if (stopping === null) {
      state = "running";
      logger.info({ service: options.name }, "service started");
    }
  };

  const service: Service = {
    name: options.name,
    get state() {
      return state;
    },
    get ready() {
      return state === "running" && components.every((component) => component.ready);
    },
    readiness() {
      const list = components.map((component) => ({ name: component.name, ready: component.ready }));
      return { ready: state === "running" && list.every((entry) => entry.ready), state, components: list };
    },
    async start() {
      if (state !== "created") {
        throw new ToolkitError(
          ToolkitErrorCode.SERVICE_START_FAILED,
          `service "${options.name}" is ${state}; create a new service to start again`,
        );
      }
      state = "starting";
      installSignals();
      starting = startComponents();
      return starting;
    },
    stop() {
      stopping ??= (async () => {
        // A stop during start waits for the component being started, then stops everything started so far.
        if (starting !== null) await starting.catch(() => undefined);
        if (state === "created" || state === "failed") {
          if (state === "created") state = "stopped";
          removeSignals();
          resolveStopped();
          return true;
        }
        state = "stopping";
        const timeout = timeoutAfter(shutdownTimeoutMs);
        const outcome = await Promise.race([stopStarted(), timeout.promise]);
        timeout.cancel();
        removeSignals();
        state = "stopped";
        resolveStopped();
        if (outcome === "timeout") {
          logger.error(
            { service: options.name, shutdownTimeoutMs, pending: started.map((component) => component.name) },
            `service "${options.name}" did not stop within ${shutdownTimeoutMs} ms`,
          );
          return false;
        }
        logger.info({ service: options.name }, "service stopped");
        return outcome;
      })();
      return stopping;
    },
    stopped,
  };
  return service;
}
