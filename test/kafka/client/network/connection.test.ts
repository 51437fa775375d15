// The connection against peers that misbehave: garbage, oversized, mismatched, unasked and undecodable frames, a peer
// that never answers or hangs up mid-frame, and random bytes. Every case must end in a clean, typed error on the
// requests and a closed connection, never a hang or a crash; and the limits on requests in flight and queued hold.

import assert from "node:assert/strict";
import net from "node:net";
import { describe, test, type TestContext } from "node:test";
import { Api } from "../../../../src/kafka/client/apis/definitions.js";
import {
  KafkaClientError,
  KafkaConnectionError,
  KafkaProtocolViolationError,
} from "../../../../src/kafka/client/errors.js";
import type { BrokerConnection } from "../../../../src/kafka/client/network/connection.js";
import { openConnection } from "../../../../src/kafka/client/network/handshake.js";
import { resolveClientOptions, type KafkaClientOptions } from "../../../../src/kafka/client/options.js";
import type { MetadataRequest } from "../../../../src/kafka/protocol/messages/index.js";
import { correlationIdOf, fakePeer, frame, negotiatingPeer, responseFrame, type FakePeer } from "../support.js";

const METADATA_REQUEST: MetadataRequest = {
  topics: [],
  allowAutoTopicCreation: false,
  includeClusterAuthorizedOperations: false,
  includeTopicAuthorizedOperations: false,
};

async function connect(
  t: TestContext,
  peer: FakePeer,
  options: Partial<KafkaClientOptions> = {},
): Promise<BrokerConnection> {
  const resolved = resolveClientOptions({ bootstrapBrokers: [peer.address], ...options });
  const connection = await openConnection({ ...resolved, host: "127.0.0.1", port: peer.port });
  t.after(() => connection.close());
  return connection;
}

function metadataAnswer(request: Buffer): Buffer {
  return responseFrame(Api.Metadata, request.readInt16BE(2), correlationIdOf(request), {
    throttleTimeMs: 0,
    brokers: [{ nodeId: 1, host: "127.0.0.1", port: 1, rack: null }],
    clusterId: "fake",
    controllerId: 1,
    topics: [],
  });
}

function assertViolation(pattern: RegExp): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof KafkaProtocolViolationError, `expected a protocol violation, got ${String(error)}`);
    assert.equal(error.code, "SLUICE_KAFKA_PROTOCOL_VIOLATION");
    assert.match(error.message, pattern);
    return true;
  };
}

describe("BrokerConnection with a peer that breaks the protocol", () => {
  test("a negative frame size closes the connection with a protocol violation", async (t) => {
    const peer = await negotiatingPeer(t, () => Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 2, 3]));
    const connection = await connect(t, peer);
    await assert.rejects(
      connection.request(Api.Metadata, METADATA_REQUEST),
      assertViolation(/smaller than a response header/),
    );
    assert.equal(connection.closed, true);
  });

  test("a frame larger than responseBytesMax is refused before its body arrives", async (t) => {
    const peer = await negotiatingPeer(t, (request) => {
      const header = Buffer.alloc(8);
      header.writeInt32BE(1024 * 1024 + 1, 0);
      header.writeInt32BE(correlationIdOf(request), 4);
      return header;
    });
    const connection = await connect(t, peer, { responseBytesMax: 1024 * 1024 });
    await assert.rejects(
      connection.request(Api.Metadata, METADATA_REQUEST),
      assertViolation(/larger than the 1048576 bytes/),
    );
    assert.equal(connection.closed, true);
  });

  test("a response with another request's correlation id fails every request on the connection", async (t) => {
    const peer = await negotiatingPeer(t, (request) => {
      const body = Buffer.alloc(4);
      body.writeInt32BE(correlationIdOf(request) + 7);
      return frame(body);
    });
    const connection = await connect(t, peer);
    const first = connection.request(Api.Metadata, METADATA_REQUEST);
    const second = connection.request(Api.Metadata, METADATA_REQUEST);
    await assert.rejects(first, assertViolation(/correlation id \d+ where \d+ was due/));
    await assert.rejects(second, assertViolation(/correlation id/));
  });

  test("a body that cannot be decoded is a protocol violation, not a crash", async (t) => {
    const peer = await negotiatingPeer(t, (request) => {
      const body = Buffer.alloc(9);
      body.writeInt32BE(correlationIdOf(request));
      body.writeInt32BE(0x7fffffff, 4); // throttle time, then a truncated broker array
      return frame(body);
    });
    const connection = await connect(t, peer);
    await assert.rejects(
      connection.request(Api.Metadata, METADATA_REQUEST),
      assertViolation(/Metadata v9 response cannot be read/),
    );
    assert.equal(connection.closed, true);
  });

  test("a response nobody asked for closes the connection", async (t) => {
    const peer = await negotiatingPeer(t, (request) =>
      Buffer.concat([metadataAnswer(request), metadataAnswer(request)]),
    );
    const connection = await connect(t, peer);
    const closed = new Promise<KafkaClientError>((resolve) => connection.onClose(resolve));
    const response = await connection.request(Api.Metadata, METADATA_REQUEST);
    assert.equal(response.clusterId, "fake");
    const error = await closed;
    assert.ok(error instanceof KafkaProtocolViolationError);
    assert.match(error.message, /arrived unasked/);
  });

  test("a peer that never answers makes the request time out and closes the connection", async (t) => {
    const peer = await negotiatingPeer(t, () => null);
    const connection = await connect(t, peer, { requestTimeoutMs: 200 });
    const first = connection.request(Api.Metadata, METADATA_REQUEST);
    const second = connection.request(Api.Metadata, METADATA_REQUEST, { timeoutMs: 5_000 });
    await assert.rejects(first, (error: unknown) => {
      assert.ok(error instanceof KafkaConnectionError);
      assert.equal(error.code, "SLUICE_KAFKA_REQUEST_TIMED_OUT");
      assert.equal(error.requestSent, true);
      assert.equal(error.retriable, true);
      return true;
    });
    await assert.rejects(
      second,
      (error: unknown) => error instanceof KafkaConnectionError && /timed out/.test(error.message),
    );
    assert.equal(connection.closed, true);
  });

  test("a peer that hangs up in the middle of a frame fails the request as a closed connection", async (t) => {
    const peer = await negotiatingPeer(t, (request, _index, socket) => {
      const partial = metadataAnswer(request).subarray(0, 10);
      socket.end(partial);
      return null;
    });
    const connection = await connect(t, peer);
    await assert.rejects(connection.request(Api.Metadata, METADATA_REQUEST), (error: unknown) => {
      assert.ok(error instanceof KafkaConnectionError);
      assert.equal(error.code, "SLUICE_KAFKA_CONNECTION_CLOSED");
      assert.equal(error.requestSent, true);
      return true;
    });
    await assert.rejects(connection.request(Api.Metadata, METADATA_REQUEST), (error: unknown) => {
      assert.ok(error instanceof KafkaConnectionError);
      assert.equal(error.requestSent, false, "a request made after the close was never sent");
      return true;
    });
  });

  test("random bytes from the peer always end in an error or an answer, never a hang (seeded)", async (t) => {
    let seed = 0x5eed;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
    for (let round = 0; round < 40; round++) {
      const length = Math.floor(random() * 64);
      const noise = Buffer.from(Array.from({ length }, () => Math.floor(random() * 256)));
      // Half the rounds keep a plausible size prefix so that the noise reaches the decoder.
      if (round % 2 === 0 && length >= 8) {
        noise.writeInt32BE(length - 4, 0);
      }
      const peer = await negotiatingPeer(t, (request, _index, socket) => {
        if (round % 2 === 0 && noise.length >= 8) noise.writeInt32BE(correlationIdOf(request), 4);
        socket.write(noise);
        if (round % 3 === 0) socket.end();
        return null;
      });
      const connection = await connect(t, peer, { requestTimeoutMs: 300 });
      const settled = await connection.request(Api.Metadata, METADATA_REQUEST).then(
        () => "answered",
        (error: unknown) => {
          assert.ok(error instanceof KafkaClientError, `round ${round}: ${String(error)}`);
          return error.code;
        },
      );
      assert.ok(typeof settled === "string");
      connection.close();
    }
  });
});

