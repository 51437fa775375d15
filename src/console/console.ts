// The console's server side as one Fastify plugin, mounted at /console by `sluice up` and by `sluice console`: the
// JSON API under /console/api/ (over the Kafka protocol, the registry's REST API and, when configured, the
// toolkit's tables) and the page for every other path under /console/.

import type { FastifyInstance, FastifyPluginAsync } from "fastify";

import { ADMIN_ROLE, type Auth } from "../gateway/auth/auth.js";
import { GatewayErrorCode } from "../gateway/errors.js";
import type { SluiceKafkaClient } from "../kafka/client/index.js";
import type { Database } from "../store/database.js";
import type { KafkaClient } from "../toolkit/kafka/connection.js";
import { AuditLog } from "./audit.js";
import type { ConsoleContext, ConsoleLogger, Guard } from "./context.js";
import { confluentSchemaId } from "./decode.js";
import { toConsoleError } from "./errors.js";
import { deadLetterRoutes } from "./dead-letters.js";
import { groupRoutes } from "./groups.js";
import { outboxRoutes } from "./outbox.js";
import { messageRoutes, type DecoderFor } from "./messages.js";
import { OverviewSampler, type SamplerOptions } from "./overview.js";
import { pageRoutes } from "./pages.js";
import { integerOr, type Fields } from "./params.js";
import { RegistryClient, schemaRoutes } from "./schemas.js";
import { searchRoutes } from "./search.js";
import { tailRoutes, TailStreams } from "./tail.js";
import { topicRoutes } from "./topics.js";

export const CONSOLE_PREFIX = "/console";
export const AUDIT_LIST_MAX = 1_000;

export interface ConsoleOptions {
  readonly kafka: SluiceKafkaClient;
  readonly toolkitKafka?: KafkaClient | null;
  readonly database?: Database | null;
  readonly registryUrl?: string | null;
  /** With mode "required", viewing needs a signed-in user and changing needs the admin role. */
  readonly auth?: Auth | null;
  readonly sampler?: SamplerOptions;
  readonly logger: ConsoleLogger;
}

export interface Console {
  /** Register with { prefix: "/console" }. */
  readonly plugin: FastifyPluginAsync;
  readonly context: ConsoleContext;
  /** Live tails open now. */
  liveTails(): number;
  /** Starts sampling the cluster for the overview. */
  start(): void;
  stop(): Promise<void>;
}

function guards(auth: Auth | null): { view: Guard[]; change: Guard[] } {
  if (auth === null || auth.mode === "off") return { view: [], change: [] };
  if (auth.mode === "optional") return { view: [auth.requireAuth], change: [auth.requireAuth] };
  return { view: [auth.requireAuth], change: [auth.requireRole(ADMIN_ROLE)] };
}

export function createConsole(options: ConsoleOptions): Console {
  const auth = options.auth ?? null;
  const sampler = new OverviewSampler(options.kafka, options.logger, options.sampler);
  const context: ConsoleContext = {
    kafka: options.kafka,
    toolkitKafka: options.toolkitKafka ?? null,
    database: options.database ?? null,
    registryUrl: options.registryUrl ?? null,
    ...guards(auth),
    audit: new AuditLog(options.logger),
    sampler,
    logger: options.logger,
  };
  const tails = new TailStreams();
  const registry = context.registryUrl === null ? null : new RegistryClient(context.registryUrl);
  const decoderFor: DecoderFor = async (records) => {
    if (registry === null) return null;
    const ids: number[] = [];
    for (const record of records) {
      for (const payload of [record.key, record.value]) {
        const id = payload === null ? null : confluentSchemaId(payload);
        if (id !== null) ids.push(id);
      }
    }
    return ids.length === 0 ? null : registry.decoderFor(ids);
  };

  const api = async (app: FastifyInstance): Promise<void> => {
    // A Kafka client error becomes the gateway's JSON error with the status that fits it; the gateway's own
    // handler then answers.
    app.setErrorHandler(async (error) => {
      throw toConsoleError(error);
    });
    app.get("/api/session", async (request) => ({
      authMode: auth?.mode ?? "off",
      user: request.user === null ? null : { username: request.user.username, roles: request.user.roles },
      registry: context.registryUrl !== null,
      database: context.database !== null,
    }));
    app.get("/api/overview", { preHandler: context.view }, async () => {
      sampler.noteViewed();
      const [cluster, topics, groups] = await Promise.all([
        context.kafka.admin.describeCluster(),
        context.kafka.admin.listTopics({ includeInternal: false }),
        context.kafka.admin.listGroups(),
      ]);
      const groupsByState: Record<string, number> = {};
      for (const group of groups) {
        const state = group.state ?? "Unknown";
        groupsByState[state] = (groupsByState[state] ?? 0) + 1;
      }
      return {
        clusterId: cluster.clusterId,
        controllerId: cluster.controllerId,
        brokers: cluster.brokers,
        topics: topics.filter((topic) => !topic.internal).length,
        partitions: topics.reduce((sum, topic) => sum + topic.partitionCount, 0),
        groups: groups.length,
        groupsByState,
        sampleIntervalMs: sampler.intervalMs,
        samplerError: sampler.lastError,
        samples: sampler.samples(),
      };
    });
    app.get("/api/audit", { preHandler: context.view }, async (request) => ({
      entries: context.audit.list(integerOr(request.query as Fields, "limit", 200, 1, AUDIT_LIST_MAX)),
    }));
    await topicRoutes(app, context);
    await messageRoutes(app, context, decoderFor);
    await searchRoutes(app, context, decoderFor);
    await tailRoutes(app, context, decoderFor, tails);
    await schemaRoutes(app, context, registry);
    await groupRoutes(app, context);
    await deadLetterRoutes(app, context);
    await outboxRoutes(app, context);
    app.all("/api/*", async (request, reply) =>
      reply.status(404).send({
        error: GatewayErrorCode.NOT_FOUND,
        message: `the console has no ${request.method} ${request.url.split("?", 1)[0]}`,
      }),
    );
  };

  const plugin: FastifyPluginAsync = async (app) => {
    // Reads the token when one is sent, so /api/session can say who is signed in, whatever the mode.
    if (auth !== null && auth.mode !== "off") {
      app.addHook("preHandler", async (request) => {
        if (request.user === null && request.headers.authorization !== undefined) {
          request.user = await auth
            .verifyToken(request.headers.authorization.replace(/^Bearer +/i, ""))
            .catch(() => null);
        }
      });
    }
    await app.register(api);
    await app.register(pageRoutes);
  };

  return {
    plugin,
    context,
    liveTails: () => tails.open,
    start: () => sampler.start(),
    stop: () => sampler.stop(),
  };
}
