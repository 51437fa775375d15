// kafka-python (Debian's python3-kafka 2.0, a client written from scratch in Python), unmodified, against the
// embedded broker: admin, keyed produce with gzip and headers, a consumer group that commits and resumes.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

import { TOPIC_CONFIGS } from "../../src/broker/configs/topic-configs.js";
import { brokerForTest } from "../helpers/broker.js";
import { requireTool } from "../helpers/environment.js";
import { runCommand } from "../helpers/process.js";

// Debian's interpreter, where python3-kafka is installed; a python3 earlier on PATH (pyenv, say) lacks it.
const PYTHON = "/usr/bin/python3";
const SCRIPT = fileURLToPath(new URL("./fixtures/kafka_python_client.py", import.meta.url));
const KAFKA_PYTHON = spawnSync(PYTHON, ["-c", "import kafka"], { stdio: "ignore", timeout: 10_000 }).status === 0;
const RUN_TIMEOUT_MS = 60_000;

async function run<T>(args: string[]): Promise<T> {
  const { stdout, stderr, code } = await runCommand(PYTHON, [SCRIPT, ...args], "", RUN_TIMEOUT_MS);
  if (code !== 0) throw new Error(`kafka-python ${args.join(" ")} exited ${String(code)}: ${stderr}`);
  return JSON.parse(stdout.trim().split("\n").at(-1) ?? "null") as T;
}

interface Consumed {
  key: string;
  value: string;
  partition: number;
  offset: number;
  headers: Record<string, string>;
}

test("kafka-python creates a topic, produces keyed gzip batches and consumes them in a committing group", async (t) => {
  if (!requireTool(t, KAFKA_PYTHON, "kafka-python (apt-get install python3-kafka)")) return;
  const broker = await brokerForTest(t);
  const topic = "python-orders";
  const group = "python-group";

  const created = await run<{ topics: string[]; partitions: number }>(["create-topic", broker.address, topic, "3"]);
  assert.ok(created.topics.includes(topic));
  assert.equal(created.partitions, 3);

  const sent = await run<Array<{ partition: number; offset: number }>>(["produce", broker.address, topic, "60", "0"]);
  assert.equal(sent.length, 60);
  assert.deepEqual(
    new Set(sent.map((record) => record.partition)),
    new Set([0, 1, 2]),
    "keys spread over 3 partitions",
  );

  const first = await run<Consumed[]>(["consume", broker.address, topic, group, "60"]);
  assert.equal(first.length, 60);
  const sequenceOf = (record: Consumed): number => Number(record.value.slice("value-".length));
  const byKey = new Map<string, number[]>();
  for (const record of first) {
    assert.equal(record.headers.sequence, String(sequenceOf(record)), "headers travel with the record");
    byKey.set(record.key, [...(byKey.get(record.key) ?? []), sequenceOf(record)]);
  }
  assert.equal(byKey.size, 7);
  for (const [key, sequences] of byKey) {
    assert.deepEqual(
      sequences,
      [...sequences].sort((left, right) => left - right),
      `${key} keeps its order`,
    );
  }

  // The same group resumes from its committed offsets: only the new records arrive.
  await run(["produce", broker.address, topic, "20", "60"]);
  const second = await run<Consumed[]>(["consume", broker.address, topic, group, "20"]);
  assert.deepEqual(
    second.map(sequenceOf).sort((left, right) => left - right),
    [...Array(20).keys()].map((i) => i + 60),
  );

  const described = await run<{ state: string; protocolType: string; offsets: Record<string, number> }>([
    "describe-group",
    broker.address,
    group,
  ]);
  assert.equal(described.state, "Empty");
  assert.equal(described.protocolType, "consumer");
  assert.equal(
    Object.values(described.offsets).reduce((sum, offset) => sum + offset, 0),
    80,
    "committed offsets cover all 80 records",
  );
});

test("kafka-python creates a topic with configs, replaces them with AlterConfigs and reads them with sources", async (t) => {
  if (!requireTool(t, KAFKA_PYTHON, "kafka-python (apt-get install python3-kafka)")) return;
  const broker = await brokerForTest(t);
  const configs = await run<Record<string, { value: string; source: number }>>([
    "configs",
    broker.address,
    "py-configs",
  ]);
  // AlterConfigs replaces the whole set of overrides, as in Kafka: the creation's configs went back to defaults.
  assert.deepEqual(configs["retention.ms"], { value: "3600000", source: 1 });
  assert.deepEqual(configs["cleanup.policy"], { value: "delete", source: 5 });
  assert.deepEqual(configs["segment.jitter.ms"], { value: "0", source: 5 });
  assert.deepEqual(Object.keys(configs).sort(), [...TOPIC_CONFIGS.keys()].sort());
});
