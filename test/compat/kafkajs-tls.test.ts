// kafkajs over TLS to the embedded broker, with a certificate made for the test by openssl.

import assert from "node:assert/strict";
import { test } from "node:test";
import { brokerForTest, kafkaFor } from "../helpers/broker.js";
import { selfSignedCertificate } from "../helpers/environment.js";

test("kafkajs produces and consumes over TLS", async (t) => {
  const pair = selfSignedCertificate(t);
  if (pair === null) return;
  const { cert } = pair;
  const broker = await brokerForTest(t, { tls: pair });
  const kafka = kafkaFor(broker, { ssl: { ca: [cert] } });
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic: "secure", messages: [{ key: "k", value: "over tls" }] });
  const admin = kafka.admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets("secure");
  assert.equal(offsets[0]!.high, "1");

  const plain = kafkaFor(broker, { retry: { retries: 0 }, connectionTimeout: 1000 });
  const plainAdmin = plain.admin();
  await assert.rejects(plainAdmin.connect(), "a plaintext client cannot talk to the TLS listener");
});
