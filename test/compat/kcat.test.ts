// kcat (librdkafka), unmodified, against the embedded broker: metadata, keyed produce with every codec, consume,
// consumer groups and the idempotent producer.

import assert from "node:assert/strict";
import { test } from "node:test";
import { brokerForTest, eventually, kafkaFor } from "../helpers/broker.js";
import { hasCommand, requireTool } from "../helpers/environment.js";
import { runCommand, type CommandResult } from "../helpers/process.js";

const KCAT = hasCommand("kcat");

function kcat(args: string[], input?: string, timeoutMs = 20_000): Promise<CommandResult> {
  return runCommand("kcat", args, input ?? "", timeoutMs);
}

test("kcat lists metadata", async (t) => {
  if (!requireTool(t, KCAT, "kcat (apt-get install kcat)")) return;
  const broker = await brokerForTest(t, { defaultPartitions: 3 });
  const produced = await kcat(["-b", broker.address, "-P", "-t", "listed"], "hello\n");
  assert.equal(produced.code, 0, produced.stderr);
  const { stdout, code, stderr } = await kcat(["-b", broker.address, "-L", "-J"]);
  assert.equal(code, 0, stderr);
  const metadata = JSON.parse(stdout) as {
    brokers: Array<{ id: number }>;
    topics: Array<{ topic: string; partitions: unknown[] }>;
  };
  assert.equal(metadata.brokers[0]!.id, 1);
  const listed = metadata.topics.find((topic) => topic.topic === "listed");
  assert.equal(listed?.partitions.length, 3);
});

for (const codec of ["none", "gzip", "snappy", "lz4", "zstd"]) {
  test(`kcat produces keyed messages with ${codec} and consumes them in order`, async (t) => {
    if (!requireTool(t, KCAT, "kcat (apt-get install kcat)")) return;
    const broker = await brokerForTest(t, { defaultPartitions: 3 });
    const topic = `kcat-${codec}`;
    const lines = Array.from({ length: 600 }, (_, i) => `key${i % 7}:value-${i}`);
    const produced = await kcat(
      [
        "-b",
        broker.address,
        "-P",
        "-t",
        topic,
        "-K",
        ":",
        "-z",
        codec,
        "-X",
        "enable.idempotence=true",
        "-X",
        "linger.ms=5",
      ],
      lines.join("\n") + "\n",
    );
    assert.equal(produced.code, 0, produced.stderr);
    const consumed = await kcat([
      "-b",
      broker.address,
      "-C",
      "-t",
      topic,
      "-e",
      "-f",
      "%p|%o|%k|%s\\n",
      "-o",
      "beginning",
    ]);
    assert.equal(consumed.code, 0, consumed.stderr);
    const rows = consumed.stdout
      .trim()
      .split("\n")
      .map((line) => line.split("|"));
    assert.equal(rows.length, 600);
    const byKey = new Map<string, number[]>();
    for (const [partition, , key, value] of rows) {
      const index = Number(value!.slice("value-".length));
      assert.equal(`key${index % 7}`, key);
      byKey.set(`${key}@${partition}`, [...(byKey.get(`${key}@${partition}`) ?? []), index]);
    }
    assert.equal(byKey.size, 7, "each key stayed on one partition");
    for (const indexes of byKey.values())
      assert.deepEqual(
        indexes,
        [...indexes].sort((a, b) => a - b),
      );
  });
}

test("a kcat consumer group reads every message once and commits", async (t) => {
  if (!requireTool(t, KCAT, "kcat (apt-get install kcat)")) return;
  const broker = await brokerForTest(t, { defaultPartitions: 2 });
  const lines = Array.from({ length: 100 }, (_, i) => `m${i}`);
  const produced = await kcat(["-b", broker.address, "-P", "-t", "grouped"], lines.join("\n") + "\n");
  assert.equal(produced.code, 0, produced.stderr);
  const groupRead = [
    "-b",
    broker.address,
    "-G",
    "kcat-group",
    "-e",
    "-f",
    "%s\\n",
    "-X",
    "auto.offset.reset=earliest",
    "grouped",
  ];
  const consumed = await kcat(groupRead);
  assert.equal(consumed.code, 0, consumed.stderr);
  const values = consumed.stdout.trim().split("\n").sort();
  assert.deepEqual(values, [...lines].sort());
  // The group committed its position on the way out, so a second run of the same group starts at the end.
  const again = await kcat(groupRead);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(again.stdout.trim(), "");
});

