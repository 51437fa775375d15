// kafkajs consumer groups against the embedded broker: three members share a four-partition topic, one leaves
// cleanly (LeaveGroup), one is killed with SIGKILL (its session must expire), and every message is processed once
// and committed. Each member commits every message before recording it, and members change only while no message is
// in flight, so anything but exactly-once processing here is a coordinator bug.

import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { test } from "node:test";
import type { Consumer, Kafka } from "kafkajs";
import { startBroker } from "../../src/broker/index.js";
import { eventually, kafkaFor } from "../helpers/broker.js";

const TOPIC = "work";
const GROUP = "workers";
const PARTITIONS = 4;
const MESSAGES_PER_PHASE = 120;
const SESSION_TIMEOUT_MS = 2500;
const HEARTBEAT_INTERVAL_MS = 250;
const REBALANCE_TIMEOUT_MS = 5000;

/** One processed message: who processed it, where it was. */
interface Processed {
  member: string;
  partition: number;
  offset: number;
  value: string;
}

/** The killed member runs in its own process so that SIGKILL stops it mid-session, without a LeaveGroup. */
const CHILD_MEMBER_SOURCE = `
import kafkajs from "kafkajs";
const { Kafka, logLevel } = kafkajs;
const { BROKER, GROUP, TOPIC, SESSION_TIMEOUT_MS, HEARTBEAT_INTERVAL_MS, REBALANCE_TIMEOUT_MS } = process.env;
const kafka = new Kafka({ clientId: "doomed", brokers: [BROKER], logLevel: logLevel.NOTHING });
const consumer = kafka.consumer({
  groupId: GROUP,
  sessionTimeout: Number(SESSION_TIMEOUT_MS),
  heartbeatInterval: Number(HEARTBEAT_INTERVAL_MS),
  rebalanceTimeout: Number(REBALANCE_TIMEOUT_MS),
  maxWaitTimeInMs: 100,
});
await consumer.connect();
await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
await consumer.run({
  autoCommit: false,
  eachMessage: async ({ partition, message }) => {
    await consumer.commitOffsets([{ topic: TOPIC, partition, offset: String(Number(message.offset) + 1) }]);
    process.stdout.write(JSON.stringify({ partition, offset: Number(message.offset), value: message.value.toString() }) + "\\n");
  },
});
process.stdout.write("running\\n");
`;

async function inProcessMember(kafka: Kafka, name: string, processed: Processed[]): Promise<Consumer> {
  const consumer = kafka.consumer({
    groupId: GROUP,
    sessionTimeout: SESSION_TIMEOUT_MS,
    heartbeatInterval: HEARTBEAT_INTERVAL_MS,
    rebalanceTimeout: REBALANCE_TIMEOUT_MS,
    maxWaitTimeInMs: 100,
  });
  await consumer.connect();
  await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ partition, message }) => {
      await consumer.commitOffsets([{ topic: TOPIC, partition, offset: String(Number(message.offset) + 1) }]);
      processed.push({ member: name, partition, offset: Number(message.offset), value: message.value!.toString() });
    },
  });
  return consumer;
}

