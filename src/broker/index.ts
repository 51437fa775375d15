// Starting a broker in the calling process: what `sluice broker` runs and what users embed in their test suites.

import pino, { type Logger } from "pino";
import { Broker } from "./broker.js";
import { defaultBrokerConfig, type BrokerConfig } from "./config.js";
import type { FaultRule } from "./faults.js";
import { HANDLERS } from "./handlers/index.js";
import { BrokerServer } from "./server.js";

export type { BrokerConfig, FlushMode, SaslMechanism } from "./config.js";
export type { FaultAction, FaultRule } from "./faults.js";

export interface StartBrokerOptions extends Partial<BrokerConfig> {
  /** Where the broker logs; defaults to warnings and errors on stderr. */
  logger?: Logger;
}

export interface RunningBroker {
  readonly host: string;
  readonly port: number;
  /** "host:port", ready for a Kafka client's bootstrap list. */
  readonly address: string;
  readonly broker: Broker;
  /** Makes requests of one API key fail (delay, error code, dropped connection); returns a function that undoes it. */
  injectFault(rule: FaultRule): () => void;
  clearFaults(): void;
  /** Stops accepting, finishes in-flight requests and writes, fsyncs and closes. */
  close(): Promise<void>;
}

/**
 * Starts a Kafka-compatible broker in this process. With no `dataDir` everything stays in memory; `port: 0` picks
 * a free port (read it from the result).
 */
export async function startBroker(options: StartBrokerOptions = {}): Promise<RunningBroker> {
  const { logger: givenLogger, ...overrides } = options;
  const config: BrokerConfig = { ...defaultBrokerConfig(), port: 0, ...overrides };
  const logger = givenLogger ?? pino({ level: "warn" }, pino.destination(2));
  const broker = new Broker(config, logger);
  await broker.open();
  const server = new BrokerServer(broker, HANDLERS);
  let listening: { host: string; port: number };
  try {
    listening = await server.listen();
  } catch (error) {
    await broker.close();
    throw error;
  }
  broker.setBoundPort(listening.port);
  let closing: Promise<void> | null = null;
  return {
    host: listening.host,
    port: listening.port,
    address: `${listening.host}:${listening.port}`,
    broker,
    injectFault: (rule) => broker.faults.add(rule),
    clearFaults: () => broker.faults.clear(),
    close() {
      closing ??= server.close().then(() => broker.close());
      return closing;
    },
  };
}
