// The console as a part of a running system (`sluice up`'s console role and `sluice console`): its own Kafka client
// on the bootstrap address, the console plugin, and the overview's sampler, stopped together.

import type { FastifyPluginAsync } from "fastify";

import type { Auth } from "../gateway/auth/auth.js";
import { SluiceKafkaClient, type KafkaClientOptions } from "../kafka/client/index.js";
import type { Database } from "../store/database.js";
import type { KafkaClient } from "../toolkit/kafka/connection.js";
import { createConsole, type Console } from "./console.js";
import type { ConsoleLogger } from "./context.js";
import type { SamplerOptions } from "./overview.js";

export interface ConsoleRoleOptions {
  readonly brokers: readonly string[];
  /** TLS for the console's own Kafka connections (true: the system's CAs); absent or false: plaintext. */
  readonly tls?: KafkaClientOptions["tls"];
  /** SASL for the console's own Kafka connections; absent or null: none. */
  readonly sasl?: KafkaClientOptions["sasl"];
  readonly toolkitKafka?: KafkaClient | null;
  readonly database?: Database | null;
  readonly registryUrl?: string | null;
  readonly auth?: Auth | null;
  readonly sampler?: SamplerOptions;
  readonly logger: ConsoleLogger;
}

export interface ConsoleRole {
  readonly plugin: FastifyPluginAsync;
  readonly console: Console;
  stop(): Promise<void>;
}

export function startConsoleRole(options: ConsoleRoleOptions): ConsoleRole {
  const kafka = new SluiceKafkaClient({
    bootstrapBrokers: [...options.brokers],
    clientId: "sluice-console",
    tls: options.tls ?? false,
    sasl: options.sasl ?? null,
  });
  const console = createConsole({ ...options, kafka });
  console.start();
  return {
    plugin: console.plugin,
    console,
    async stop() {
      await console.stop();
      await kafka.close();
    },
  };
}
