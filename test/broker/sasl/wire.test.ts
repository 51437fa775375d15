// SASL on the wire: hand-built Kafka frames over a real socket to the embedded broker, covering what kafkajs never
// sends (SaslHandshake v0 with raw tokens, SaslAuthenticate v2) and how the server closes failed connections.

import assert from "node:assert/strict";
import net from "node:net";
import { describe, test, type TestContext } from "node:test";
import { decodeMessage, encodeMessage, isFlexible } from "../../../src/kafka/protocol/codec.js";
import { ErrorCode } from "../../../src/kafka/protocol/error-codes.js";
import {
  readResponseHeader,
  requestHeaderVersion,
  responseHeaderVersion,
  writeRequestHeader,
} from "../../../src/kafka/protocol/headers.js";
import {
  MetadataRequestSchema,
  MetadataResponseSchema,
  SaslAuthenticateRequestSchema,
  SaslAuthenticateResponseSchema,
  SaslHandshakeRequestSchema,
  SaslHandshakeResponseSchema,
  type MetadataResponse,
  type SaslAuthenticateResponse,
  type SaslHandshakeResponse,
} from "../../../src/kafka/protocol/messages/index.js";
import { Reader, Writer } from "../../../src/kafka/protocol/primitives.js";
import type { MessageSchema } from "../../../src/kafka/protocol/schema.js";
import { brokerForTest } from "../../helpers/broker.js";
import { ScramTestClient } from "./test-support.js";

const READ_TIMEOUT_MS = 5_000;
const USERS = { alice: "alice-secret" };

/** A client socket that sends Kafka requests or raw frames and reads size-prefixed frames back. */
class FrameClient {
  private buffered = Buffer.alloc(0);
  private closed = false;
  private waiter: (() => void) | null = null;
  private correlationId = 0;

