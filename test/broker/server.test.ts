// The TCP side, spoken to with raw frames: ordering of pipelined responses, the in-flight and connection limits,
// and how bad frames are answered.

import assert from "node:assert/strict";
import net from "node:net";
import { test } from "node:test";
import { decodeMessage, encodeMessage, isFlexible } from "../../src/kafka/protocol/codec.js";
import { writeRequestHeader } from "../../src/kafka/protocol/headers.js";
import { ApiVersionsResponseSchema, type ApiVersionsResponse } from "../../src/kafka/protocol/messages/index.js";
import { Reader, Writer } from "../../src/kafka/protocol/primitives.js";
import { HANDLERS } from "../../src/broker/handlers/index.js";
import { brokerForTest } from "../helpers/broker.js";

function frame(apiKey: number, apiVersion: number, correlationId: number, body: object): Buffer {
  const handler = HANDLERS.get(apiKey)!;
  const writer = new Writer();
  const sizeAt = writer.reserveInt32();
  const headerVersion = isFlexible(handler.requestSchema, apiVersion) ? 2 : 1;
  writeRequestHeader(writer, { apiKey, apiVersion, correlationId, clientId: "raw" }, headerVersion);
  encodeMessage(handler.requestSchema, apiVersion, body, writer);
  writer.patchInt32(sizeAt, writer.offset - 4);
  return Buffer.from(writer.finish());
}

/** A raw connection that collects whole response frames. */
class RawClient {
  readonly socket: net.Socket;
  readonly frames: Buffer[] = [];
  closed = false;
  private pending = Buffer.alloc(0);

  constructor(port: number) {
    this.socket = net.connect(port, "127.0.0.1");
    this.socket.on("data", (chunk: Buffer) => {
      this.pending = Buffer.concat([this.pending, chunk]);
      while (this.pending.length >= 4 && this.pending.length >= 4 + this.pending.readInt32BE(0)) {
        const size = this.pending.readInt32BE(0);
        this.frames.push(this.pending.subarray(4, 4 + size));
        this.pending = this.pending.subarray(4 + size);
      }
    });
    this.socket.on("error", () => undefined);
    this.socket.on("close", () => (this.closed = true));
  }

  async until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error(`timed out with ${this.frames.length} frames, closed=${this.closed}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  correlationIds(): number[] {
    return this.frames.map((f) => f.readInt32BE(0));
  }
}

test("pipelined requests are answered in order, even behind a waiting fetch", async (t) => {
  const broker = await brokerForTest(t, { inFlightRequestsMax: 5 });
  broker.broker.topics.create("waiting", 1, new Map());
  const client = new RawClient(broker.port);
  t.after(() => client.socket.destroy());
  const fetch = frame(1, 11, 1, {
    replicaId: -1,
    maxWaitMs: 300,
    minBytes: 1,
    maxBytes: 1 << 20,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [
      {
        topic: "waiting",
        partitions: [
          { partition: 0, currentLeaderEpoch: -1, fetchOffset: 0, logStartOffset: -1, partitionMaxBytes: 1 << 20 },
        ],
      },
    ],
    forgottenTopicsData: [],
    rackId: "",
  });
  const requests = [fetch];
  for (let id = 2; id <= 60; id++) requests.push(frame(18, 2, id, {}));
  const started = Date.now();
  client.socket.write(Buffer.concat(requests));
  await client.until(() => client.frames.length === 60);
  assert.deepEqual(
    client.correlationIds(),
    Array.from({ length: 60 }, (_, i) => i + 1),
  );
  assert.ok(Date.now() - started >= 250, "the fetch waited, and the requests behind it waited for its answer");
});

test("an ApiVersions request of an unknown version gets a v0 body with UNSUPPORTED_VERSION and the ranges", async (t) => {
  const broker = await brokerForTest(t);
  const client = new RawClient(broker.port);
  t.after(() => client.socket.destroy());
  const writer = new Writer();
  const sizeAt = writer.reserveInt32();
  writeRequestHeader(writer, { apiKey: 18, apiVersion: 99, correlationId: 7, clientId: "future" }, 2);
  writer.uvarint(0);
  writer.patchInt32(sizeAt, writer.offset - 4);
  client.socket.write(Buffer.from(writer.finish()));
  await client.until(() => client.frames.length === 1);
  const reader = new Reader(client.frames[0]!);
  assert.equal(reader.int32(), 7);
  const body = decodeMessage<ApiVersionsResponse>(ApiVersionsResponseSchema, 0, reader);
  assert.equal(body.errorCode, 35);
  assert.deepEqual(
    body.apiKeys.find((k) => k.apiKey === 18),
    { apiKey: 18, minVersion: 0, maxVersion: 3 },
  );
  assert.equal(body.apiKeys.length, HANDLERS.size);
});

test("an unknown API key, an unsupported version or an oversized frame closes only that connection", async (t) => {
  const broker = await brokerForTest(t, { requestBytesMax: 1024 });
  const bystander = new RawClient(broker.port);
  t.after(() => bystander.socket.destroy());
  const unknownKey = Buffer.from([0, 0, 0, 10, 0, 99, 0, 0, 0, 0, 0, 1, 0, 0]);
  const unsupported = frame(3, 9, 1, { topics: null });
  unsupported.writeInt16BE(50, 6);
  const oversized = Buffer.from([0, 0, 8, 0]);
  for (const bytes of [unknownKey, unsupported, oversized]) {
    const client = new RawClient(broker.port);
    client.socket.write(bytes);
    await client.until(() => client.closed);
    assert.equal(client.frames.length, 0);
  }
  bystander.socket.write(frame(18, 2, 42, {}));
  await bystander.until(() => bystander.frames.length === 1);
  assert.deepEqual(bystander.correlationIds(), [42]);
});

test("connections beyond connectionsMax are refused while existing ones keep working", async (t) => {
  const broker = await brokerForTest(t, { connectionsMax: 2 });
  const first = new RawClient(broker.port);
  const second = new RawClient(broker.port);
  t.after(() => {
    first.socket.destroy();
    second.socket.destroy();
  });
  first.socket.write(frame(18, 2, 1, {}));
  second.socket.write(frame(18, 2, 1, {}));
  await first.until(() => first.frames.length === 1);
  await second.until(() => second.frames.length === 1);
  const third = new RawClient(broker.port);
  third.socket.write(frame(18, 2, 1, {}));
  await third.until(() => third.closed);
  assert.equal(third.frames.length, 0);
  first.socket.write(frame(18, 2, 2, {}));
  await first.until(() => first.frames.length === 2);
});
