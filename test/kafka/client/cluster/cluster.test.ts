// The cluster layer: bootstrap past a dead address, bounded retries of retriable errors, no retry of the others,
// connections by lane, and a closed client that fails what is pending and refuses what comes after.

import assert from "node:assert/strict";
import net from "node:net";
import { describe, test } from "node:test";
import { KafkaBrokerError, KafkaClientClosedError, SluiceKafkaClient } from "../../../../src/kafka/client/index.js";
import { ErrorCode } from "../../../../src/kafka/protocol/error-codes.js";
import { brokerForTest } from "../../../helpers/broker.js";
import { clientFor, TEST_RETRY_OPTIONS } from "../support.js";

async function deadAddress(): Promise<string> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return `127.0.0.1:${port}`;
}

describe("KafkaCluster", () => {
  test("closing one lane closes its connections and leaves the others open", async (t) => {
    const broker = await brokerForTest(t);
    const client = clientFor(t, broker);
    const address = { host: "127.0.0.1", port: broker.port };
    const own = await client.cluster.connection(address, "fetch:7");
    const shared = await client.cluster.connection(address, "admin");
    let closed = false;
    own.onClose(() => (closed = true));
    await client.cluster.closeLane("fetch:7");
    assert.ok(closed, "the lane's connection closed");
    assert.equal(await client.cluster.connection(address, "admin"), shared, "the admin lane kept its connection");
    assert.notEqual(await client.cluster.connection(address, "fetch:7"), own, "the lane opens a new one when used");
  });

  test("bootstrap moves on past an address nobody listens on", async (t) => {
    const broker = await brokerForTest(t);
    const client = new SluiceKafkaClient({
      bootstrapBrokers: [await deadAddress(), broker.address],
      ...TEST_RETRY_OPTIONS,
    });
    t.after(() => client.close());
    const { clusterId, brokers } = await client.admin.describeCluster();
    assert.equal(clusterId, "sluice-cluster");
    assert.equal(brokers.length, 1);
  });

  test("a retriable error is tried retriesMax more times, then thrown; a fatal one at once", async (t) => {
    const broker = await brokerForTest(t);
    const client = clientFor(t, broker, { retriesMax: 3 });
    await client.admin.createTopics([{ name: "flaky", partitions: 1 }]);
    let attempts = 0;
    broker.injectFault({ apiKey: 0, action: { kind: "delay", delayMs: 0 }, match: () => (attempts++, false) });
    const removeRetriable = broker.injectFault({
      apiKey: 0,
      action: { kind: "error", errorCode: ErrorCode.NOT_ENOUGH_REPLICAS },
    });
    await assert.rejects(
      client.produce({ topic: "flaky", partition: 0, records: [{ value: "x" }] }),
      (error: unknown) => {
        assert.ok(error instanceof KafkaBrokerError);
        assert.equal(error.errorName, "NOT_ENOUGH_REPLICAS");
        assert.equal(error.retriable, true);
        return true;
      },
    );
    assert.equal(attempts, 4);
    removeRetriable();

    attempts = 0;
    broker.injectFault({ apiKey: 0, action: { kind: "error", errorCode: ErrorCode.INVALID_REQUIRED_ACKS }, times: 1 });
    await assert.rejects(
      client.produce({ topic: "flaky", partition: 0, records: [{ value: "x" }] }),
      /INVALID_REQUIRED_ACKS/,
    );
    assert.equal(attempts, 1);
  });

  test("a long-polling fetch does not hold up a produce: they travel on different connections", async (t) => {
    const broker = await brokerForTest(t);
    const client = clientFor(t, broker);
    await client.admin.createTopics([{ name: "lanes", partitions: 2 }]);
    const waiting = client.fetch([{ topic: "lanes", partition: 1, offset: 0 }], { maxWaitMs: 5_000 });
    const produced = await client.produce({ topic: "lanes", partition: 0, records: [{ value: "not held up" }] });
    assert.equal(produced.baseOffset, 0);
    await client.produce({ topic: "lanes", partition: 1, records: [{ value: "wakes the fetch" }] });
    assert.equal((await waiting)[0]!.records.length, 1);
  });

  test("closing fails pending requests and refuses new ones", async (t) => {
    const broker = await brokerForTest(t);
    const client = clientFor(t, broker);
    await client.admin.createTopics([{ name: "closing", partitions: 1 }]);
    const pending = client.fetch([{ topic: "closing", partition: 0, offset: 0 }], { maxWaitMs: 10_000 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    await client.close();
    await assert.rejects(pending, KafkaClientClosedError);
    await assert.rejects(client.admin.listTopics(), (error: unknown) => {
      assert.ok(error instanceof KafkaClientClosedError);
      assert.equal(error.code, "SLUICE_KAFKA_CLIENT_CLOSED");
      return true;
    });
  });

  test("options are checked when the client is made, naming the bad one", () => {
    assert.throws(() => new SluiceKafkaClient({ bootstrapBrokers: [] }), /bootstrapBrokers: give 1 to 100 brokers/);
    assert.throws(() => new SluiceKafkaClient({ bootstrapBrokers: ["nohost"] }), /"nohost" is not host:port/);
    assert.throws(
      () => new SluiceKafkaClient({ bootstrapBrokers: ["[::1]:9092"], requestTimeoutMs: 0 }),
      /requestTimeoutMs: must be an integer from 1/,
    );
    assert.throws(
      () =>
        new SluiceKafkaClient({
          bootstrapBrokers: ["a:1"],
          sasl: { mechanism: "GSSAPI" as "PLAIN", username: "u", password: "p" },
        }),
      /sasl.mechanism: must be one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512/,
    );
  });
});
