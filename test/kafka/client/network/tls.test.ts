// TLS from Sluice's client to the embedded broker, with a certificate made for the test by openssl: a trusted
// certificate works; an untrusted one, and plaintext to a TLS listener, fail cleanly.

import assert from "node:assert/strict";
import { test } from "node:test";
import { KafkaClientError, KafkaConnectionError } from "../../../../src/kafka/client/index.js";
import { brokerForTest } from "../../../helpers/broker.js";
import { selfSignedCertificate } from "../../../helpers/environment.js";
import { clientFor } from "../support.js";

test("TLS with a trusted certificate: admin, produce and fetch work", async (t) => {
  const pair = selfSignedCertificate(t);
  if (pair === null) return;
  const broker = await brokerForTest(t, { tls: pair });
  const client = clientFor(t, broker, { tls: { ca: [pair.cert] } });
  await client.admin.createTopics([{ name: "secure", partitions: 1 }]);
  const { baseOffset } = await client.produce({
    topic: "secure",
    partition: 0,
    records: [{ key: "k", value: "over tls" }],
  });
  assert.equal(baseOffset, 0);
  const [fetched] = await client.fetch([{ topic: "secure", partition: 0, offset: 0 }], { maxWaitMs: 10 });
  assert.equal(fetched!.records[0]!.value!.toString(), "over tls");
});

test("an untrusted certificate and a plaintext client are refused cleanly", async (t) => {
  const pair = selfSignedCertificate(t);
  if (pair === null) return;
  const broker = await brokerForTest(t, { tls: pair });

  const untrusted = clientFor(t, broker, { tls: true, retriesMax: 0 });
  await assert.rejects(untrusted.admin.listTopics(), (error: unknown) => {
    assert.ok(error instanceof KafkaConnectionError);
    assert.equal(error.code, "SLUICE_KAFKA_CONNECTION_FAILED");
    assert.match(error.message, /self-signed certificate.*its certificate is trusted/);
    return true;
  });

  const plaintext = clientFor(t, broker, { retriesMax: 0, requestTimeoutMs: 2_000 });
  await assert.rejects(plaintext.admin.listTopics(), (error: unknown) => {
    assert.ok(error instanceof KafkaClientError, `got ${String(error)}`);
    // The TLS listener hangs up on a plaintext request (or answers with a TLS alert, which is not a Kafka frame).
    assert.ok(
      ["SLUICE_KAFKA_CONNECTION_FAILED", "SLUICE_KAFKA_PROTOCOL_VIOLATION"].includes(error.code),
      `${error.code}: ${error.message}`,
    );
    assert.match(error.message, /turn TLS on/);
    return true;
  });
});
