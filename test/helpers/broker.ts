// Starting an embedded broker and real kafkajs clients for a test, and tearing them down after it: clients first,
// then the broker, so that no client is left retrying against a closed port.

import type { TestContext } from "node:test";
import { Kafka, logLevel, type KafkaConfig } from "kafkajs";
import pino from "pino";
import { startBroker, type RunningBroker, type StartBrokerOptions } from "../../src/broker/index.js";

interface Disconnectable {
  disconnect(): Promise<void>;
}

const clientsOf = new WeakMap<object, Set<Disconnectable>>();

export async function brokerForTest(t: TestContext, options: StartBrokerOptions = {}): Promise<RunningBroker> {
  // Broker logs stay quiet unless asked for (SLUICE_TEST_LOG_LEVEL=debug) so that test output shows test results.
  const logger = pino({ level: process.env.SLUICE_TEST_LOG_LEVEL ?? "silent" }, pino.destination(2));
  const broker = await startBroker({ port: 0, groupMinSessionTimeoutMs: 1000, logger, ...options });
  const clients = new Set<Disconnectable>();
  clientsOf.set(broker, clients);
  t.after(async () => {
    await Promise.all([...clients].map((client) => client.disconnect().catch(() => undefined)));
    await broker.close();
  });
  return broker;
}

/** A kafkajs client for the broker; producers, consumers and admins it makes are disconnected after the test. */
export function kafkaFor(broker: { address: string }, config: Partial<KafkaConfig> = {}): Kafka {
  const kafka = new Kafka({
    clientId: "sluice-test",
    brokers: [broker.address],
    logLevel: logLevel.NOTHING,
    retry: { retries: 5, initialRetryTime: 50, maxRetryTime: 500 },
    ...config,
  });
  const clients = clientsOf.get(broker);
  if (clients === undefined) return kafka;
  const track = <T extends Disconnectable>(client: T): T => {
    clients.add(client);
    return client;
  };
  const producer = kafka.producer.bind(kafka);
  const consumer = kafka.consumer.bind(kafka);
  const admin = kafka.admin.bind(kafka);
  kafka.producer = (options) => track(producer(options));
  kafka.consumer = (options) => track(consumer(options));
  kafka.admin = (options) => track(admin(options));
  return kafka;
}

/** Polls `condition` until it holds or `timeoutMs` passes; returns whether it held. */
export async function eventually(
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
  stepMs = 20,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, stepMs));
  }
  return condition();
}
