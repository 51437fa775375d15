// Shared pieces of the client's tests: a client for an embedded broker that is closed after the test (before the
// broker, see brokerForTest), and a scripted fake broker for the tests of peers that misbehave.

import net from "node:net";
import type { TestContext } from "node:test";
import { Api, type ApiDefinition } from "../../../src/kafka/client/apis/definitions.js";
import { SluiceKafkaClient, type KafkaClientOptions } from "../../../src/kafka/client/index.js";
import { encodeMessage, isFlexible } from "../../../src/kafka/protocol/codec.js";
import { responseHeaderVersion, writeResponseHeader } from "../../../src/kafka/protocol/headers.js";
import { Writer } from "../../../src/kafka/protocol/primitives.js";

/** Fast retries so that tests of retry paths finish quickly; the limits under test are set per test. */
export const TEST_RETRY_OPTIONS = { retriesMax: 5, retryBackoffInitialMs: 20, retryBackoffMaxMs: 200 } as const;

export function clientFor(
  t: TestContext,
  broker: { address: string },
  options: Partial<KafkaClientOptions> = {},
): SluiceKafkaClient {
  const client = new SluiceKafkaClient({ bootstrapBrokers: [broker.address], ...TEST_RETRY_OPTIONS, ...options });
  // Registered after the broker's own teardown, so it runs first (node:test runs after-hooks last-in, first-out).
  t.after(() => client.close());
  return client;
}

export interface FakePeer {
  readonly address: string;
  readonly port: number;
  /** Every frame's payload received so far, per connection in order of arrival. */
  readonly received: Buffer[];
  readonly connections: number;
}

/**
 * A TCP server that answers each request frame with whatever `answer` returns (raw bytes written as they are, or
 * null to stay silent); the request's payload and its index on the connection are given.
 */
export async function fakePeer(
  t: TestContext,
  answer: (request: Buffer, index: number, socket: net.Socket) => Buffer | null,
): Promise<FakePeer> {
  const received: Buffer[] = [];
  const sockets = new Set<net.Socket>();
  let connections = 0;
  const server = net.createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => undefined);
    let buffered = Buffer.alloc(0);
    let index = 0;
    socket.on("data", (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 4 && buffered.length >= 4 + buffered.readInt32BE(0)) {
        const size = buffered.readInt32BE(0);
        const frame = buffered.subarray(4, 4 + size);
        buffered = buffered.subarray(4 + size);
        received.push(frame);
        const reply = answer(frame, index++, socket);
        if (reply !== null && !socket.destroyed) socket.write(reply);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  const { port } = server.address() as net.AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    port,
    received,
    get connections() {
      return connections;
    },
  };
}

/** A size-prefixed frame. */
export function frame(payload: Buffer): Buffer {
  const size = Buffer.alloc(4);
  size.writeInt32BE(payload.length);
  return Buffer.concat([size, payload]);
}

/** The correlation id of a request frame (after api key and version). */
export function correlationIdOf(request: Buffer): number {
  return request.readInt32BE(4);
}

/** A whole response frame for `api` at `version`, with the header the version calls for. */
export function responseFrame<Request, Response>(
  api: ApiDefinition<Request, Response>,
  version: number,
  correlationId: number,
  body: Response,
): Buffer {
  const writer = new Writer();
  writeResponseHeader(
    writer,
    correlationId,
    responseHeaderVersion(api.apiKey, isFlexible(api.responseSchema, version)),
  );
  encodeMessage(api.responseSchema, version, body, writer);
  return frame(Buffer.from(writer.finish()));
}

/** The API ranges the fake peers advertise: what Sluice's broker serves for the APIs these tests use. */
export const FAKE_PEER_RANGES: ReadonlyArray<[apiKey: number, min: number, max: number]> = [
  [0, 3, 9],
  [1, 4, 12],
  [2, 0, 6],
  [3, 0, 9],
  [17, 0, 1],
  [18, 0, 3],
  [36, 0, 2],
];

/** Answers an ApiVersions request (at whatever version it came) with FAKE_PEER_RANGES. */
export function apiVersionsAnswer(request: Buffer): Buffer {
  const version = request.readInt16BE(2);
  return responseFrame(Api.ApiVersions, version, correlationIdOf(request), {
    errorCode: 0,
    apiKeys: FAKE_PEER_RANGES.map(([apiKey, minVersion, maxVersion]) => ({ apiKey, minVersion, maxVersion })),
    throttleTimeMs: 0,
    supportedFeatures: [],
    finalizedFeaturesEpoch: -1,
    finalizedFeatures: [],
    zkMigrationReady: false,
  });
}

/** A fake peer that negotiates versions properly, then answers every later request with `misbehave`. */
export function negotiatingPeer(
  t: TestContext,
  misbehave: (request: Buffer, index: number, socket: net.Socket) => Buffer | null,
): Promise<FakePeer> {
  return fakePeer(t, (request, index, socket) =>
    request.readInt16BE(0) === Api.ApiVersions.apiKey ? apiVersionsAnswer(request) : misbehave(request, index, socket),
  );
}
