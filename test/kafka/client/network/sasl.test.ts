// SASL from Sluice's client: every mechanism against the embedded broker, refusals, and a fake server whose SCRAM
// messages are wrong in the ways that matter (a bad signature, a weak iteration count, a nonce it did not extend).

import assert from "node:assert/strict";
import { describe, test, type TestContext } from "node:test";
import { Api } from "../../../../src/kafka/client/apis/definitions.js";
import { KafkaAuthenticationError, type SaslMechanism } from "../../../../src/kafka/client/index.js";
import { openConnection } from "../../../../src/kafka/client/network/handshake.js";
import { resolveClientOptions } from "../../../../src/kafka/client/options.js";
import { Reader } from "../../../../src/kafka/protocol/primitives.js";
import { brokerForTest } from "../../../helpers/broker.js";
import { clientFor, correlationIdOf, negotiatingPeer, responseFrame } from "../support.js";

const USERS = { alice: "alice-secret", "bob,the=builder": "bøb's pässword" };
const MECHANISMS: readonly SaslMechanism[] = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"];

function assertRefused(pattern: RegExp): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof KafkaAuthenticationError, `expected an authentication error, got ${String(error)}`);
    assert.equal(error.code, "SLUICE_KAFKA_AUTHENTICATION_FAILED");
    assert.equal(error.retriable, false, "the same credentials would fail again");
    assert.match(error.message, pattern);
    return true;
  };
}

describe("SASL against the embedded broker", () => {
  for (const mechanism of MECHANISMS) {
    test(`${mechanism}: every user authenticates, then produces and reads`, async (t) => {
      const broker = await brokerForTest(t, { sasl: { mechanisms: [mechanism], users: USERS } });
      for (const [username, password] of Object.entries(USERS)) {
        const client = clientFor(t, broker, { sasl: { mechanism, username, password } });
        const topic = `sasl-${mechanism.toLowerCase()}-${username.replace(/[^a-z]/g, "")}`;
        const [created] = await client.admin.createTopics([{ name: topic, partitions: 1 }]);
        assert.equal(created!.error, null);
        await client.produce({ topic, partition: 0, records: [{ key: "k", value: `from ${username}` }] });
        const [fetched] = await client.fetch([{ topic, partition: 0, offset: 0 }], { maxWaitMs: 10 });
        assert.equal(fetched!.records[0]!.value!.toString(), `from ${username}`);
      }
    });

    test(`${mechanism}: a wrong password and an unknown user are refused, and not retried`, async (t) => {
      const broker = await brokerForTest(t, { sasl: { mechanisms: [mechanism], users: USERS } });
      for (const [username, password] of [
        ["alice", "not-alice-secret"],
        ["mallory", "alice-secret"],
      ] as const) {
        const client = clientFor(t, broker, { sasl: { mechanism, username, password } });
        await assert.rejects(
          client.admin.listTopics(),
          assertRefused(/refused the credentials.*invalid username or password/),
        );
      }
    });
  }

  test("a mechanism the broker does not enable is refused with the ones it does", async (t) => {
    const broker = await brokerForTest(t, { sasl: { mechanisms: ["SCRAM-SHA-512"], users: USERS } });
    const client = clientFor(t, broker, { sasl: { mechanism: "PLAIN", username: "alice", password: "alice-secret" } });
    await assert.rejects(
      client.admin.listTopics(),
      assertRefused(/does not enable SASL mechanism PLAIN; it enables SCRAM-SHA-512/),
    );
  });
});

/** A fake SCRAM server: answers the handshake, then the client's two tokens with the given texts. */
async function scramPeer(
  t: TestContext,
  serverFirst: (clientNonce: string) => string,
  serverFinal: string,
): Promise<{ address: string; port: number }> {
  let clientNonce = "";
  return negotiatingPeer(t, (request) => {
    const apiKey = request.readInt16BE(0);
    const version = request.readInt16BE(2);
    const correlationId = correlationIdOf(request);
    if (apiKey === Api.SaslHandshake.apiKey) {
      return responseFrame(Api.SaslHandshake, version, correlationId, { errorCode: 0, mechanisms: ["SCRAM-SHA-256"] });
    }
    // SaslAuthenticate: header v2 (flexible) at version 2: api key, version, correlation id, client id, tags.
    const reader = new Reader(request, 8);
    reader.skip(reader.int16());
    reader.uvarint();
    const token = reader.bytes(true)!.toString();
    let answer: string;
    if (token.startsWith("n,,")) {
      clientNonce = /,r=([^,]+)/.exec(token)![1]!;
      answer = serverFirst(clientNonce);
    } else {
      answer = serverFinal;
    }
    return responseFrame(Api.SaslAuthenticate, version, correlationId, {
      errorCode: 0,
      errorMessage: null,
      authBytes: Buffer.from(answer),
      sessionLifetimeMs: 0,
    });
  });
}

async function authenticateWith(t: TestContext, peer: { address: string; port: number }): Promise<unknown> {
  const options = resolveClientOptions({
    bootstrapBrokers: [peer.address],
    sasl: { mechanism: "SCRAM-SHA-256", username: "alice", password: "alice-secret" },
  });
  const connection = await openConnection({ ...options, host: "127.0.0.1", port: peer.port });
  t.after(() => connection.close());
  return connection;
}

describe("SCRAM against a server that cannot prove itself", () => {
  const salt = Buffer.from("0123456789abcdef").toString("base64");

  test("a server signature that does not match the password is refused", async (t) => {
    const peer = await scramPeer(
      t,
      (nonce) => `r=${nonce}server,s=${salt},i=4096`,
      `v=${Buffer.alloc(32).toString("base64")}`,
    );
    await assert.rejects(authenticateWith(t, peer), assertRefused(/the server's signature is wrong/));
  });

  test("fewer than 4096 iterations are refused before any proof is sent", async (t) => {
    const peer = await scramPeer(t, (nonce) => `r=${nonce}server,s=${salt},i=100`, "v=AAAA");
    await assert.rejects(authenticateWith(t, peer), assertRefused(/asks for 100 iterations/));
  });

  test("a nonce that does not extend the client's is refused", async (t) => {
    const peer = await scramPeer(t, () => `r=someone-elses-nonce,s=${salt},i=4096`, "v=AAAA");
    await assert.rejects(authenticateWith(t, peer), assertRefused(/nonce does not extend the client's/));
  });

  test("a server-first error message is reported in words", async (t) => {
    const peer = await scramPeer(t, () => "e=unknown-user", "v=AAAA");
    await assert.rejects(authenticateWith(t, peer), assertRefused(/the server refused the exchange: unknown-user/));
  });
});
