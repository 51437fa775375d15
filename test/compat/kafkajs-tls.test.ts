// kafkajs over TLS to the embedded broker, with a certificate made for the test by openssl.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { brokerForTest, kafkaFor } from "../helpers/broker.js";
import { hasCommand, requireTool, temporaryDir } from "../helpers/environment.js";

test("kafkajs produces and consumes over TLS", async (t) => {
  if (!requireTool(t, hasCommand("openssl"), "openssl (to make a test certificate)")) return;
  const dir = temporaryDir(t);
  const made = spawnSync("openssl", [
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-days",
    "1",
    "-subj",
    "/CN=localhost",
    "-addext",
    "subjectAltName=IP:127.0.0.1,DNS:localhost",
    "-keyout",
    join(dir, "key.pem"),
    "-out",
    join(dir, "cert.pem"),
  ]);
  assert.equal(made.status, 0, made.stderr.toString());
  const cert = readFileSync(join(dir, "cert.pem"));
  const broker = await brokerForTest(t, { tls: { cert, key: readFileSync(join(dir, "key.pem")) } });
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
