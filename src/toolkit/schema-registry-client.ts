// A small client of a Confluent-compatible schema registry (Sluice's own, or Confluent's): registering a schema
// under a subject, the latest version of a subject, and schemas by id. Ids name one schema forever, so schemas by
// id are cached (up to a limit); so are the ids of schemas this process registered.

import { ToolkitError, ToolkitErrorCode } from "./errors.js";

export const DEFAULT_REGISTRY_REQUEST_TIMEOUT_MS = 5_000;
export const DEFAULT_REGISTRY_SCHEMAS_CACHED_MAX = 1_000;
const CONTENT_TYPE = "application/vnd.schemaregistry.v1+json";

export type RegistrySchemaType = "AVRO" | "JSON";

export interface RegistrySchema {
  readonly schemaType: RegistrySchemaType;
  /** The schema's JSON text. */
  readonly schema: string;
}

export interface SchemaRegistryClientOptions {
  /** The registry's base URL, e.g. "http://127.0.0.1:8081". */
  url: string;
  requestTimeoutMs?: number;
  /** Schemas by id kept in memory, at most. */
  schemasCachedMax?: number;
}

export interface SchemaRegistryClient {
  readonly url: string;
  /** Registers a schema under a subject (or finds it there) and returns its id. */
  register(subject: string, schema: RegistrySchema): Promise<number>;
  /** The id and schema of a subject's latest version. */
  latest(subject: string): Promise<{ id: number } & RegistrySchema>;
  /** The schema with this id. */
  schemaById(id: number): Promise<RegistrySchema>;
}

function failed(message: string, cause?: unknown): ToolkitError {
  return new ToolkitError(ToolkitErrorCode.SCHEMA_REGISTRY_FAILED, message, { cause });
}

export function createSchemaRegistryClient(options: SchemaRegistryClientOptions): SchemaRegistryClient {
  const url = options.url.replace(/\/+$/, "");
  const timeoutMs = options.requestTimeoutMs ?? DEFAULT_REGISTRY_REQUEST_TIMEOUT_MS;
  const cachedMax = options.schemasCachedMax ?? DEFAULT_REGISTRY_SCHEMAS_CACHED_MAX;
  const byId = new Map<number, Promise<RegistrySchema>>();
  const registered = new Map<string, Promise<number>>();

  const call = async (method: string, path: string, body?: unknown): Promise<unknown> => {
    let response: Response;
    try {
      response = await fetch(`${url}${path}`, {
        method,
        headers: { "content-type": CONTENT_TYPE, accept: CONTENT_TYPE },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw failed(`the schema registry at ${url} did not answer ${method} ${path}: ${reason}`, error);
    }
    const text = await response.text();
    let parsed: unknown = null;
    try {
      parsed = text === "" ? null : JSON.parse(text);
    } catch {
      // A body that is not JSON is reported below with its status.
    }
    if (!response.ok) {
      const message = (parsed as { message?: unknown } | null)?.message;
      throw failed(
        `the schema registry refused ${method} ${path} (${response.status}): ${typeof message === "string" ? message : text.slice(0, 200)}`,
      );
    }
    return parsed;
  };

  const remember = <V>(cache: Map<string | number, V>, key: string | number, value: V): V => {
    if (cache.size >= cachedMax) {
      const oldest = cache.keys().next();
      if (oldest.done !== true) cache.delete(oldest.value);
    }
    cache.set(key, value);
    return value;
  };

  const schemaOf = (body: unknown): RegistrySchema => {
    const fields = (body ?? {}) as { schema?: unknown; schemaType?: unknown };
    if (typeof fields.schema !== "string") throw failed("the schema registry answered without a schema");
    return { schema: fields.schema, schemaType: fields.schemaType === "JSON" ? "JSON" : "AVRO" };
  };

  return {
    url,
    register(subject, schema) {
      const key = `${subject}\u0000${schema.schemaType}\u0000${schema.schema}`;
      const known = registered.get(key);
      if (known !== undefined) return known;
      const pending = call("POST", `/subjects/${encodeURIComponent(subject)}/versions`, {
        schema: schema.schema,
        schemaType: schema.schemaType,
      }).then((body) => {
        const id = (body as { id?: unknown } | null)?.id;
        if (typeof id !== "number") throw failed("the schema registry answered a registration without an id");
        return id;
      });
      pending.catch(() => registered.delete(key));
      return remember(registered as Map<string | number, Promise<number>>, key, pending);
    },
    async latest(subject) {
      const body = await call("GET", `/subjects/${encodeURIComponent(subject)}/versions/latest`);
      const id = (body as { id?: unknown } | null)?.id;
      if (typeof id !== "number")
        throw failed(`the schema registry answered ${subject}'s latest version without an id`);
      return { id, ...schemaOf(body) };
    },
    schemaById(id) {
      const known = byId.get(id);
      if (known !== undefined) return known;
      const pending = call("GET", `/schemas/ids/${id}`).then(schemaOf);
      pending.catch(() => byId.delete(id));
      return remember(byId as Map<string | number, Promise<RegistrySchema>>, id, pending);
    },
  };
}