  private constructor(private readonly socket: net.Socket) {
    socket.on("data", (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk]);
      this.waiter?.();
    });
    socket.on("close", () => {
      this.closed = true;
      this.waiter?.();
    });
    socket.on("error", () => undefined);
  }

  static async connect(t: TestContext, port: number): Promise<FrameClient> {
    const socket = net.connect(port, "127.0.0.1");
    await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
    t.after(() => socket.destroy());
    return new FrameClient(socket);
  }

  sendRaw(payload: Buffer): void {
    const size = Buffer.alloc(4);
    size.writeInt32BE(payload.length);
    this.socket.write(Buffer.concat([size, payload]));
  }

  async request<Response>(
    schema: MessageSchema,
    responseSchema: MessageSchema,
    version: number,
    body: unknown,
  ): Promise<Response> {
    const correlationId = ++this.correlationId;
    const writer = new Writer();
    writeRequestHeader(
      writer,
      { apiKey: schema.apiKey, apiVersion: version, correlationId, clientId: "wire-test" },
      requestHeaderVersion(isFlexible(schema, version)),
    );
    encodeMessage(schema, version, body, writer);
    this.sendRaw(Buffer.from(writer.finish()));
    const frame = await this.readFrame();
    assert.ok(frame !== null, `the broker closed the connection instead of answering ${schema.name}`);
    const reader = new Reader(frame);
    const headerVersion = responseHeaderVersion(schema.apiKey, isFlexible(responseSchema, version));
    assert.equal(readResponseHeader(reader, headerVersion), correlationId);
    return decodeMessage<Response>(responseSchema, version, reader);
  }

  /** The next frame's payload, or null when the broker closes the connection first. */
  async readFrame(): Promise<Buffer | null> {
    const deadline = Date.now() + READ_TIMEOUT_MS;
    while (true) {
      if (this.buffered.length >= 4) {
        const size = this.buffered.readInt32BE(0);
        if (this.buffered.length >= 4 + size) {
          const frame = this.buffered.subarray(4, 4 + size);
          this.buffered = this.buffered.subarray(4 + size);
          return frame;
        }
      }
      if (this.closed) return null;
      const remainingMs = deadline - Date.now();
      if (remainingMs <= 0) throw new Error(`no frame within ${READ_TIMEOUT_MS} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remainingMs);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.waiter = null;
    }
  }

  async metadata(version = 1): Promise<MetadataResponse> {
    return this.request<MetadataResponse>(MetadataRequestSchema, MetadataResponseSchema, version, {
      topics: [],
      allowAutoTopicCreation: false,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    });
  }

  handshake(mechanism: string, version: number): Promise<SaslHandshakeResponse> {
    return this.request(SaslHandshakeRequestSchema, SaslHandshakeResponseSchema, version, { mechanism });
  }

  authenticate(authBytes: Buffer, version: number): Promise<SaslAuthenticateResponse> {
    return this.request(SaslAuthenticateRequestSchema, SaslAuthenticateResponseSchema, version, { authBytes });
  }
}

const plain = (username: string, password: string): Buffer => Buffer.from(`\0${username}\0${password}`);

describe("SASL on the wire", () => {
  test("SaslHandshake v1 and SaslAuthenticate v2 (flexible) with SCRAM-SHA-256, then requests are served", async (t) => {
    const broker = await brokerForTest(t, { sasl: { mechanisms: ["SCRAM-SHA-256"], users: USERS } });
    const client = await FrameClient.connect(t, broker.port);
    assert.deepEqual(await client.handshake("SCRAM-SHA-256", 1), { errorCode: 0, mechanisms: ["SCRAM-SHA-256"] });
    const scram = new ScramTestClient("sha256", "alice", "alice-secret", "wire-nonce");
    const first = await client.authenticate(Buffer.from(scram.clientFirst()), 2);
    assert.equal(first.errorCode, ErrorCode.NONE);
    const final = await client.authenticate(Buffer.from(scram.clientFinal(first.authBytes.toString())), 2);
    assert.equal(final.errorCode, ErrorCode.NONE);
    assert.equal(final.authBytes.toString(), scram.expectedServerFinal());
    assert.equal(final.sessionLifetimeMs, 0);
    assert.equal((await client.metadata()).brokers.length, 1);
  });

  test("a request other than ApiVersions and SASL before authentication closes the connection unanswered", async (t) => {
    const broker = await brokerForTest(t, { sasl: { mechanisms: ["PLAIN"], users: USERS } });
    const client = await FrameClient.connect(t, broker.port);
    await assert.rejects(client.metadata(), /closed the connection/);
  });

  test("a failed SaslAuthenticate is answered with SASL_AUTHENTICATION_FAILED, then the connection closes", async (t) => {
    const broker = await brokerForTest(t, { sasl: { mechanisms: ["PLAIN"], users: USERS } });
    const client = await FrameClient.connect(t, broker.port);
    await client.handshake("PLAIN", 1);
    const response = await client.authenticate(plain("alice", "wrong"), 1);
    assert.equal(response.errorCode, ErrorCode.SASL_AUTHENTICATION_FAILED);
    assert.equal(response.errorMessage, "Authentication failed: invalid username or password");
    assert.equal(await client.readFrame(), null);
  });

  test("an unsupported mechanism is answered with the enabled list, then the connection closes", async (t) => {
    const broker = await brokerForTest(t, { sasl: { mechanisms: ["PLAIN", "SCRAM-SHA-512"], users: USERS } });
    const client = await FrameClient.connect(t, broker.port);
    assert.deepEqual(await client.handshake("GSSAPI", 1), {
      errorCode: ErrorCode.UNSUPPORTED_SASL_MECHANISM,
      mechanisms: ["PLAIN", "SCRAM-SHA-512"],
    });
    assert.equal(await client.readFrame(), null);
  });

  test("SaslHandshake v0: a raw PLAIN token is answered with an empty raw token, then requests are served", async (t) => {
    const broker = await brokerForTest(t, { sasl: { mechanisms: ["PLAIN"], users: USERS } });
    const client = await FrameClient.connect(t, broker.port);
    assert.equal((await client.handshake("PLAIN", 0)).errorCode, ErrorCode.NONE);
    client.sendRaw(plain("alice", "alice-secret"));
    assert.deepEqual(await client.readFrame(), Buffer.alloc(0));
    assert.equal((await client.metadata()).brokers.length, 1);
  });

  test("SaslHandshake v0: SCRAM-SHA-512 in raw tokens", async (t) => {
    const broker = await brokerForTest(t, { sasl: { mechanisms: ["SCRAM-SHA-512"], users: USERS } });
    const client = await FrameClient.connect(t, broker.port);
    assert.equal((await client.handshake("SCRAM-SHA-512", 0)).errorCode, ErrorCode.NONE);
    const scram = new ScramTestClient("sha512", "alice", "alice-secret", "raw-wire-nonce");
    client.sendRaw(Buffer.from(scram.clientFirst()));
    const serverFirst = await client.readFrame();
    assert.ok(serverFirst !== null);
    client.sendRaw(Buffer.from(scram.clientFinal(serverFirst.toString())));
    assert.equal((await client.readFrame())?.toString(), scram.expectedServerFinal());
    assert.equal((await client.metadata()).brokers.length, 1);
  });

  test("SaslHandshake v0: a wrong raw token closes the connection without an answer", async (t) => {
    const broker = await brokerForTest(t, { sasl: { mechanisms: ["PLAIN"], users: USERS } });
    const client = await FrameClient.connect(t, broker.port);
    await client.handshake("PLAIN", 0);
    client.sendRaw(plain("alice", "wrong"));
    assert.equal(await client.readFrame(), null);
  });
});
