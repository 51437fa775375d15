import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  intoBatches,
  lineToMessage,
  parseKeySeparator,
  PRODUCE_BATCH_BYTES_MAX,
  PRODUCE_BATCH_MESSAGES_MAX,
} from "../../../src/cli/commands/produce.js";
import { brokerForTest } from "../../helpers/broker.js";
import { runCli } from "../run-cli.js";

interface JsonMessage {
  partition: number;
  offset: number;
  key: string | null;
  value: string | null;
}

function parseJsonLines(stdout: string): JsonMessage[] {
  return stdout
    .trimEnd()
    .split("\n")
    .map((line) => JSON.parse(line) as JsonMessage);
}

describe("produce helpers", () => {
  test("a line splits at the first separator; without one it is a value with no key", () => {
    assert.deepEqual(lineToMessage("k:v:w", ":", undefined), { key: "k", value: "v:w" });
    assert.deepEqual(lineToMessage("k::v", "::", 2), { key: "k", value: "v", partition: 2 });
    assert.deepEqual(lineToMessage(":v", ":", undefined), { key: "", value: "v" });
    assert.deepEqual(lineToMessage("plain", ":", undefined), { value: "plain" });
    assert.deepEqual(lineToMessage("k:v", undefined, undefined), { value: "k:v" });
    assert.throws(() => parseKeySeparator(""), /cannot be empty/);
  });

  test("batches respect both the message count and the byte limit", () => {
    const small = Array.from({ length: PRODUCE_BATCH_MESSAGES_MAX * 2 + 1 }, (_, index) => ({ value: `m${index}` }));
    assert.deepEqual(
      intoBatches(small).map((batch) => batch.length),
      [PRODUCE_BATCH_MESSAGES_MAX, PRODUCE_BATCH_MESSAGES_MAX, 1],
    );
    const big = "x".repeat(Math.floor(PRODUCE_BATCH_BYTES_MAX / 2.5));
    const sizes = intoBatches([{ value: big }, { value: big }, { value: big }, { key: "k", value: big }]);
    assert.deepEqual(
      sizes.map((batch) => batch.length),
      [2, 2],
    );
    const huge = "y".repeat(PRODUCE_BATCH_BYTES_MAX + 1);
    assert.deepEqual(
      intoBatches([{ value: huge }, { value: "z" }]).map((batch) => batch.length),
      [1, 1],
      "an oversized message goes alone for the broker to judge",
    );
    assert.deepEqual(intoBatches([]), []);
  });
});

