// @platformatic/kafka, unmodified, against the embedded broker. It speaks only flexible versions of the metadata,
// group, offset and fetch APIs (compact strings and arrays, tagged fields, request header v2), so these tests cover
// the broker's flexible encodings with a real client: admin, keyed and compressed produce, consumer groups,
// committed offsets, a rebalance, and idempotent producers.

import assert from "node:assert/strict";
import type { EventEmitter } from "node:events";
import { test } from "node:test";
import {
  Admin,
  compressionsAlgorithms,
  ConfigResourceTypes,
  Consumer,
  MultipleErrors,
  Producer,
  stringDeserializers,
  stringSerializers,
  type CompressionAlgorithmValue,
  type Message,
} from "@platformatic/kafka";
import type { RunningBroker } from "../../src/broker/index.js";
import { ErrorCode } from "../../src/kafka/protocol/error-codes.js";
import { brokerForTest, eventually } from "../helpers/broker.js";

type StringMessage = Message<string, string, string, string>;

interface Closable {
  close(): Promise<void>;
}

const REQUEST_TIMEOUT_MS = 5000;
const SESSION_TIMEOUT_MS = 6000;
const HEARTBEAT_INTERVAL_MS = 200;
const FETCH_MAX_WAIT_MS = 200;
const AUTOCOMMIT_INTERVAL_MS = 50;
const DELIVERY_TIMEOUT_MS = 10_000;

function clientOptions(broker: RunningBroker, clientId: string) {
  return {
    clientId,
    bootstrapBrokers: [broker.address],
    retries: 3,
    retryDelay: 50,
    timeout: REQUEST_TIMEOUT_MS,
  };
}

function newConsumer(
  broker: RunningBroker,
  clientId: string,
  groupId: string,
): Consumer<string, string, string, string> {
  return new Consumer({
    ...clientOptions(broker, clientId),
    groupId,
    deserializers: stringDeserializers,
    sessionTimeout: SESSION_TIMEOUT_MS,
    rebalanceTimeout: SESSION_TIMEOUT_MS,
    heartbeatInterval: HEARTBEAT_INTERVAL_MS,
    maxWaitTime: FETCH_MAX_WAIT_MS,
  });
}

/** Closes clients newest first, so that streams close before their consumers, and every one is tried. */
async function closeAll(clients: Closable[]): Promise<void> {
  for (const client of clients.reverse()) await client.close().catch(() => undefined);
}

/** The end offset of each partition of `topic`, as ListOffsets reports it. */
async function endOffsets(admin: Admin, topic: string, partitions: number): Promise<number[]> {
  const [listed] = await admin.listOffsets({
    topics: [
      { name: topic, partitions: range(partitions).map((partitionIndex) => ({ partitionIndex, timestamp: -1n })) },
    ],
  });
  assert.ok(listed !== undefined, `ListOffsets answered for ${topic}`);
  return [...listed.partitions].sort((a, b) => a.partitionIndex - b.partitionIndex).map((p) => Number(p.offset));
}

/** The committed offset of each partition of `topic` for `groupId`, -1 where nothing is committed. */
async function committedOffsets(admin: Admin, groupId: string, topic: string, partitions: number): Promise<number[]> {
  const [group] = await admin.listConsumerGroupOffsets({ groups: [groupId] });
  const committed = group?.topics.find((t) => t.name === topic)?.partitions ?? [];
  return range(partitions).map((index) => {
    const partition = committed.find((p) => p.partitionIndex === index);
    return partition === undefined ? -1 : Number(partition.committedOffset);
  });
}

/** Resolves once `stream` has completed `count` more fetches; rejects if that takes longer than the delivery timeout. */
function fetchesCompleted(stream: EventEmitter, count: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let remaining = count;
    const timer = setTimeout(() => {
      stream.off("fetch", onFetch);
      reject(new Error(`the stream completed ${count - remaining} of ${count} fetches`));
    }, DELIVERY_TIMEOUT_MS);
    const onFetch = () => {
      remaining -= 1;
      if (remaining > 0) return;
      clearTimeout(timer);
      stream.off("fetch", onFetch);
      resolve();
    };
    stream.on("fetch", onFetch);
  });
}

function range(length: number): number[] {
  return Array.from({ length }, (_, i) => i);
}