function childMember(address: string, processed: Processed[]): ChildProcess {
  const child = spawn(process.execPath, ["--input-type=module", "-e", CHILD_MEMBER_SOURCE], {
    cwd: process.cwd(),
    env: {
      ...process.env,
      BROKER: address,
      GROUP,
      TOPIC,
      SESSION_TIMEOUT_MS: String(SESSION_TIMEOUT_MS),
      HEARTBEAT_INTERVAL_MS: String(HEARTBEAT_INTERVAL_MS),
      REBALANCE_TIMEOUT_MS: String(REBALANCE_TIMEOUT_MS),
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  createInterface({ input: child.stdout! }).on("line", (line) => {
    if (!line.startsWith("{")) return;
    const { partition, offset, value } = JSON.parse(line) as Omit<Processed, "member">;
    processed.push({ member: "doomed", partition, offset, value });
  });
  return child;
}

test("three kafkajs members: one leaves, one is killed, every message is processed and committed once", async (t) => {
  const broker = await startBroker({ port: 0, groupMinSessionTimeoutMs: 1000 });
  // Clients go before the broker, so that none of them is left retrying against a closed port.
  const cleanups: Array<() => unknown> = [];
  t.after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
    await broker.close();
  });
  const kafka = kafkaFor(broker);
  const admin = kafka.admin();
  await admin.connect();
  cleanups.push(() => admin.disconnect());
  await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS }] });
  const producer = kafka.producer();
  await producer.connect();
  cleanups.push(() => producer.disconnect());

  const produced: string[] = [];
  const produce = async (phase: string): Promise<void> => {
    const values = Array.from({ length: MESSAGES_PER_PHASE }, (_, i) => `${phase}-${i}`);
    await producer.send({
      topic: TOPIC,
      messages: values.map((value, i) => ({ value, partition: i % PARTITIONS })),
    });
    produced.push(...values);
  };
  const processed: Processed[] = [];
  const allProcessed = (): Promise<boolean> =>
    eventually(() => processed.length >= produced.length, 20_000).then(
      (done) => done && processed.length === produced.length,
    );
  const groupHas = (memberCount: number): Promise<boolean> =>
    eventually(async () => {
      const { groups } = await admin.describeGroups([GROUP]);
      return groups[0]!.state === "Stable" && groups[0]!.members.length === memberCount;
    }, 20_000);

  const stayer = await inProcessMember(kafka, "stayer", processed);
  cleanups.push(() => stayer.disconnect());
  const leaver = await inProcessMember(kafka, "leaver", processed);
  cleanups.push(() => leaver.disconnect());
  const doomed = childMember(broker.address, processed);
  cleanups.push(() => doomed.kill("SIGKILL"));
  assert.ok(await groupHas(3), "three members form one stable group");
  const { groups } = await admin.describeGroups([GROUP]);
  assert.equal(groups[0]!.protocol, "RoundRobinAssigner");

  await produce("all-three");
  assert.ok(await allProcessed(), `phase 1: ${processed.length} of ${produced.length} processed`);
  const membersInPhase1 = new Set(processed.map((entry) => entry.member));
  assert.deepEqual([...membersInPhase1].sort(), ["doomed", "leaver", "stayer"], "every member got partitions");

  await leaver.disconnect();
  assert.ok(await groupHas(2), "the group rebalances without the member that left");
  await produce("after-leave");
  assert.ok(await allProcessed(), `phase 2: ${processed.length} of ${produced.length} processed`);
  assert.ok(!processed.slice(MESSAGES_PER_PHASE).some((entry) => entry.member === "leaver"));

  doomed.kill("SIGKILL");
  await produce("after-kill");
  assert.ok(await groupHas(1), "the killed member's session expires and the group rebalances");
  assert.ok(await allProcessed(), `phase 3: ${processed.length} of ${produced.length} processed`);

  const byPosition = new Map<string, number>();
  for (const entry of processed) {
    const position = `${entry.partition}:${entry.offset}`;
    byPosition.set(position, (byPosition.get(position) ?? 0) + 1);
  }
  const duplicates = [...byPosition].filter(([, count]) => count > 1);
  assert.deepEqual(duplicates, [], "no message processed twice");
  assert.deepEqual(processed.map((entry) => entry.value).sort(), [...produced].sort());

  await stayer.disconnect();
  const emptied = await eventually(async () => (await admin.describeGroups([GROUP])).groups[0]!.state === "Empty");
  assert.ok(emptied, "the last member's LeaveGroup empties the group");
  const committed = await admin.fetchOffsets({ groupId: GROUP, topics: [TOPIC] });
  const highWatermarks = await admin.fetchTopicOffsets(TOPIC);
  const highOf = new Map(highWatermarks.map((partition) => [partition.partition, partition.high]));
  assert.deepEqual(
    committed[0]!.partitions.map((partition) => [partition.partition, partition.offset]).sort(),
    [...highOf].map(([partition, high]) => [partition, high]).sort(),
  );
  assert.equal(
    [...highOf.values()].reduce((sum, high) => sum + Number(high), 0),
    3 * MESSAGES_PER_PHASE,
  );
});
