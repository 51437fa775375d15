// The AMQP transport never waits for RabbitMQ without a limit: a server that accepts connections and says nothing
// fails connect within connectTimeoutMs, a channel operation RabbitMQ does not answer fails within
// channelOperationTimeoutMs and drops the connection, and a consumer whose reconnection attempts time out keeps trying
// with backoff until RabbitMQ answers again. Without the limits each of these waited forever.

import assert from "node:assert/strict";
import { createServer, type Socket } from "node:net";
import { test } from "node:test";

import { createAmqpClient } from "../../../src/toolkit/amqp/index.js";
import { ToolkitError, ToolkitErrorCode } from "../../../src/toolkit/errors.js";
import type { PartitionBatch } from "../../../src/toolkit/kafka/consumer.js";
import {
  amqpClientForTest,
  requireRabbitmq,
  uniqueAmqpName,
  proxiedAmqpClientForTest,
} from "../../helpers/rabbitmq.js";
import { waitFor } from "../../store/harness.js";

/** Far above the limits the tests set, so that a wait without a limit fails the test instead of passing it. */
const TEST_TIMEOUT_MS = 60_000;
const SHORT_LIMIT_MS = 400;

function timedOut(limit: string): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof ToolkitError, `a ToolkitError, not ${String(error)}`);
    assert.equal(error.code, ToolkitErrorCode.AMQP_TIMED_OUT);
    assert.match(error.message, new RegExp(`within ${SHORT_LIMIT_MS} ms \\(${limit}\\)`));
    return true;
  };
}

/** Starts consumer on topic, collecting each record's value into seen and committing after each batch. */
function consumeInto(
  consumer: ReturnType<ReturnType<typeof amqpClientForTest>["consumer"]>,
  topic: string,
  seen: string[],
) {
  return consumer.start({
    topics: [topic],
    concurrency: 1,
    fromBeginning: true,
    async eachBatch(batch: PartitionBatch) {
      for (const record of batch.records) seen.push(record.value?.toString() ?? "");
      const last = batch.records.at(-1);
      if (last !== undefined) await batch.commit(String(Number(last.offset) + 1));
    },
  });
}

test(
  "connecting to a server that accepts and never answers fails within connectTimeoutMs",
  { timeout: TEST_TIMEOUT_MS },
  async (t) => {
    const sockets = new Set<Socket>();
    const closed: Array<Promise<void>> = [];
    const blackHole = createServer((socket) => {
      sockets.add(socket);
      closed.push(new Promise((resolve) => socket.once("close", () => resolve())));
      socket.on("error", () => undefined);
      // Read (and ignore) what the client sends, so that its hanging up ends the socket here.
      socket.resume();
    });
    await new Promise<void>((resolve) => blackHole.listen(0, "127.0.0.1", resolve));
    t.after(async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => blackHole.close(() => resolve()));
    });
    const { port } = blackHole.address() as { port: number };
    const client = createAmqpClient({
      url: `amqp://guest:guest@127.0.0.1:${port}`,
      env: {},
      connectTimeoutMs: SHORT_LIMIT_MS,
    });
    t.after(() => client.close());

    await assert.rejects(client.producer().connect(), timedOut("connectTimeoutMs"));
    // The client hung up: the silent connection is not left open.
    assert.equal(sockets.size, 1);
    await Promise.all(closed);
  },
);

test(
  "a channel operation RabbitMQ does not answer fails within channelOperationTimeoutMs and the connection is made again",
  { timeout: TEST_TIMEOUT_MS },
  async (t) => {
    if (!(await requireRabbitmq(t))) return;
    // Heartbeats off: the operation's own limit, not a missed heartbeat, must end the wait.
    const { proxy, client } = await proxiedAmqpClientForTest(t, {
      heartbeatS: 0,
      channelOperationTimeoutMs: SHORT_LIMIT_MS,
    });
    const topic = uniqueAmqpName("timeouts");
    const admin = client.admin();
    t.after(() => admin.disconnect());
    await client.producer().connect();

    proxy.stall();
    await assert.rejects(admin.ensureTopics([{ name: topic, partitions: 1 }]), timedOut("channelOperationTimeoutMs"));
    proxy.unstall();
    // The stuck connection was dropped; the next operation connects again and succeeds.
    await admin.ensureTopics([{ name: topic, partitions: 1 }]);
    assert.equal(await admin.partitionCount(topic), 1);
  },
);

