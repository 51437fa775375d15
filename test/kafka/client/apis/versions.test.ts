import assert from "node:assert/strict";
import { test } from "node:test";
import { Api } from "../../../../src/kafka/client/apis/definitions.js";
import { highestCommonVersion, NegotiatedVersions } from "../../../../src/kafka/client/apis/versions.js";
import { KafkaUnsupportedApiError } from "../../../../src/kafka/client/errors.js";
import { openConnection } from "../../../../src/kafka/client/network/handshake.js";
import { resolveClientOptions } from "../../../../src/kafka/client/options.js";
import { encodeMessage } from "../../../../src/kafka/protocol/codec.js";
import { writeResponseHeader } from "../../../../src/kafka/protocol/headers.js";
import { Writer } from "../../../../src/kafka/protocol/primitives.js";
import { apiVersionsAnswer, correlationIdOf, fakePeer, frame } from "../support.js";

test("each API is spoken at the highest version inside both ranges", () => {
  assert.equal(highestCommonVersion([3, 11], [3, 9]), 9);
  assert.equal(highestCommonVersion([4, 12], [0, 17]), 12);
  assert.equal(highestCommonVersion([1, 12], [0, 0]), null);
  assert.equal(highestCommonVersion([1, 12], undefined), null);

  const versions = new NegotiatedVersions(
    new Map([
      [Api.Fetch.apiKey, [4, 17] as const],
      [Api.Produce.apiKey, [3, 9] as const],
      [Api.Metadata.apiKey, [0, 0] as const],
    ]),
    new Map([[Api.Fetch.apiKey, 11]]),
  );
  assert.equal(versions.version(Api.Fetch), 11, "a cap lowers the client's own maximum");
  assert.equal(versions.version(Api.Produce), 9);
  assert.equal(versions.supports(Api.Metadata), false);
  assert.throws(
    () => versions.version(Api.Metadata),
    (error: unknown) => {
      assert.ok(error instanceof KafkaUnsupportedApiError);
      assert.match(error.message, /supports Metadata versions 0–0, this client 1–12/);
      return true;
    },
  );
  assert.throws(() => versions.version(Api.DescribeCluster), /does not support DescribeCluster \(API key 60\)/);
});

test("a broker that does not serve ApiVersions v3 is asked again at the version it names (KIP-511)", async (t) => {
  const asked: number[] = [];
  const peer = await fakePeer(t, (request) => {
    const version = request.readInt16BE(2);
    asked.push(version);
    if (version > 2) {
      // The v0 body a broker sends for a version it does not know: UNSUPPORTED_VERSION and its range for key 18.
      const writer = new Writer();
      writeResponseHeader(writer, correlationIdOf(request), 0);
      encodeMessage(
        Api.ApiVersions.responseSchema,
        0,
        { errorCode: 35, apiKeys: [{ apiKey: 18, minVersion: 0, maxVersion: 2 }] },
        writer,
      );
      return frame(Buffer.from(writer.finish()));
    }
    return apiVersionsAnswer(request);
  });
  const options = resolveClientOptions({ bootstrapBrokers: [peer.address] });
  const connection = await openConnection({ ...options, host: "127.0.0.1", port: peer.port });
  t.after(() => connection.close());
  assert.deepEqual(asked, [3, 2]);
  assert.equal(connection.versionOf(Api.Metadata), 9);
  assert.equal(connection.versionOf(Api.Fetch), 12);
});
