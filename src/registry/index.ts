// The schema registry: a Confluent-compatible REST server over PostgreSQL (PGlite or a server), with Avro and JSON
// Schema and their compatibility rules. `startRegistry` runs it; `sluice registry` and `sluice up` call it.

import type { Logger } from "pino";

import { openDatabase, runMigrations, type Database } from "../store/index.js";
import {
  DEFAULT_PARSED_SCHEMAS_CACHED_MAX,
  DEFAULT_SCHEMA_BYTES_MAX,
  DEFAULT_SUBJECTS_MAX,
  DEFAULT_VERSIONS_PER_SUBJECT_MAX,
  SchemaRegistry,
  type RegistryLimits,
} from "./registry.js";
import { createRegistryApp } from "./server.js";

export * from "./errors.js";
export * from "./compatibility.js";
export * from "./formats/format.js";
export { avroFormat } from "./formats/avro.js";
export { jsonSchemaFormat, compileJsonSchema } from "./formats/json-schema.js";
export * from "./registry.js";
export { createRegistryApp, REGISTRY_CONTENT_TYPE } from "./server.js";

/** The PostgreSQL schema the registry's tables live in, apart from every service's. */
export const REGISTRY_DATABASE_SCHEMA = "sluice_registry";
export const REGISTRY_MIGRATIONS_DIR = new URL("./migrations/", import.meta.url);
export const REGISTRY_MIGRATIONS_COMPONENT = "registry";
export const DEFAULT_REGISTRY_PORT = 8081;

export const DEFAULT_REGISTRY_LIMITS: RegistryLimits = {
  schemaBytesMax: DEFAULT_SCHEMA_BYTES_MAX,
  subjectsMax: DEFAULT_SUBJECTS_MAX,
  versionsPerSubjectMax: DEFAULT_VERSIONS_PER_SUBJECT_MAX,
  parsedSchemasCachedMax: DEFAULT_PARSED_SCHEMAS_CACHED_MAX,
};

/**
 * Applies the registry's migrations to `database` (whose schema should be the registry's own, usually
 * REGISTRY_DATABASE_SCHEMA) and returns the registry over it.
 */
export async function openSchemaRegistry(
  database: Database,
  limits: Partial<RegistryLimits> = {},
  logger?: Logger,
): Promise<SchemaRegistry> {
  await runMigrations(database, {
    directory: REGISTRY_MIGRATIONS_DIR,
    component: REGISTRY_MIGRATIONS_COMPONENT,
    logger,
  });
  return new SchemaRegistry(database, { ...DEFAULT_REGISTRY_LIMITS, ...limits });
}

export interface StartRegistryOptions {
  host?: string;
  port?: number;
  /** A database whose schema keeps the registry's tables; otherwise one is opened from url/dataDir. */
  database?: Database;
  /** A PostgreSQL server URL (DATABASE_URL); without it and without database, PGlite in dataDir. */
  url?: string | null;
  /** PGlite's data directory; null keeps the registry in memory. */
  dataDir?: string | null;
  limits?: Partial<RegistryLimits>;
  logger?: Logger;
}

export interface RunningRegistry {
  /** "127.0.0.1:8081" */
  readonly address: string;
  /** "http://127.0.0.1:8081" */
  readonly url: string;
  readonly registry: SchemaRegistry;
  close(): Promise<void>;
}

export async function startRegistry(options: StartRegistryOptions = {}): Promise<RunningRegistry> {
  const own =
    options.database === undefined
      ? await openDatabase({
          url: options.url ?? null,
          dataDir: options.url ? null : (options.dataDir ?? null),
          schema: REGISTRY_DATABASE_SCHEMA,
          migrate: false,
          logger: options.logger,
        })
      : null;
  try {
    const registry = await openSchemaRegistry(own ?? (options.database as Database), options.limits, options.logger);
    const app = createRegistryApp({ registry, logger: options.logger });
    await app.listen({ host: options.host ?? "127.0.0.1", port: options.port ?? DEFAULT_REGISTRY_PORT });
    const bound = app.server.address();
    const port = typeof bound === "object" && bound !== null ? bound.port : (options.port ?? DEFAULT_REGISTRY_PORT);
    const host = options.host ?? "127.0.0.1";
    const address = `${host.includes(":") ? `[${host}]` : host}:${port}`;
    return {
      address,
      url: `http://${address}`,
      registry,
      async close() {
        await app.close();
        await own?.close();
      },
    };
  } catch (error) {
    await own?.close().catch(() => undefined);
    throw error;
  }
}
