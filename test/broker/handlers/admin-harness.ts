// Shared set-up for the admin handler tests: a real Broker, and a call path that puts both the request and the
// response through the wire codec at the version under test, the way the server does.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { decodeMessage, encodeMessage } from "../../../src/kafka/protocol/codec.js";
import { Reader } from "../../../src/kafka/protocol/primitives.js";
import { Broker } from "../../../src/broker/broker.js";
import { defaultBrokerConfig, type BrokerConfig } from "../../../src/broker/config.js";
import { NO_RESPONSE, type ApiHandler, type HandlerContext } from "../../../src/broker/handlers/handler.js";
import { HANDLERS } from "../../../src/broker/handlers/index.js";

export const NODE_ID = 7;
export const DEFAULT_PARTITIONS = 2;

const silent = pino({ level: "silent" });

/** Opens a broker kept in memory unless a data dir is given; the test closes it. */
export async function openBroker(overrides: Partial<BrokerConfig> = {}): Promise<Broker> {
  const config: BrokerConfig = {
    ...defaultBrokerConfig(),
    port: 0,
    nodeId: NODE_ID,
    clusterId: "admin-test-cluster",
    defaultPartitions: DEFAULT_PARTITIONS,
    ...overrides,
  };
  const broker = new Broker(config, silent);
  await broker.open();
  return broker;
}

/** A fresh directory under the system temp dir and a function that removes it. */
export function tempDir(): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), "sluice-admin-"));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

function throughWire<T>(schema: ApiHandler["requestSchema"], version: number, value: T): T {
  const bytes = encodeMessage(schema, version, value).finish();
  const reader = new Reader(Buffer.from(bytes));
  const decoded = decodeMessage<T>(schema, version, reader);
  assert.equal(reader.remaining, 0, `${schema.name} v${version} left bytes unread`);
  return decoded;
}

/** Sends a request through the codec to the handler and returns the response as a client would decode it. */
export async function call<Request, Response>(
  broker: Broker,
  handler: ApiHandler<Request, Response>,
  version: number,
  request: Request,
): Promise<Response> {
  assert.ok(
    version >= handler.versions[0] && version <= handler.versions[1],
    `${handler.name} does not serve v${version}`,
  );
  const ctx: HandlerContext = {
    broker,
    apiVersion: version,
    handlers: HANDLERS,
    connection: {
      id: 1,
      remoteAddress: "127.0.0.1",
      clientId: "admin-test",
      principal: null,
      saslMechanism: null,
      saslExchange: null,
    },
  };
  const response = await handler.handle(ctx, throughWire(handler.requestSchema, version, request));
  assert.notEqual(response, NO_RESPONSE);
  return throughWire(handler.responseSchema, version, response as Response);
}

/** Every version a handler serves, lowest first. */
export function servedVersions(handler: { readonly versions: readonly [number, number] }): number[] {
  const [min, max] = handler.versions;
  return Array.from({ length: max - min + 1 }, (_, i) => min + i);
}

/** Encodes a handler's error response at every version it serves and returns the decoded forms. */
export function errorResponses<Request, Response>(
  handler: ApiHandler<Request, Response>,
  request: Request,
  errorCode: number,
): Array<{ version: number; response: Response }> {
  return servedVersions(handler).map((version) => ({
    version,
    response: throughWire(
      handler.responseSchema,
      version,
      handler.errorResponse(throughWire(handler.requestSchema, version, request), errorCode),
    ),
  }));
}