/** Asserts that no (partition, offset) arrived twice and that each key's rounds arrived in order on one partition. */
function assertOncePerOffsetAndKeyOrder(received: StringMessage[], keys: string[], rounds: number): void {
  const positions = received.map((message) => `${message.partition}:${message.offset}`);
  assert.equal(new Set(positions).size, positions.length, "no message was delivered twice");
  const roundsByKey = new Map<string, number[]>();
  const partitionOfKey = new Map<string, number>();
  for (const message of received) {
    const [key, round] = message.value.split(":");
    assert.equal(message.key, key, "the key travelled with its value");
    roundsByKey.set(key!, [...(roundsByKey.get(key!) ?? []), Number(round)]);
    const partition = partitionOfKey.get(key!) ?? message.partition;
    assert.equal(message.partition, partition, `${key} stayed on one partition`);
    partitionOfKey.set(key!, partition);
  }
  for (const key of keys) assert.deepEqual(roundsByKey.get(key), range(rounds), `${key}: every round once, in order`);
}

// The codecs the client can write on this Node.js: zstd needs the zlib zstd bindings of newer Node releases.
const CODECS: CompressionAlgorithmValue[] = (["none", "gzip", "snappy", "lz4", "zstd"] as const).filter(
  (codec) => compressionsAlgorithms[codec].available,
);

test("admin creates, lists, describes and deletes a topic", async (t) => {
  const broker = await brokerForTest(t);
  const admin = new Admin(clientOptions(broker, "platformatic-admin"));
  try {
    const [created] = await admin.createTopics({ topics: ["inventory"], partitions: 3, replicas: 1 });
    assert.equal(created?.name, "inventory");
    assert.equal(created?.partitions, 3);
    assert.match(created?.id ?? "", /^[0-9a-f]{8}-[0-9a-f]{4}-/, "CreateTopics v7 answers the topic id");
    await assert.rejects(
      admin.createTopics({ topics: ["inventory"], partitions: 3, replicas: 1 }),
      (error: Error) =>
        MultipleErrors.isMultipleErrors(error) && error.findBy("apiCode", ErrorCode.TOPIC_ALREADY_EXISTS) !== null,
    );

    assert.deepEqual(await admin.listTopics(), ["inventory"]);
    const metadata = await admin.metadata({ topics: ["inventory"], forceUpdate: true });
    const topic = metadata.topics.get("inventory");
    assert.equal(topic?.partitionsCount, 3);
    const nodeId = broker.broker.config.nodeId;
    assert.ok(
      topic?.partitions.every((partition) => partition.leader === nodeId),
      "this broker leads every partition",
    );
    assert.deepEqual(
      [...metadata.brokers.values()].map((b) => [b.host, b.port]),
      [[broker.host, broker.port]],
    );

    const [described] = await admin.describeConfigs({
      resources: [
        { resourceType: ConfigResourceTypes.TOPIC, resourceName: "inventory", configurationKeys: ["cleanup.policy"] },
      ],
    });
    assert.deepEqual(
      described?.configs.map((config) => [config.name, config.value]),
      [["cleanup.policy", "delete"]],
    );

    await admin.deleteTopics({ topics: ["inventory"] });
    assert.deepEqual(await admin.listTopics(), []);
    assert.equal(broker.broker.topics.get("inventory"), undefined, "the broker forgot the topic");
  } finally {
    await closeAll([admin]);
  }
});

