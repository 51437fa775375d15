// The schemas API, over the schema registry's REST API (Confluent's): subjects, versions with their schema text,
// compatibility levels (view and set), testing a schema against the latest version; and decoding Confluent
// wire-format values with the schema their id names, fetched once and cached.

import type { FastifyInstance } from "fastify";

import { GatewayError, GatewayErrorCode, unavailable, validationFailed } from "../gateway/errors.js";
import { decodeAvro } from "./avro.js";
import { actorOf, type ConsoleContext } from "./context.js";
import type { SchemaDecoder } from "./decode.js";
import { unavailableWithout } from "./errors.js";
import { objectBody, requiredString, optionalString, type Fields } from "./params.js";

export const REGISTRY_TIMEOUT_MS = 5_000;
/** Subjects listed with their latest version; more are listed by name only. */
export const SUBJECTS_DETAILED_MAX = 200;
/** Versions of one subject shown with their schema text. */
export const VERSIONS_SHOWN_MAX = 100;
/** Schemas kept for decoding, by id. */
export const SCHEMA_CACHE_MAX = 1_000;
const SCHEMA_CHARS_MAX = 1024 * 1024;
export const COMPATIBILITY_LEVELS = [
  "BACKWARD",
  "BACKWARD_TRANSITIVE",
  "FORWARD",
  "FORWARD_TRANSITIVE",
  "FULL",
  "FULL_TRANSITIVE",
  "NONE",
] as const;

interface RegisteredSchema {
  readonly schema: string;
  readonly schemaType: string;
}

export class RegistryClient {
  private readonly cache = new Map<number, RegisteredSchema | null>();

  constructor(readonly url: string) {}

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    let response: Response;
    try {
      response = await fetch(`${this.url.replace(/\/+$/, "")}${path}`, {
        method,
        headers: {
          accept: "application/vnd.schemaregistry.v1+json, application/json",
          "content-type": "application/vnd.schemaregistry.v1+json",
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(REGISTRY_TIMEOUT_MS),
      });
    } catch (error) {
      throw unavailable(`the schema registry at ${this.url} cannot be reached`, 1, error);
    }
    const text = await response.text();
    let parsed: unknown = null;
    try {
      parsed = text === "" ? null : JSON.parse(text);
    } catch {
      parsed = null;
    }
    if (!response.ok) {
      const message = (parsed as { message?: string } | null)?.message ?? `the registry answered ${response.status}`;
      const code =
        response.status === 404
          ? GatewayErrorCode.NOT_FOUND
          : response.status === 409
            ? GatewayErrorCode.CONFLICT
            : response.status === 422 || response.status === 400
              ? GatewayErrorCode.VALIDATION_FAILED
              : GatewayErrorCode.UNAVAILABLE;
      throw new GatewayError(code, `schema registry: ${message}`);
    }
    return parsed as T;
  }

  /** The schema an id names, or null when the registry does not know it; cached (bounded). */
  async schemaById(id: number): Promise<RegisteredSchema | null> {
    if (this.cache.has(id)) return this.cache.get(id)!;
    let found: RegisteredSchema | null;
    try {
      const answer = await this.request<{ schema: string; schemaType?: string }>("GET", `/schemas/ids/${id}`);
      found = { schema: answer.schema, schemaType: answer.schemaType ?? "AVRO" };
    } catch (error) {
      if (!(error instanceof GatewayError && error.code === GatewayErrorCode.NOT_FOUND)) throw error;
      found = null;
    }
    if (this.cache.size >= SCHEMA_CACHE_MAX) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(id, found);
    return found;
  }

  /** Fetches the schemas of these ids (errors leave them undecoded), then decodes synchronously from the cache. */
  async decoderFor(ids: Iterable<number>): Promise<SchemaDecoder> {
    for (const id of new Set(ids)) await this.schemaById(id).catch(() => null);
    return (schemaId, body) => {
      const registered = this.cache.get(schemaId);
      if (registered === undefined || registered === null) return null;
      if (registered.schemaType === "JSON") return { encoding: "json-schema", text: body.toString("utf8") };
      if (registered.schemaType !== "AVRO") return null;
      try {
        return { encoding: "avro", text: JSON.stringify(decodeAvro(registered.schema, body)) };
      } catch {
        return null;
      }
    };
  }
}

