// The AMQP 0-9-1 transport (RabbitMQ): a TransportClient that the outbox relay and the inbox consumer take in place
// of a Kafka client. One connection per client, shared by its producers, consumers and admins.

import { silentLogger, type ToolkitLogger } from "../logger.js";
import { AMQP_CAPABILITIES, type TransportClient } from "../transports/transport.js";
import { createAmqpAdmin } from "./admin.js";
import { AmqpConnection } from "./connection.js";
import { createAmqpConsumer } from "./consumer.js";
import { resolveAmqpOptions, type AmqpClientOptions, type ResolvedAmqpOptions } from "./options.js";
import { createAmqpProducer } from "./producer.js";
import { AmqpTopology } from "./topology.js";

export interface AmqpClient extends TransportClient {
  readonly kind: "amqp";
  readonly settings: ResolvedAmqpOptions;
  readonly topology: AmqpTopology;
  /** The shared connection, for tools (dead-letter listing) that need channels of their own. */
  readonly connection: AmqpConnection;
  /** Closes the connection; producers and consumers made by this client stop working. */
  close(): Promise<void>;
}

export function createAmqpClient(options: AmqpClientOptions = {}): AmqpClient {
  const settings = resolveAmqpOptions(options);
  const logger: ToolkitLogger = options.logger ?? silentLogger;
  const connection = new AmqpConnection(settings, logger);
  const topology = new AmqpTopology(settings);
  return {
    kind: "amqp",
    capabilities: AMQP_CAPABILITIES,
    logger,
    address: settings.address,
    settings,
    topology,
    connection,
    producer: () => createAmqpProducer(connection, settings, logger),
    admin: () => createAmqpAdmin(connection, topology),
    consumer: (consumerOptions) => createAmqpConsumer(connection, topology, settings, logger, consumerOptions),
    close: () => connection.close(),
  };
}