test("keyed, compressed messages come back to a group once each, in key order, and the group commits", async (t) => {
  const broker = await brokerForTest(t);
  const clients: Closable[] = [];
  try {
    const admin = new Admin(clientOptions(broker, "platformatic-admin"));
    clients.push(admin);
    await admin.createTopics({ topics: ["orders"], partitions: 3, replicas: 1 });

    const producer = new Producer({ ...clientOptions(broker, "orders-producer"), serializers: stringSerializers });
    clients.push(producer);
    const keys = range(12).map((i) => `customer-${i}`);
    const rounds = 4 * CODECS.length;
    for (let round = 0; round < rounds; round++) {
      await producer.send({
        compression: CODECS[round % CODECS.length],
        messages: keys.map((key) => ({
          topic: "orders",
          key,
          value: `${key}:${round}`,
          headers: { "trace-id": `${key}-${round}` },
        })),
      });
    }
    const ends = await endOffsets(admin, "orders", 3);
    assert.equal(
      ends.reduce((sum, end) => sum + end, 0),
      keys.length * rounds,
    );
    assert.ok(
      ends.every((end) => end > 0),
      "the keys spread over all three partitions",
    );

    const consumer = newConsumer(broker, "orders-reader", "order-readers");
    clients.push(consumer);
    const stream = await consumer.consume({
      topics: ["orders"],
      mode: "committed",
      fallbackMode: "earliest",
      autocommit: AUTOCOMMIT_INTERVAL_MS,
    });
    clients.push(stream);
    const received: StringMessage[] = [];
    stream.on("data", (message: StringMessage) => received.push(message));
    assert.ok(
      await eventually(() => received.length >= keys.length * rounds, DELIVERY_TIMEOUT_MS),
      `expected ${keys.length * rounds} messages, got ${received.length}`,
    );
    const groups = await admin.describeGroups({ groups: ["order-readers"] });
    const group = groups.get("order-readers");
    assert.equal(group?.state, "STABLE");
    assert.equal(group?.protocol, "roundrobin");
    assert.deepEqual(
      [...(group?.members.values() ?? [])].map((member) => member.clientId),
      ["orders-reader"],
    );

    // Closing the stream commits what autocommit has not yet; closing the consumer leaves the group.
    await stream.close();
    await consumer.close();
    assert.equal(received.length, keys.length * rounds, "nothing more arrived");
    assertOncePerOffsetAndKeyOrder(received, keys, rounds);
    for (const message of received) {
      const [key, round] = message.value.split(":");
      assert.equal(message.headers.get("trace-id"), `${key}-${round}`);
    }

    assert.deepEqual(await committedOffsets(admin, "order-readers", "orders", 3), ends, "committed = end offsets");
    const viaConsumer = newConsumer(broker, "orders-auditor", "order-readers");
    clients.push(viaConsumer);
    const listed = await viaConsumer.listCommittedOffsets({ topics: [{ topic: "orders", partitions: [0, 1, 2] }] });
    assert.deepEqual(listed.get("orders")?.map(Number), ends);
    assert.equal((await admin.listGroups()).get("order-readers")?.state, "EMPTY");
  } finally {
    await closeAll(clients);
  }
});

test("two consumers share the partitions and the one that stays takes them all when the other leaves", async (t) => {
  const broker = await brokerForTest(t);
  const clients: Closable[] = [];
  try {
    const admin = new Admin(clientOptions(broker, "platformatic-admin"));
    clients.push(admin);
    await admin.createTopics({ topics: ["events"], partitions: 3, replicas: 1 });
    const producer = new Producer({ ...clientOptions(broker, "events-producer"), serializers: stringSerializers });
    clients.push(producer);
    const keys = range(9).map((i) => `device-${i}`);
    const sendRound = (round: number) =>
      producer.send({ messages: keys.map((key) => ({ topic: "events", key, value: `${key}:${round}` })) });

    const received: Array<{ by: string; message: StringMessage }> = [];
    const join = async (name: string) => {
      const consumer = newConsumer(broker, name, "event-readers");
      clients.push(consumer);
      const stream = await consumer.consume({
        topics: ["events"],
        mode: "committed",
        fallbackMode: "earliest",
        autocommit: AUTOCOMMIT_INTERVAL_MS,
      });
      clients.push(stream);
      stream.on("data", (message: StringMessage) => received.push({ by: name, message }));
      return { consumer, stream };
    };
    const partitionsOf = (consumer: Consumer<string, string, string, string>) =>
      (consumer.assignments ?? []).flatMap((assignment) => assignment.partitions).sort();

    const first = await join("reader-1");
    const second = await join("reader-2");
    assert.ok(
      await eventually(() => {
        const owned = [...partitionsOf(first.consumer), ...partitionsOf(second.consumer)].sort();
        return (
          partitionsOf(first.consumer).length > 0 &&
          partitionsOf(second.consumer).length > 0 &&
          owned.join() === "0,1,2"
        );
      }, DELIVERY_TIMEOUT_MS),
      "both members got a share of the three partitions",
    );
    // A fetch sent before the rebalance still carries the old assignment, and the client delivers what it returns
    // (at-least-once, as against Kafka); two completed fetches per member mean the next ones use the new shares.
    await Promise.all([fetchesCompleted(first.stream, 2), fetchesCompleted(second.stream, 2)]);
    const group = (await admin.describeGroups({ groups: ["event-readers"] })).get("event-readers");
    assert.equal(group?.state, "STABLE");
    assert.deepEqual([...(group?.members.values() ?? [])].map((member) => member.clientId).sort(), [
      "reader-1",
      "reader-2",
    ]);

    const roundsBeforeLeave = 5;
    for (let round = 0; round < roundsBeforeLeave; round++) await sendRound(round);
    const firstBatch = keys.length * roundsBeforeLeave;
    assert.ok(await eventually(() => received.length >= firstBatch, DELIVERY_TIMEOUT_MS), "the first rounds arrived");
    for (const { by, message } of received) {
      const owner = by === "reader-1" ? first.consumer : second.consumer;
      assert.ok(partitionsOf(owner).includes(message.partition), `${by} read only its own partitions`);
    }
    assert.deepEqual(new Set(received.map(({ by }) => by)), new Set(["reader-1", "reader-2"]), "both members read");
    // Once everything read is committed, the rebalance below has no reason to deliver anything twice.
    const ends = await endOffsets(admin, "events", 3);
    assert.ok(
      await eventually(
        async () => (await committedOffsets(admin, "event-readers", "events", 3)).join() === ends.join(),
        DELIVERY_TIMEOUT_MS,
      ),
      "autocommit caught up",
    );

    await second.stream.close();
    await second.consumer.close();
    assert.ok(
      await eventually(() => partitionsOf(first.consumer).join() === "0,1,2", DELIVERY_TIMEOUT_MS),
      "the remaining member was assigned every partition",
    );
    // As above: a fetch from before this rebalance, answered after it, would race the client's reset to the
    // committed offsets and deliver some messages again.
    await fetchesCompleted(first.stream, 2);
    const roundsAfterLeave = 5;
    for (let round = roundsBeforeLeave; round < roundsBeforeLeave + roundsAfterLeave; round++) await sendRound(round);
    const total = keys.length * (roundsBeforeLeave + roundsAfterLeave);
    assert.ok(
      await eventually(() => received.length >= total, DELIVERY_TIMEOUT_MS),
      `expected ${total}, got ${received.length}`,
    );
    await first.stream.close();
    await first.consumer.close();
    assert.ok(
      received.slice(firstBatch).every(({ by }) => by === "reader-1"),
      "after the leave only reader-1 read",
    );
    assertOncePerOffsetAndKeyOrder(
      received.map(({ message }) => message),
      keys,
      roundsBeforeLeave + roundsAfterLeave,
    );
    assert.equal(received.length, total, "nothing more arrived");
    assert.deepEqual(await committedOffsets(admin, "event-readers", "events", 3), await endOffsets(admin, "events", 3));
  } finally {
    await closeAll(clients);
  }
});

