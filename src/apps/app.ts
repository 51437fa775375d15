// What an app is to `sluice up`. An app is one of the reference systems (the message board, orders, Wordium, the
// jobs board): services that each own a schema, talk only through topics, and run together in one process or one
// role per process. An app is declared in two parts, so that the CLI can read every app's roles without loading
// any app's code: a manifest (names, services, roles) and an implementation it loads only when one of the app's
// roles runs here.

import type { FastifyPluginAsync } from "fastify";
import type { Logger } from "pino";

import type { Auth } from "../gateway/auth/auth.js";
import type { LiveTopic } from "../gateway/websocket/topic-access.js";
import type { Database } from "../store/database.js";
import type { Component } from "../toolkit/service.js";
import type { KafkaClient } from "../toolkit/kafka/connection.js";
import type { TopicSpec } from "../toolkit/kafka/admin.js";
import type { OutboxRelayOptions } from "../toolkit/outbox-relay-options.js";
import type { TransportClient } from "../toolkit/transports/transport.js";

/** App, service and role names: lower-case words joined by hyphens. */
export const APP_NAME_PATTERN = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

/** A service owns its tables: its own schema in the shared database, or its own database. */
export interface AppServiceManifest {
  /**
   * Unique across every app ("orders", "wordium-users", "jobs-search"). It names the service's schema (hyphens as
   * underscores, "jobs_search") and the environment variable that gives it a database of its own
   * (DATABASE_URL_JOBS_SEARCH).
   */
  readonly name: string;
  /**
   * Keep the service's tables in the database's own schema (--database-schema, "public" by default) instead of a
   * schema named after the service. Only the message board does, as it did before there were other apps.
   */
  readonly usesDatabaseSchema?: boolean;
}

/** Something `sluice up --only <name>` runs: one process's or one pod's share of an app. */
export interface AppRoleManifest {
  /** Unique across every app and the system's own roles (broker, registry, console). */
  readonly name: string;
  /** One line for `sluice up --help` and the start-up summary. */
  readonly description: string;
  /** The service whose database the role works in, or null for a role without tables (a gateway). */
  readonly service: string | null;
  /** True when the role answers HTTP (its routes are mounted on the process's HTTP server). */
  readonly http: boolean;
}

export interface AppManifest {
  /** Its name in --apps, and the path prefix its page and API are mounted under ("/orders/", "/orders/api/…"). */
  readonly name: string;
  /** How the start-up summary names it ("Orders"). */
  readonly title: string;
  /** The path of its page under the prefix, printed by `sluice up`: "/" for most apps. */
  readonly pagePath: string;
  readonly services: readonly AppServiceManifest[];
  readonly roles: readonly AppRoleManifest[];
  /**
   * The app's topics browsers may watch over the WebSocket gateway, and who may (see TopicAccess): for example
   * `{ topic: "user-notifications", access: "own-key" }` makes a topic keyed by recipient each user's private
   * stream. Declared here rather than by a role, so that every gateway of the system applies them, also in a
   * process that runs none of the app's roles (another app's pod behind the same ingress): a private stream must
   * not be readable anywhere. Topics no app declares keep the gateway's default (any topic not starting with "__").
   */
  readonly liveTopics?: readonly LiveTopic[];
  /**
   * True when the app serves its own accounts at /api/auth/login: when it runs alone and is served at the root, the
   * gateway's account routes (/api/auth/register, /api/auth/login, /api/auth/me) are left out there for its own.
   */
  readonly ownAccountRoutes?: boolean;
  /** Loads the app's code; called only when one of its roles runs in this process. */
  load(): Promise<AppImplementation>;
}

/** A migration set of an app's own, applied to a service's schema after the toolkit's outbox and inbox tables. */
export interface AppMigrations {
  /** The name that keeps the set's numbering apart from other sets in the same schema. */
  readonly component: string;
  readonly directory: URL;
}

