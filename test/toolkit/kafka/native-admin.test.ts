// The toolkit's admin on Sluice's client, side by side with the kafkajs one: the same answers for the same calls.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { PublishError, UnknownTopicError } from "../../../src/toolkit/errors.js";
import { createKafkaClient, KAFKA_CLIENT_LIBRARIES } from "../../../src/toolkit/kafka/connection.js";
import { brokerForTest, kafkaFor } from "../../helpers/broker.js";

const QUICK = { retry: { retries: 1, initialRetryTimeMs: 20, maxRetryTimeMs: 50 }, connectionTimeoutMs: 500 };

describe("toolkit admin", () => {
  for (const library of KAFKA_CLIENT_LIBRARIES) {
    test(`${library}: ensures topics, counts partitions, reads topic and group offsets`, async (t) => {
      const broker = await brokerForTest(t);
      const client = createKafkaClient({ brokers: [broker.address], library, env: {}, ...QUICK });
      const admin = client.admin();
      t.after(() => admin.disconnect());
      assert.equal(client.library, library);
      const first = await admin.ensureTopics([
        { name: "orders", partitions: 3, configs: { "retention.ms": "3600000" } },
        { name: "audit", partitions: 1 },
      ]);
      assert.deepEqual(first, { created: ["orders", "audit"], mismatched: [] });
      const again = await admin.ensureTopics([{ name: "orders", partitions: 5 }]);
      assert.deepEqual(again, { created: [], mismatched: [{ name: "orders", partitions: 3, expected: 5 }] });
      assert.deepEqual((await admin.listTopics()).sort(), ["audit", "orders"]);
      assert.equal(await admin.partitionCount("orders"), 3);
      assert.equal(await admin.partitionCount("missing"), null);

      const producer = kafkaFor(broker).producer();
      await producer.connect();
      await producer.send({
        topic: "orders",
        messages: [
          { value: "a", partition: 1 },
          { value: "b", partition: 1 },
        ],
      });
      assert.deepEqual(await admin.topicOffsets("orders"), [
        { partition: 0, low: "0", high: "0" },
        { partition: 1, low: "0", high: "2" },
        { partition: 2, low: "0", high: "0" },
      ]);
      await assert.rejects(admin.topicOffsets("missing"), UnknownTopicError);

      const kafkajsAdmin = kafkaFor(broker).admin();
      await kafkajsAdmin.connect();
      await kafkajsAdmin.setOffsets({
        groupId: "readers",
        topic: "orders",
        partitions: [{ partition: 1, offset: "2" }],
      });
      assert.deepEqual(await admin.groupOffsets("readers", "orders"), [
        { partition: 0, offset: "-1" },
        { partition: 1, offset: "2" },
        { partition: 2, offset: "-1" },
      ]);
    });

    test(`${library}: no broker is a PublishError naming the brokers`, async () => {
      const client = createKafkaClient({ brokers: ["127.0.0.1:1"], library, env: {}, ...QUICK });
      const admin = client.admin();
      try {
        await assert.rejects(admin.listTopics(), (error: unknown) => {
          assert.ok(error instanceof PublishError, String(error));
          assert.match(error.message, /127\.0\.0\.1:1/);
          return true;
        });
      } finally {
        await admin.disconnect();
      }
    });
  }
});