function subjectOf(params: unknown): string {
  const subject = (params as Fields).subject;
  if (typeof subject !== "string" || subject === "" || subject.length > 255) {
    throw validationFailed("subject", "a subject is 1 to 255 characters");
  }
  return subject;
}

export async function schemaRoutes(
  app: FastifyInstance,
  context: ConsoleContext,
  registry: RegistryClient | null,
): Promise<void> {
  const client = () => {
    if (registry === null) throw unavailableWithout("schema registry", "--registry-url");
    return registry;
  };
  const enc = encodeURIComponent;

  app.get("/api/schemas", { preHandler: context.view }, async () => {
    const subjects = (await client().request<string[]>("GET", "/subjects")).sort();
    const rows = [];
    for (const [index, subject] of subjects.entries()) {
      if (index >= SUBJECTS_DETAILED_MAX) {
        rows.push({ subject, version: null, id: null, schemaType: null });
        continue;
      }
      const latest = await client().request<{ version: number; id: number; schemaType?: string }>(
        "GET",
        `/subjects/${enc(subject)}/versions/latest`,
      );
      rows.push({ subject, version: latest.version, id: latest.id, schemaType: latest.schemaType ?? "AVRO" });
    }
    let compatibility: string | null = null;
    try {
      compatibility = (await client().request<{ compatibilityLevel: string }>("GET", "/config")).compatibilityLevel;
    } catch {
      compatibility = null;
    }
    return { subjects: rows, compatibility };
  });

  app.get("/api/schemas/:subject", { preHandler: context.view }, async (request) => {
    const subject = subjectOf(request.params);
    const numbers = await client().request<number[]>("GET", `/subjects/${enc(subject)}/versions`);
    const versions = [];
    for (const version of numbers.slice(-VERSIONS_SHOWN_MAX)) {
      const answer = await client().request<{ version: number; id: number; schema: string; schemaType?: string }>(
        "GET",
        `/subjects/${enc(subject)}/versions/${version}`,
      );
      versions.push({
        version: answer.version,
        id: answer.id,
        schemaType: answer.schemaType ?? "AVRO",
        schema: answer.schema,
      });
    }
    let compatibility: string | null = null;
    let compatibilitySource = "subject";
    try {
      compatibility = (await client().request<{ compatibilityLevel: string }>("GET", `/config/${enc(subject)}`))
        .compatibilityLevel;
    } catch (error) {
      if (!(error instanceof GatewayError && error.code === GatewayErrorCode.NOT_FOUND)) throw error;
      compatibility = (await client().request<{ compatibilityLevel: string }>("GET", "/config")).compatibilityLevel;
      compatibilitySource = "global";
    }
    return { subject, versions, compatibility, compatibilitySource };
  });

  app.put("/api/schemas/:subject/config", { preHandler: context.change }, async (request) => {
    const subject = subjectOf(request.params);
    const compatibility = requiredString(objectBody(request.body), "compatibility", 30);
    if (!(COMPATIBILITY_LEVELS as readonly string[]).includes(compatibility)) {
      throw validationFailed("compatibility", `compatibility must be one of ${COMPATIBILITY_LEVELS.join(", ")}`);
    }
    await context.audit.record(actorOf(request), "schema.compatibility", subject, { compatibility }, () =>
      client().request("PUT", `/config/${enc(subject)}`, { compatibility }),
    );
    return { subject, compatibility };
  });

  app.post("/api/schemas/:subject/compatibility", { preHandler: context.view }, async (request) => {
    const subject = subjectOf(request.params);
    const body = objectBody(request.body);
    const schema = requiredString(body, "schema", SCHEMA_CHARS_MAX);
    const schemaType = optionalString(body, "schemaType", 20) ?? "AVRO";
    const answer = await client().request<{ is_compatible: boolean; messages?: string[] }>(
      "POST",
      `/compatibility/subjects/${enc(subject)}/versions/latest?verbose=true`,
      { schema, schemaType },
    );
    return { subject, compatible: answer.is_compatible, messages: answer.messages ?? [] };
  });
}