test(
  "a consumer whose reconnections time out keeps trying with backoff and consumes again once RabbitMQ answers",
  { timeout: TEST_TIMEOUT_MS },
  async (t) => {
    if (!(await requireRabbitmq(t))) return;
    // A heartbeat of 1 s notices the stall on the open connection; every new one then meets a silent server.
    const { proxy, client } = await proxiedAmqpClientForTest(t, {
      heartbeatS: 1,
      connectTimeoutMs: SHORT_LIMIT_MS,
      channelOperationTimeoutMs: SHORT_LIMIT_MS,
    });
    // The producer goes straight to RabbitMQ, so that only the consumer's path stalls.
    const direct = amqpClientForTest(t);
    const topic = uniqueAmqpName("timeouts");
    const consumer = client.consumer({ groupId: uniqueAmqpName("timeouts-group") });
    t.after(() => consumer.stop());
    let joins = 0;
    consumer.onJoin(() => (joins += 1));
    const crashes: Error[] = [];
    consumer.onCrash((error) => crashes.push(error));
    const seen: string[] = [];
    await consumeInto(consumer, topic, seen);
    assert.equal(joins, 1);
    const producer = direct.producer();
    t.after(() => producer.disconnect());
    await producer.send([{ topic, key: null, value: Buffer.from("before"), headers: {} }]);
    await waitFor("the first message", () => seen.includes("before"), 20_000);

    proxy.stall();
    // Published while the consumer cannot reach RabbitMQ: it waits in the group's queue.
    await producer.send([{ topic, key: null, value: Buffer.from("during"), headers: {} }]);
    // Long enough for the heartbeat to end the stalled connection and for several attempts to time out.
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    assert.ok(!seen.includes("during"));
    proxy.unstall();
    await waitFor("the message sent during the stall", () => seen.includes("during"), 30_000);
    assert.equal(joins, 2, "the consumer subscribed again once");
    assert.deepEqual(crashes, [], "it never gave up");
  },
);

test(
  "a consumer whose first subscription times out starts anyway, subscribes with backoff and joins once RabbitMQ answers",
  { timeout: TEST_TIMEOUT_MS },
  async (t) => {
    if (!(await requireRabbitmq(t))) return;
    const { proxy, client } = await proxiedAmqpClientForTest(t, {
      heartbeatS: 0,
      connectTimeoutMs: SHORT_LIMIT_MS,
      channelOperationTimeoutMs: SHORT_LIMIT_MS,
    });
    const direct = amqpClientForTest(t);
    const topic = uniqueAmqpName("timeouts");
    // The connection is open; then RabbitMQ stops answering, as a quorum queue without a leader yet does.
    await client.producer().connect();
    proxy.stall();
    const consumer = client.consumer({ groupId: uniqueAmqpName("timeouts-group") });
    t.after(() => consumer.stop());
    let joins = 0;
    consumer.onJoin(() => (joins += 1));
    const seen: string[] = [];
    await consumeInto(consumer, topic, seen);
    assert.equal(joins, 0, "not joined while RabbitMQ does not answer");
    proxy.unstall();
    await waitFor("the group joined", () => joins === 1, 20_000);
    const producer = direct.producer();
    t.after(() => producer.disconnect());
    await producer.send([{ topic, key: null, value: Buffer.from("after"), headers: {} }]);
    await waitFor("the message", () => seen.includes("after"), 20_000);
  },
);