test("kcat (librdkafka) commits a transaction and reads read_committed around kafkajs's aborted and open ones", async (t) => {
  if (!requireTool(t, KCAT, "kcat (apt-get install kcat)")) return;
  const broker = await brokerForTest(t);
  const topic = "kcat-transactions";
  // librdkafka's transactional producer: kcat writes all of its input in one transaction.
  const produced = await kcat(
    ["-b", broker.address, "-P", "-t", topic, "-p", "0", "-X", "transactional.id=kcat-writer"],
    "kcat-1\nkcat-2\nkcat-3\n",
  );
  assert.equal(produced.code, 0, produced.stderr);

  const kafka = kafkaFor(broker);
  const producer = kafka.producer({ transactionalId: "kafkajs-writer", maxInFlightRequests: 1, idempotent: true });
  await producer.connect();
  const send = async (values: string[]) => {
    const transaction = await producer.transaction();
    await transaction.send({ topic, messages: values.map((value) => ({ value, partition: 0 })) });
    return transaction;
  };
  await (await send(["aborted-1", "aborted-2", "aborted-3", "aborted-4"])).abort();
  await (await send(["committed-1", "committed-2"])).commit();
  // Left open: read_committed stops before it (the last stable offset), read_uncommitted shows it.
  await send(["open-1"]);

  const consume = (isolation: string) =>
    kcat(["-b", broker.address, "-C", "-t", topic, "-e", "-q", "-f", "%s\n", "-X", `isolation.level=${isolation}`]);
  const committed = await consume("read_committed");
  assert.equal(committed.code, 0, committed.stderr);
  assert.deepEqual(committed.stdout.trim().split("\n"), ["kcat-1", "kcat-2", "kcat-3", "committed-1", "committed-2"]);
  const uncommitted = await consume("read_uncommitted");
  assert.equal(uncommitted.code, 0, uncommitted.stderr);
  assert.deepEqual(uncommitted.stdout.trim().split("\n"), [
    "kcat-1",
    "kcat-2",
    "kcat-3",
    "aborted-1",
    "aborted-2",
    "aborted-3",
    "aborted-4",
    "committed-1",
    "committed-2",
    "open-1",
  ]);
});

test("a read_committed kcat consumer waits (require_stable) for offsets an open transaction will commit", async (t) => {
  if (!requireTool(t, KCAT, "kcat (apt-get install kcat)")) return;
  const broker = await brokerForTest(t);
  const lines = Array.from({ length: 10 }, (_, i) => `m${i}`);
  const produced = await kcat(["-b", broker.address, "-P", "-t", "stable", "-p", "0"], lines.join("\n") + "\n");
  assert.equal(produced.code, 0, produced.stderr);
  const producer = kafkaFor(broker).producer({ transactionalId: "offsets-writer", maxInFlightRequests: 1 });
  await producer.connect();
  t.after(() => producer.disconnect());
  const transaction = await producer.transaction();
  await transaction.sendOffsets({
    consumerGroupId: "stable-group",
    topics: [{ topic: "stable", partitions: [{ partition: 0, offset: "6" }] }],
  });
  // librdkafka (isolation.level=read_committed, its default) asks with require_stable and retries while the
  // broker answers UNSTABLE_OFFSET_COMMIT; the fault rule only watches, it never matches.
  let stableFetches = 0;
  broker.broker.faults.add({
    apiKey: 9,
    action: { kind: "delay", delayMs: 0 },
    match: (request) => {
      if ((request as { requireStable?: boolean }).requireStable === true) stableFetches++;
      return false;
    },
  });
  const consuming = kcat(
    ["-b", broker.address, "-G", "stable-group", "-e", "-f", "%s\\n", "-X", "auto.offset.reset=earliest", "stable"],
    undefined,
    60_000,
  );
  assert.ok(await eventually(() => stableFetches >= 2, 30_000), `${stableFetches} OffsetFetch with require_stable`);
  await transaction.commit();
  const consumed = await consuming;
  assert.equal(consumed.code, 0, consumed.stderr);
  assert.deepEqual(consumed.stdout.trim().split("\n"), ["m6", "m7", "m8", "m9"]);
});
