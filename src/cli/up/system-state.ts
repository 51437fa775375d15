// What the parts of `sluice up` (system.ts) share: the addresses they report, the roles that run, the state each
// part hands to the parts started after it, and the way a part is added to the system.

import type { FastifyPluginAsync } from "fastify";

import type { AppImplementation, AppManifest, AppRoleManifest } from "../../apps/app.js";
import type { Auth } from "../../gateway/auth/auth.js";
import type { ReadinessCheck } from "../../gateway/readiness.js";
import type { ConsoleRole } from "../../console/role.js";
import type { Database } from "../../store/index.js";
import type { KafkaClient, TransportClient } from "../../toolkit/index.js";

export interface AppAddress {
  readonly name: string;
  readonly title: string;
  /** The app's page, e.g. "http://127.0.0.1:8080/orders/". */
  readonly url: string;
}

export interface SystemAddresses {
  /** The HTTP server, e.g. "http://127.0.0.1:8080": the apps of HTTP roles, and in every process the health
   * endpoints and metrics; null until it listens. */
  http: string | null;
  /** The pages of the apps with an HTTP role here, in catalogue order. */
  apps: AppAddress[];
  /** The bootstrap address of the Kafka endpoint in use. */
  kafka: string;
  /** True when the broker runs in this process. */
  embeddedBroker: boolean;
  /** "PGlite in <dir>" or the server URL without its password; null when no role here uses the database. */
  database: string | null;
  /** The schema registry's URL: this process's own, or --registry-url; null when there is none. */
  registry: string | null;
  /** True when the registry runs in this process. */
  embeddedRegistry: boolean;
  /** With --transport: RabbitMQ's URL without its password, and the work queues on it; null otherwise. */
  amqp: { address: string; queues: string[] } | null;
}

export interface RunningRole {
  readonly app: AppManifest;
  readonly implementation: AppImplementation;
  readonly role: AppRoleManifest;
}

/** What the parts started so far hand to the parts after them. */
export interface SystemState {
  kafka: KafkaClient | null;
  /** The Kafka client, or with --transport a client that sends the apps' work queues to RabbitMQ. */
  transport: TransportClient | null;
  /** The database of the data directory or DATABASE_URL, whose own schema keeps the auth tables. */
  database: Database | null;
  /** Each service's database (a view of `database` in its schema, or one of its own), by service name. */
  services: Map<string, Database>;
  auth: Auth | null;
  console: ConsoleRole | null;
  routes: Array<{ app: AppManifest; plugin: FastifyPluginAsync }>;
  readinessChecks: ReadinessCheck[];
}

/** Adds a part to the system: started in the order added, stopped in reverse. */
export type AddPart = (name: string, start: () => Promise<void>, stop?: () => Promise<void>) => void;
