// What every part of the console's API shares: the Kafka client it reads the cluster through, who may view and who
// may change, the audit log, and the optional registry and database.

import type { FastifyReply, FastifyRequest } from "fastify";

import type { Database } from "../store/database.js";
import type { KafkaClient } from "../toolkit/kafka/connection.js";
import type { SluiceKafkaClient } from "../kafka/client/index.js";
import type { AuditLog } from "./audit.js";
import type { OverviewSampler } from "./overview.js";

export type Guard = (request: FastifyRequest, reply: FastifyReply) => Promise<void>;

export interface ConsoleLogger {
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
  error(details: object, message: string): void;
  debug(details: object, message: string): void;
}

export interface ConsoleContext {
  readonly kafka: SluiceKafkaClient;
  /** The toolkit's client, for the toolkit's own operations (dead-letter redrive). */
  readonly toolkitKafka: KafkaClient | null;
  readonly database: Database | null;
  readonly registryUrl: string | null;
  /** Pre-handlers of routes that only read. */
  readonly view: Guard[];
  /** Pre-handlers of routes that change something (create, delete, reset, produce, redrive). */
  readonly change: Guard[];
  readonly audit: AuditLog;
  readonly sampler: OverviewSampler;
  readonly logger: ConsoleLogger;
}

/** Who made a request, for the audit log. */
export function actorOf(request: FastifyRequest): string {
  return request.user?.username ?? "anonymous";
}
