// A registry over a fresh in-memory PGlite, its Fastify app ready for inject, closed after the test.

import type { TestContext } from "node:test";

import type { FastifyInstance } from "fastify";

import {
  createRegistryApp,
  openSchemaRegistry,
  type RegistryLimits,
  type SchemaRegistry,
} from "../../src/registry/index.js";
import { openDatabase, type Database } from "../../src/store/index.js";
import { sharedPgliteSnapshot } from "../store/harness.js";

let shared: Promise<Database> | null = null;
let schemaCounter = 0;

/** One in-memory PGlite per test file (starting one takes seconds), each test in a schema of its own. */
function sharedDatabase(): Promise<Database> {
  if (shared === null) {
    const opening = sharedPgliteSnapshot().then((snapshot) =>
      openDatabase({ pgliteSnapshot: snapshot, migrate: false }),
    );
    shared = opening;
  }
  return shared;
}

/** Call from the test file's top-level after(). */
export async function closeSharedDatabase(): Promise<void> {
  if (shared !== null) await (await shared).close();
  shared = null;
}

export async function registryAppForTest(
  t: TestContext,
  limits: Partial<RegistryLimits> = {},
): Promise<{ app: FastifyInstance; registry: SchemaRegistry }> {
  schemaCounter += 1;
  const database = (await sharedDatabase()).withSchema(`registry_test_${schemaCounter}`);
  const registry = await openSchemaRegistry(database, limits);
  const app = createRegistryApp({ registry });
  t.after(async () => {
    await app.close();
  });
  return { app, registry };
}

export const CONTENT_TYPE = "application/vnd.schemaregistry.v1+json";

/** An injected JSON request; the answer's body parsed. */
export async function call(
  app: FastifyInstance,
  method: "GET" | "POST" | "PUT" | "DELETE",
  url: string,
  body?: unknown,
): Promise<{ status: number; body: unknown; contentType: string }> {
  const response = await app.inject({
    method,
    url,
    headers: body === undefined ? {} : { "content-type": CONTENT_TYPE },
    payload: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  return {
    status: response.statusCode,
    body: response.body === "" ? undefined : (JSON.parse(response.body) as unknown),
    contentType: String(response.headers["content-type"] ?? ""),
  };
}

export function avroRecord(name: string, fields: readonly object[]): string {
  return JSON.stringify({ type: "record", name, namespace: "test", fields });
}