export interface AppImplementation {
  /** Every topic the app's services publish to or consume, created (when missing) before its roles start. */
  readonly topics: readonly TopicSpec[];
  /**
   * Topics that become RabbitMQ work queues when `sluice up --transport amqp://…` is given, with their queue names
   * (the message board's messages.saved is task_queue). Their consumers must read nothing else.
   */
  readonly amqpQueues?: Readonly<Record<string, string>>;
  /** Each service's own migrations, by service name. */
  readonly migrations: Readonly<Record<string, readonly AppMigrations[]>>;
  /** Builds one role's parts; nothing may be started yet (the system starts the components in order). */
  startRole(role: string, context: RoleContext): Promise<RoleParts>;
}

/** What a role gets from the system it runs in. */
export interface RoleContext {
  readonly app: string;
  readonly role: string;
  /** The role's service database, migrated; null for a role without a service. */
  readonly database: Database | null;
  /** The Kafka client of this process (the embedded broker, or KAFKA_BROKERS). */
  readonly kafka: KafkaClient;
  /**
   * The transport for the app's service events: the Kafka client, except that with --transport the topics in
   * amqpQueues go over RabbitMQ. Consumers and the outbox relay take it as their client.
   */
  readonly transport: TransportClient;
  /** The schema registry's base URL, or null when none is configured. */
  readonly registryUrl: string | null;
  /** The gateway's authentication (tokens, users, the auth mode); null in a process without an HTTP server. */
  readonly auth: Auth | null;
  readonly settings: AppSettings;
  /** The process environment, for an app's own settings (documented in its guide). */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly logger: Logger;
  /**
   * A relay that publishes the outbox of the role's service, to add to the role's components. Its wake() makes it
   * look for rows at once, as a database notification would: a service whose every outbox write is followed by a
   * wake() may turn LISTEN off (options.listen false, with a slow safety-net poll), so that the notification of a
   * commit the relay has already handled does not send it looking again.
   */
  outboxRelay(options?: AppRelayOptions): Component & { wake(): void };
}

/** What a role may choose of its outbox relay's options. */
export type AppRelayOptions = Pick<OutboxRelayOptions, "listen" | "pollIntervalMs">;

/** The settings of `sluice up` that apps read. */
export interface AppSettings {
  /** How soon the broker notices a consumer that died and gives its partitions to another (session timeout). */
  readonly workerSessionTimeoutMs: number;
  /** The longest message the message board accepts, in characters. */
  readonly messageTextCharsMax: number;
  /** Writes an API commits in one transaction, at most (toolkit/group-commit.ts). */
  readonly groupCommitBatchMax: number;
  /** How long a group of API writes lingers for more before it commits, in ms; 0 takes what is queued. */
  readonly groupCommitWaitMs: number;
  /** Users given the "admin" role when they sign in (apps with accounts of their own grant it too). */
  readonly adminUsers: readonly string[];
  /** The interface the HTTP server listens on; an app's listeners of its own use it too. */
  readonly host: string;
  /** The apps with a role in this process. */
  readonly runningApps: readonly AppManifest[];
}

export interface RoleParts {
  /** HTTP routes, mounted under the app's prefix, and also at the root when the app is the only one running. */
  readonly routes?: FastifyPluginAsync;
  /** Long-lived parts (consumers, relays, caches), started in this order after the database, stopped in reverse. */
  readonly components?: readonly Component[];
}

/** The schema a service's tables live in when it does not use the database's own. */
export function serviceSchemaName(service: string): string {
  return service.replaceAll("-", "_");
}

/** The environment variable that gives a service a database of its own. */
export function serviceDatabaseUrlVariable(service: string): string {
  return `DATABASE_URL_${service.replaceAll("-", "_").toUpperCase()}`;
}

/** Every app's live topic declarations, each app counted once. */
export function liveTopicsOf(apps: readonly AppManifest[]): LiveTopic[] {
  return [...new Set(apps)].flatMap((app) => app.liveTopics ?? []);
}
