// The registry's REST API, the subset of Confluent Schema Registry's that its clients and serdes use, answered in
// its content type with its error bodies `{ error_code, message }`.

import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from "fastify";
import type { Logger } from "pino";

import { COMPATIBILITY_LEVELS, isCompatibilityLevel } from "./compatibility.js";
import { RegistryError, RegistryErrorCode } from "./errors.js";
import { SCHEMA_TYPES } from "./formats/format.js";
import {
  checkSubject,
  parseVersion,
  REGISTRY_MODES,
  type RegistryMode,
  type SchemaRegistry,
  type VersionRecord,
} from "./registry.js";
import { parseSchemaId, queryFlag, queryText, readField, readSchemaInput } from "./request.js";

export const REGISTRY_CONTENT_TYPE = "application/vnd.schemaregistry.v1+json";
/** Room in a request body for the JSON around a schema of the largest size. */
const BODY_OVERHEAD_BYTES = 64 * 1024;

export interface RegistryServerOptions {
  registry: SchemaRegistry;
  logger?: Logger;
}

type Params = { subject: string; version: string; id: string };

function withType<T extends { schemaType: string }>(record: T): Omit<T, "schemaType"> & { schemaType?: string } {
  // Confluent leaves schemaType out for Avro, and some clients compare bodies, so this does too.
  const { schemaType, ...rest } = record;
  return schemaType === "AVRO" ? rest : { ...rest, schemaType };
}

function withoutEmptyReferences<T extends { references: readonly unknown[] }>(record: T): T | Omit<T, "references"> {
  if (record.references.length > 0) return record;
  const { references: _references, ...rest } = record;
  return rest;
}

function versionBody(record: VersionRecord) {
  return withoutEmptyReferences(withType(record));
}

