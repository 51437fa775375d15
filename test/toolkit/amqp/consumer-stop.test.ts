// A stopped AMQP consumer leaves no consumer behind on RabbitMQ, even when it stops while subscribing again after a
// lost connection. A subscription that finished after the stop had closed the channels used to stay open on the shared
// connection: RabbitMQ kept handing it up to a prefetch of the group's messages, which nothing would ever handle or
// acknowledge while the client lived.

import assert from "node:assert/strict";
import { test } from "node:test";

import type { PartitionBatch } from "../../../src/toolkit/kafka/consumer.js";
import { requireRabbitmq, uniqueAmqpName, queueCounts, proxiedAmqpClientForTest } from "../../helpers/rabbitmq.js";
import { waitFor } from "../../store/harness.js";

const TEST_TIMEOUT_MS = 60_000;

test(
  "a consumer stopped while it subscribes again after a lost connection leaves no consumer on the queue",
  { timeout: TEST_TIMEOUT_MS },
  async (t) => {
    if (!(await requireRabbitmq(t))) return;
    const { proxy, client } = await proxiedAmqpClientForTest(t);
    const topic = uniqueAmqpName("stop");
    const groupId = uniqueAmqpName("stop-group");
    const consumer = client.consumer({ groupId });
    let joins = 0;
    consumer.onJoin(() => (joins += 1));
    await consumer.start({
      topics: [topic],
      concurrency: 1,
      fromBeginning: true,
      async eachBatch(batch: PartitionBatch) {
        const last = batch.records.at(-1);
        if (last !== undefined) await batch.commit(String(Number(last.offset) + 1));
      },
    });
    assert.equal(joins, 1);
    const queue = client.topology.groupQueue(topic, groupId);
    assert.equal((await queueCounts(queue)).consumerCount, 1);

    // The connection drops; the consumer's next connection is accepted but held, so that it is still subscribing
    // when the stop begins.
    const accepted = proxy.accepted;
    proxy.hold();
    proxy.cut();
    proxy.restore();
    await waitFor("the consumer's new connection", () => proxy.accepted > accepted, 20_000);
    const stopped = consumer.stop();
    proxy.release();
    await stopped;

    assert.equal((await queueCounts(queue)).consumerCount, 0, "no consumer is left on the group's queue");
  },
);