describe("sluice produce and consume (child processes against the embedded broker)", { concurrency: 2 }, () => {
  test("keyed lines come back with --from-beginning --max-messages, same keys on the same partition", async (t) => {
    const broker = await brokerForTest(t);
    const brokers = ["--brokers", broker.address];
    assert.equal((await runCli(["topics", "create", "events", "--partitions", "3", ...brokers])).code, 0);
    const lines = Array.from({ length: 30 }, (_, index) => `user-${index % 5}:event ${index}`);
    const produced = await runCli(["produce", "events", "--key-separator", ":", ...brokers], {
      input: lines.join("\n") + "\n",
    });
    assert.equal(produced.code, 0, produced.stderr);
    assert.match(
      produced.stderr,
      /^produced 30 message\(s\), \d+ bytes, to events \(partitions? [\d, ]+\) in \d+ ms\n$/,
    );
    assert.equal(produced.stdout, "");

    const text = await runCli(
      ["consume", "events", "--from-beginning", "--max-messages", "30", "--key-separator", ":", ...brokers],
      { timeoutMs: 20_000 },
    );
    assert.equal(text.code, 0, text.stderr);
    assert.deepEqual(text.stdout.trimEnd().split("\n").sort(), [...lines].sort());
    assert.match(text.stderr, /consumed 30 message\(s\) from events/);

    const json = await runCli([
      "consume",
      "events",
      "--from-beginning",
      "--max-messages",
      "30",
      "--format",
      "json",
      ...brokers,
    ]);
    assert.equal(json.code, 0, json.stderr);
    const messages = parseJsonLines(json.stdout);
    assert.equal(messages.length, 30);
    const partitionOfKey = new Map<string, number>();
    for (const message of messages) {
      assert.ok(message.key !== null);
      const seen = partitionOfKey.get(message.key);
      if (seen !== undefined) assert.equal(message.partition, seen, `key ${message.key} stays on one partition`);
      partitionOfKey.set(message.key, message.partition);
    }
    for (const key of partitionOfKey.keys()) {
      const values = messages.filter((message) => message.key === key).map((message) => message.value);
      const expected = lines.filter((line) => line.startsWith(`${key}:`)).map((line) => line.slice(key.length + 1));
      assert.deepEqual(values, expected, `messages of ${key} keep their order`);
    }
  });

  test("--max-messages stops early even when more messages are waiting", async (t) => {
    const broker = await brokerForTest(t);
    const brokers = ["--brokers", broker.address];
    const input = Array.from({ length: 50 }, (_, index) => `line ${index}`).join("\n");
    assert.equal((await runCli(["produce", "many", ...brokers], { input })).code, 0);
    const result = await runCli(["consume", "many", "--from-beginning", "--max-messages", "7", ...brokers]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(
      result.stdout.trimEnd().split("\n"),
      Array.from({ length: 7 }, (_, index) => `line ${index}`),
    );
  });

  test("--partition, --acks 1, --compression gzip, and lines without a key", async (t) => {
    const broker = await brokerForTest(t);
    const brokers = ["--brokers", broker.address];
    assert.equal((await runCli(["topics", "create", "pinned", "--partitions", "4", ...brokers])).code, 0);
    const produced = await runCli(
      [
        "produce",
        "pinned",
        "--partition",
        "2",
        "--acks",
        "1",
        "--compression",
        "gzip",
        "--key-separator",
        "=",
        ...brokers,
      ],
      { input: "no key here\r\nk=with key\n\nlast line without newline" },
    );
    assert.equal(produced.code, 0, produced.stderr);
    assert.match(produced.stderr, /produced 4 message\(s\), .* to pinned \(partition 2\)/);
    const consumed = await runCli([
      "consume",
      "pinned",
      "--from-beginning",
      "--max-messages",
      "4",
      "--format",
      "json",
      ...brokers,
    ]);
    assert.equal(consumed.code, 0, consumed.stderr);
    assert.deepEqual(
      parseJsonLines(consumed.stdout).map(({ partition, offset, key, value }) => ({ partition, offset, key, value })),
      [
        { partition: 2, offset: 0, key: null, value: "no key here" },
        { partition: 2, offset: 1, key: "k", value: "with key" },
        { partition: 2, offset: 2, key: null, value: "" },
        { partition: 2, offset: 3, key: null, value: "last line without newline" },
      ],
    );
  });

  test("--partition beyond the topic's partitions is refused instead of silently dropped", async (t) => {
    const broker = await brokerForTest(t);
    const brokers = ["--brokers", broker.address];
    assert.equal((await runCli(["topics", "create", "pair", "--partitions", "2", ...brokers])).code, 0);
    const result = await runCli(["produce", "pair", "--partition", "2", ...brokers], { input: "x\n" });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /topic pair has 2 partition\(s\), so partition 2 does not exist/);
    assert.match(result.stderr, /Give --partition a number from 0 to 1/);
  });

  test("acks 0 is accepted and the messages arrive", async (t) => {
    const broker = await brokerForTest(t);
    const brokers = ["--brokers", broker.address];
    const produced = await runCli(["produce", "fire", "--acks", "0", ...brokers], { input: "x\ny\n" });
    assert.equal(produced.code, 0, produced.stderr);
    const consumed = await runCli(["consume", "fire", "--from-beginning", "--max-messages", "2", ...brokers]);
    assert.equal(consumed.stdout, "x\ny\n");
  });

  test("a line over --line-bytes-max fails with the count already sent", async (t) => {
    const broker = await brokerForTest(t);
    const result = await runCli(["produce", "long", "--line-bytes-max", "10", "--brokers", broker.address], {
      input: "short\n" + "x".repeat(11) + "\n",
    });
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      /^sluice produce: line 2 is longer than 10 bytes \(1 message\(s\) were sent before it\)\n/,
    );
    assert.match(result.stderr, /Raise --line-bytes-max/);
  });

  test("a broker that does not auto-create topics refuses an unknown topic with a hint", async (t) => {
    const broker = await brokerForTest(t, { autoCreateTopics: false });
    const result = await runCli(["produce", "nowhere", "--brokers", broker.address], { input: "x\n" });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /topic "nowhere" does not exist/);
    assert.match(result.stderr, /sluice topics create/);
  });
});
