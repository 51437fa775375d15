// @platformatic/kafka, unmodified, using transactions against the embedded broker: a transactional producer commits
// and aborts, a read_committed consumer sees only what was committed, and the transactions admin APIs
// (DescribeTransactions, ListTransactions, DescribeProducers, through the client's own request modules) describe a
// transaction while it is open and after it commits.

import assert from "node:assert/strict";
import { test } from "node:test";
import {
  Admin,
  Connection,
  Consumer,
  describeProducersV0,
  describeTransactionsV0,
  listTransactionsV1,
  Producer,
  stringDeserializers,
  stringSerializers,
  type Message,
} from "@platformatic/kafka";
import type { RunningBroker } from "../../src/broker/index.js";
import { brokerForTest, eventually } from "../helpers/broker.js";

const DELIVERY_TIMEOUT_MS = 10_000;
const READ_COMMITTED = 1;

interface Closable {
  close(): Promise<void>;
}

function clientOptions(broker: RunningBroker, clientId: string) {
  return { clientId, bootstrapBrokers: [broker.address], retries: 3, retryDelay: 50, timeout: 5000 };
}

test("a transactional producer's aborts stay hidden from read_committed and the admin APIs describe its transaction", async (t) => {
  const broker = await brokerForTest(t);
  const clients: Closable[] = [];
  const connection = new Connection("platformatic-admin-raw");
  try {
    const admin = new Admin(clientOptions(broker, "platformatic-admin"));
    clients.push(admin);
    await admin.createTopics({ topics: ["invoices"], partitions: 1, replicas: 1 });
    const producer = new Producer({
      ...clientOptions(broker, "invoicer"),
      idempotent: true,
      transactionalId: "invoicer-tx",
      serializers: stringSerializers,
    });
    clients.push(producer);
    const inTransaction = async (values: string[]) => {
      const transaction = await producer.beginTransaction();
      await transaction.send({ messages: values.map((value) => ({ topic: "invoices", value })) });
      return transaction;
    };
    await (await inTransaction(["invoice-1", "invoice-2"])).commit();
    await (await inTransaction(["draft-1", "draft-2", "draft-3"])).abort();

    await connection.connect(broker.host, broker.port);
    const open = await inTransaction(["invoice-3"]);
    const [described] = (await describeTransactionsV0.api.async(connection, ["invoicer-tx"])).transactionStates;
    assert.equal(described?.transactionState, "Ongoing");
    assert.deepEqual(described?.topics, [{ topic: "invoices", partitions: [0] }]);
    assert.equal(described?.producerId, producer.producerId);
    // Kafka's state names ("Ongoing") go on the wire; the client's type lists constants of its own.
    const ongoing = ["Ongoing"] as unknown as Parameters<typeof listTransactionsV1.createRequest>[0];
    const listed = await listTransactionsV1.api.async(connection, ongoing, [], -1n, null);
    assert.deepEqual(
      listed.transactionStates.map((state) => [state.transactionalId, state.transactionState]),
      [["invoicer-tx", "Ongoing"]],
    );
    const producers = await describeProducersV0.api.async(connection, [{ name: "invoices", partitionIndexes: [0] }]);
    const active = producers.topics[0]!.partitions[0]!.activeProducers;
    assert.deepEqual(
      active.map((p) => [p.producerId, p.currentTxnStartOffset]),
      [[producer.producerId, 7n]],
      "the open transaction started after two committed records, a marker, three aborted records and a marker",
    );
    await open.commit();
    const [completed] = (await describeTransactionsV0.api.async(connection, ["invoicer-tx"])).transactionStates;
    assert.equal(completed?.transactionState, "CompleteCommit");
    const none = await describeProducersV0.api.async(connection, [{ name: "invoices", partitionIndexes: [0] }]);
    assert.equal(none.topics[0]!.partitions[0]!.activeProducers[0]!.currentTxnStartOffset, -1n);

    const consumer = new Consumer({
      ...clientOptions(broker, "invoice-reader"),
      groupId: "invoice-readers",
      deserializers: stringDeserializers,
      isolationLevel: READ_COMMITTED,
      maxWaitTime: 200,
    });
    clients.push(consumer);
    const stream = await consumer.consume({ topics: ["invoices"], mode: "earliest", autocommit: false });
    clients.push(stream);
    const values: string[] = [];
    stream.on("data", (message: Message<string, string, string, string>) => values.push(message.value));
    assert.ok(await eventually(() => values.length >= 3, DELIVERY_TIMEOUT_MS), `got ${values.length} of 3`);
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.deepEqual(values, ["invoice-1", "invoice-2", "invoice-3"]);
  } finally {
    await connection.close().catch(() => undefined);
    for (const client of clients.reverse()) await client.close().catch(() => undefined);
  }
});
