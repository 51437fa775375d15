// kafkajs, unmodified, authenticating to the embedded broker with each SASL mechanism it supports, then producing
// and consuming; and being refused with a wrong password or an unknown user.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { SASLOptions } from "kafkajs";
import type { SaslMechanism } from "../../src/broker/config.js";
import { brokerForTest, eventually, kafkaFor } from "../helpers/broker.js";

const USERS = { alice: "alice-secret", "bob,the=builder": "bøb's pässword" };
const MECHANISMS: ReadonlyArray<[SaslMechanism, SASLOptions["mechanism"]]> = [
  ["PLAIN", "plain"],
  ["SCRAM-SHA-256", "scram-sha-256"],
  ["SCRAM-SHA-512", "scram-sha-512"],
];

function saslOptions(mechanism: SASLOptions["mechanism"], username: string, password: string): SASLOptions {
  return { mechanism, username, password } as SASLOptions;
}

describe("kafkajs with SASL", () => {
  for (const [mechanism, kafkajsMechanism] of MECHANISMS) {
    test(`${mechanism}: produce and consume as an authenticated user`, async (t) => {
      const broker = await brokerForTest(t, { sasl: { mechanisms: [mechanism], users: USERS } });
      for (const [username, password] of Object.entries(USERS)) {
        const kafka = kafkaFor(broker, { sasl: saslOptions(kafkajsMechanism, username, password) });
        const topic = `sasl-${mechanism.toLowerCase()}-${username.replace(/[^a-z]/g, "")}`;
        const producer = kafka.producer();
        await producer.connect();
        await producer.send({
          topic,
          messages: Array.from({ length: 5 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })),
        });
        await producer.disconnect();

        const consumer = kafka.consumer({ groupId: `${topic}-readers`, maxWaitTimeInMs: 100 });
        const values: string[] = [];
        await consumer.connect();
        await consumer.subscribe({ topic, fromBeginning: true });
        await consumer.run({
          eachMessage: async ({ message }) => {
            values.push(message.value?.toString() ?? "");
          },
        });
        const done = await eventually(() => values.length >= 5, 15_000);
        await consumer.disconnect();
        assert.ok(done, `expected 5 messages, got ${values.length}`);
        assert.deepEqual(values, ["v0", "v1", "v2", "v3", "v4"]);
      }
    });

    test(`${mechanism}: a wrong password and an unknown user are refused`, async (t) => {
      const broker = await brokerForTest(t, { sasl: { mechanisms: [mechanism], users: USERS } });
      for (const [username, password] of [
        ["alice", "not-alice-secret"],
        ["mallory", "alice-secret"],
      ] as const) {
        const kafka = kafkaFor(broker, {
          sasl: saslOptions(kafkajsMechanism, username, password),
          retry: { retries: 0 },
        });
        const producer = kafka.producer();
        await assert.rejects(producer.connect(), (error: unknown) => {
          // kafkajs is CommonJS and its error classes are not visible as named ESM exports, so check the name.
          assert.ok(error instanceof Error && error.name === "KafkaJSSASLAuthenticationError", `got ${String(error)}`);
          assert.match(error.message, /invalid username or password/);
          return true;
        });
        await producer.disconnect();
      }
    });
  }

  test("a mechanism the broker does not enable is refused", async (t) => {
    const broker = await brokerForTest(t, { sasl: { mechanisms: ["SCRAM-SHA-512"], users: USERS } });
    const kafka = kafkaFor(broker, { sasl: saslOptions("plain", "alice", "alice-secret"), retry: { retries: 0 } });
    const producer = kafka.producer();
    await assert.rejects(producer.connect(), /does not support the requested SASL mechanism/);
    await producer.disconnect();
  });

  test("a client without SASL cannot use a broker that requires it", async (t) => {
    const broker = await brokerForTest(t, { sasl: { mechanisms: ["PLAIN"], users: USERS } });
    const kafka = kafkaFor(broker, { retry: { retries: 0 }, connectionTimeout: 1000, requestTimeout: 2000 });
    const producer = kafka.producer();
    // The broker answers ApiVersions but closes the connection at the first Metadata request.
    await assert.rejects(async () => {
      await producer.connect();
      await producer.send({ topic: "never-written", messages: [{ value: "x" }] });
    }, /Closed connection/);
    await producer.disconnect();
  });
});