/** The Fastify app of the registry; `listen` it, or `inject` requests in tests. */
export function createRegistryApp(options: RegistryServerOptions): FastifyInstance {
  const { registry } = options;
  const app = Fastify({
    loggerInstance: options.logger as FastifyBaseLogger | undefined,
    bodyLimit: registry.limits.schemaBytesMax + BODY_OVERHEAD_BYTES,
    logController: new LogController({ disableRequestLogging: true }),
    // No logger per request: the registry logs only through options.logger, and making a child logger for each
    // request was the largest cost of a lookup by id after the socket write (profiled in bench:registry).
    childLoggerFactory: (logger) => logger,
  });

  // Confluent's clients send their own content type, others plain JSON or none: every body is read as JSON.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "string" }, (_request, body, done) => {
    const text = String(body);
    if (text.trim() === "") return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      done(
        Object.assign(new Error(`Unexpected character in the JSON body: ${reason}`), { statusCode: 400 }),
        undefined,
      );
    }
  });

  app.addHook("onSend", async (_request, reply, payload) => {
    if (typeof payload === "string") reply.type(REGISTRY_CONTENT_TYPE);
    return payload;
  });

  app.setErrorHandler((error: unknown, _request, reply: FastifyReply) => {
    if (error instanceof RegistryError) return reply.status(error.status).send(error.toJSON());
    const status =
      typeof error === "object" && error !== null && "statusCode" in error ? Number(error.statusCode) : 500;
    const message = error instanceof Error ? error.message : String(error);
    if (status === 413) {
      return reply
        .status(413)
        .send({ error_code: 413, message: `The request body is over ${app.initialConfig.bodyLimit} bytes` });
    }
    if (status >= 400 && status < 500) return reply.status(status).send({ error_code: status, message });
    options.logger?.error({ err: error }, "registry request failed");
    return reply.status(500).send({ error_code: 50001, message: "Error in the backend data store" });
  });

  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({ error_code: 404, message: `HTTP 404 Not Found: ${request.method} ${request.url}` }),
  );

  app.get("/", async () => ({}));

  app.get("/schemas/types", async () => [...SCHEMA_TYPES]);

  app.get<{ Params: Params }>("/schemas/ids/:id", async (request) => {
    const subject = queryText(request.query, "subject");
    const stored = await registry.schemaById(parseSchemaId(request.params.id), subject);
    return withoutEmptyReferences(
      withType({ schemaType: stored.schemaType, schema: stored.schema, references: stored.references }),
    );
  });

  app.get<{ Params: Params }>("/schemas/ids/:id/schema", async (request) => {
    const stored = await registry.schemaById(parseSchemaId(request.params.id), null);
    return JSON.parse(stored.schema) as unknown;
  });

  app.get<{ Params: Params }>("/schemas/ids/:id/versions", async (request) =>
    registry.versionsOfSchema(parseSchemaId(request.params.id), queryFlag(request.query, "deleted")),
  );

  app.get("/subjects", async (request) =>
    registry.subjects(queryFlag(request.query, "deleted"), queryText(request.query, "subjectPrefix") ?? ""),
  );

  app.get<{ Params: Params }>("/subjects/:subject/versions", async (request) =>
    registry.versions(checkSubject(request.params.subject), queryFlag(request.query, "deleted")),
  );

  app.get<{ Params: Params }>("/subjects/:subject/versions/:version", async (request) => {
    const version = parseVersion(request.params.version);
    const record = await registry.version(
      checkSubject(request.params.subject),
      version,
      queryFlag(request.query, "deleted"),
    );
    return versionBody(record);
  });

  app.get<{ Params: Params }>("/subjects/:subject/versions/:version/schema", async (request) => {
    const version = parseVersion(request.params.version);
    const record = await registry.version(
      checkSubject(request.params.subject),
      version,
      queryFlag(request.query, "deleted"),
    );
    return JSON.parse(record.schema) as unknown;
  });

  app.get<{ Params: Params }>("/subjects/:subject/versions/:version/referencedby", async (request) =>
    registry.referencedBy(checkSubject(request.params.subject), parseVersion(request.params.version)),
  );

  app.post<{ Params: Params }>("/subjects/:subject/versions", async (request) => {
    const subject = checkSubject(request.params.subject);
    const id = await registry.register(subject, readSchemaInput(request.body, request.query));
    return { id };
  });

  app.post<{ Params: Params }>("/subjects/:subject", async (request) => {
    const subject = checkSubject(request.params.subject);
    const record = await registry.lookup(
      subject,
      readSchemaInput(request.body, request.query),
      queryFlag(request.query, "deleted"),
    );
    return versionBody(record);
  });

  app.delete<{ Params: Params }>("/subjects/:subject", async (request) =>
    registry.deleteSubject(checkSubject(request.params.subject), queryFlag(request.query, "permanent")),
  );

  app.delete<{ Params: Params }>("/subjects/:subject/versions/:version", async (request) =>
    registry.deleteVersion(
      checkSubject(request.params.subject),
      parseVersion(request.params.version),
      queryFlag(request.query, "permanent"),
    ),
  );

  const compatibilityAnswer = (problems: string[], verbose: boolean) =>
    verbose ? { is_compatible: problems.length === 0, messages: problems } : { is_compatible: problems.length === 0 };

  app.post<{ Params: Params }>("/compatibility/subjects/:subject/versions/:version", async (request) => {
    const subject = checkSubject(request.params.subject);
    const version = parseVersion(request.params.version);
    const problems = await registry.checkCompatibility(subject, version, readSchemaInput(request.body, request.query));
    return compatibilityAnswer(problems, queryFlag(request.query, "verbose"));
  });

  app.post<{ Params: Params }>("/compatibility/subjects/:subject/versions", async (request) => {
    const subject = checkSubject(request.params.subject);
    const problems = await registry.checkCompatibility(subject, "all", readSchemaInput(request.body, request.query));
    return compatibilityAnswer(problems, queryFlag(request.query, "verbose"));
  });

  const readLevel = (body: unknown) => {
    const level =
      readField(body, "compatibility", ["compatibility", "compatibilityLevel"]) ??
      readField(body, "compatibilityLevel", ["compatibility", "compatibilityLevel"]);
    if (!isCompatibilityLevel(level)) {
      throw new RegistryError(
        RegistryErrorCode.INVALID_COMPATIBILITY_LEVEL,
        `Invalid compatibility level. Valid values are ${COMPATIBILITY_LEVELS.join(", ")}`,
      );
    }
    return level;
  };

  app.get("/config", async () => ({ compatibilityLevel: await registry.ownCompatibilityLevel(null) }));

  app.put("/config", async (request) => {
    const level = readLevel(request.body);
    await registry.setCompatibilityLevel(null, level);
    return { compatibility: level };
  });

  app.delete("/config", async () => {
    const previous = await registry.ownCompatibilityLevel(null);
    await registry.setCompatibilityLevel(null, null);
    return { compatibilityLevel: previous };
  });

  const subjectConfigMissing = (subject: string) =>
    new RegistryError(
      RegistryErrorCode.SUBJECT_CONFIG_NOT_FOUND,
      `Subject '${subject}' does not have subject-level compatibility configured`,
    );

  app.get<{ Params: Params }>("/config/:subject", async (request) => {
    const subject = checkSubject(request.params.subject);
    const own = await registry.ownCompatibilityLevel(subject);
    if (own !== null) return { compatibilityLevel: own };
    if (queryFlag(request.query, "defaultToGlobal"))
      return { compatibilityLevel: await registry.compatibilityLevel(subject) };
    throw subjectConfigMissing(subject);
  });

  app.put<{ Params: Params }>("/config/:subject", async (request) => {
    const subject = checkSubject(request.params.subject);
    const level = readLevel(request.body);
    await registry.setCompatibilityLevel(subject, level);
    return { compatibility: level };
  });

  app.delete<{ Params: Params }>("/config/:subject", async (request) => {
    const subject = checkSubject(request.params.subject);
    const own = await registry.ownCompatibilityLevel(subject);
    if (own === null) throw subjectConfigMissing(subject);
    await registry.setCompatibilityLevel(subject, null);
    return { compatibilityLevel: own };
  });

  const readMode = (body: unknown): RegistryMode => {
    const mode = readField(body, "mode", ["mode"]);
    if (typeof mode !== "string" || !(REGISTRY_MODES as readonly string[]).includes(mode)) {
      throw new RegistryError(
        RegistryErrorCode.INVALID_MODE,
        `Invalid mode. Valid values are ${REGISTRY_MODES.join(", ")}`,
      );
    }
    return mode as RegistryMode;
  };

  app.get("/mode", async () => ({ mode: await registry.mode(null) }));

  app.put("/mode", async (request) => {
    const mode = readMode(request.body);
    await registry.setMode(null, mode);
    return { mode };
  });

  app.get<{ Params: Params }>("/mode/:subject", async (request) => ({
    mode: await registry.mode(checkSubject(request.params.subject)),
  }));

  app.put<{ Params: Params }>("/mode/:subject", async (request) => {
    const mode = readMode(request.body);
    await registry.setMode(checkSubject(request.params.subject), mode);
    return { mode };
  });

  return app;
}