describe("BrokerConnection limits", () => {
  test("no more than inFlightRequestsMax requests are unanswered at once; the rest wait their turn", async (t) => {
    const held: Array<() => void> = [];
    let unanswered = 0;
    let unansweredMax = 0;
    const peer = await negotiatingPeer(t, (request, _index, socket) => {
      unanswered++;
      unansweredMax = Math.max(unansweredMax, unanswered);
      held.push(() => {
        unanswered--;
        socket.write(metadataAnswer(request));
      });
      return null;
    });
    const connection = await connect(t, peer, { inFlightRequestsMax: 2 });
    const requests = Array.from({ length: 6 }, () => connection.request(Api.Metadata, METADATA_REQUEST));
    // Answer one held request at a time, after a pause in which the client could send more if it wanted to.
    for (let answered = 0; answered < 6;) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      if (held.length > 0) {
        held.shift()!();
        answered++;
      }
    }
    const responses = await Promise.all(requests);
    assert.equal(responses.length, 6);
    assert.equal(unansweredMax, 2);
  });

  test("more than queuedRequestsMax waiting requests are refused with REQUEST_QUEUE_FULL", async (t) => {
    const peer = await negotiatingPeer(t, () => null);
    const connection = await connect(t, peer, {
      inFlightRequestsMax: 1,
      queuedRequestsMax: 2,
      requestTimeoutMs: 60_000,
    });
    const pending = Array.from({ length: 3 }, () =>
      connection.request(Api.Metadata, METADATA_REQUEST).catch((error: unknown) => error),
    );
    await assert.rejects(connection.request(Api.Metadata, METADATA_REQUEST), (error: unknown) => {
      assert.ok(error instanceof KafkaClientError);
      assert.equal(error.code, "SLUICE_KAFKA_REQUEST_QUEUE_FULL");
      return true;
    });
    connection.close();
    for (const error of await Promise.all(pending)) assert.ok(error instanceof KafkaConnectionError);
  });

  test("a refused connection fails with CONNECTION_FAILED and was never sent", async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as net.AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    const resolved = resolveClientOptions({ bootstrapBrokers: [`127.0.0.1:${port}`] });
    await assert.rejects(openConnection({ ...resolved, host: "127.0.0.1", port }), (error: unknown) => {
      assert.ok(error instanceof KafkaConnectionError);
      assert.equal(error.code, "SLUICE_KAFKA_CONNECTION_FAILED");
      assert.equal(error.requestSent, false);
      assert.match(error.message, /ECONNREFUSED.*check that a broker listens there/);
      return true;
    });
  });

  test("a TLS handshake that never completes fails after connectTimeoutMs", async (t) => {
    const silent = await fakePeer(t, () => null);
    const resolved = resolveClientOptions({ bootstrapBrokers: [silent.address], tls: true, connectTimeoutMs: 200 });
    await assert.rejects(openConnection({ ...resolved, host: "127.0.0.1", port: silent.port }), (error: unknown) => {
      assert.ok(error instanceof KafkaConnectionError);
      assert.equal(error.code, "SLUICE_KAFKA_CONNECTION_FAILED");
      assert.match(error.message, /no TLS handshake within 200 ms/);
      return true;
    });
  });
});
