// Starting an embedded broker and real kafkajs clients for a test, and tearing them down after it.

import type { TestContext } from "node:test";
import { Kafka, logLevel, type KafkaConfig } from "kafkajs";
import pino from "pino";
import { startBroker, type RunningBroker, type StartBrokerOptions } from "../../src/broker/index.js";

export async function brokerForTest(t: TestContext, options: StartBrokerOptions = {}): Promise<RunningBroker> {
  // Broker logs stay quiet unless asked for (SLUICE_TEST_LOG_LEVEL=debug) so that test output shows test results.
  const logger = pino({ level: process.env.SLUICE_TEST_LOG_LEVEL ?? "silent" }, pino.destination(2));
  const broker = await startBroker({ port: 0, groupMinSessionTimeoutMs: 1000, logger, ...options });
  t.after(() => broker.close());
  return broker;
}

export function kafkaFor(broker: { address: string }, config: Partial<KafkaConfig> = {}): Kafka {
  return new Kafka({
    clientId: "sluice-test",
    brokers: [broker.address],
    logLevel: logLevel.NOTHING,
    retry: { retries: 5, initialRetryTime: 50, maxRetryTime: 500 },
    ...config,
  });
}

/** Polls `condition` until it holds or `timeoutMs` passes; returns whether it held. */
export async function eventually(condition: () => boolean | Promise<boolean>, timeoutMs = 10_000, stepMs = 20): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, stepMs));
  }
  return condition();
}