test("idempotent producers get their own ids and a retried batch is written once", async (t) => {
  const broker = await brokerForTest(t);
  const clients: Closable[] = [];
  try {
    const admin = new Admin(clientOptions(broker, "platformatic-admin"));
    clients.push(admin);
    await admin.createTopics({ topics: ["payments"], partitions: 1, replicas: 1 });
    const options = { idempotent: true, serializers: stringSerializers };
    const first = new Producer({ ...clientOptions(broker, "payments-1"), ...options });
    const second = new Producer({ ...clientOptions(broker, "payments-2"), ...options });
    clients.push(first, second);
    const send = (producer: Producer<string, string, string, string>, ...values: string[]) =>
      producer.send({ messages: values.map((value) => ({ topic: "payments", value })) });

    await send(first, "first-1");
    await send(second, "second-1");
    assert.notEqual(first.producerId, second.producerId, "each producer has its own id");
    await send(first, "first-2");

    // The next Produce is appended, but its answer never reaches the client, which must retry the same batch.
    broker.injectFault({ apiKey: 0, action: { kind: "dropResponse" }, times: 1 });
    const retried = await send(second, "second-2", "second-3");
    assert.deepEqual(
      retried.offsets?.map((o) => o.offset),
      [3n],
      "the retry is answered with the first append",
    );
    await send(first, "first-3");
    assert.deepEqual(await endOffsets(admin, "payments", 1), [6], "the retried batch was not appended twice");

    const consumer = newConsumer(broker, "payments-reader", "payment-readers");
    clients.push(consumer);
    const stream = await consumer.consume({ topics: ["payments"], mode: "earliest", autocommit: false });
    clients.push(stream);
    const values: string[] = [];
    stream.on("data", (message: StringMessage) => values.push(message.value));
    assert.ok(await eventually(() => values.length >= 6, DELIVERY_TIMEOUT_MS), `got ${values.length} of 6`);
    assert.deepEqual(values, ["first-1", "second-1", "first-2", "second-2", "second-3", "first-3"]);
  } finally {
    await closeAll(clients);
  }
});
