import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { formatMessage, type ConsumedMessage } from "../../../src/cli/commands/consume.js";
import kafkajs from "kafkajs";
import { brokerForTest } from "../../helpers/broker.js";
import { aclBrokerForTest } from "../acl-broker.js";
import { exited, runCli, spawnCli, waitForLine } from "../run-cli.js";

function message(key: string | null, value: string | null, headers: ConsumedMessage["headers"] = []): ConsumedMessage {
  return {
    topic: "t",
    partition: 1,
    key: key === null ? null : Buffer.from(key),
    value: value === null ? null : Buffer.from(value),
    timestamp: 1700000000000,
    offset: 42,
    headers,
  };
}

describe("formatMessage", () => {
  test("text prints the value, or key<SEP>value with a separator", () => {
    const consumed = message("k", "v");
    assert.equal(formatMessage(consumed, "text", undefined), "v");
    assert.equal(formatMessage(consumed, "text", " => "), "k => v");
    assert.equal(formatMessage(message(null, null), "text", ":"), ":");
  });

  test("json carries topic, partition, offset, timestamp, key, value and headers", () => {
    const headers = [
      { key: "trace", value: Buffer.from("abc") },
      { key: "multi", value: Buffer.from("1") },
      { key: "multi", value: "2" },
    ];
    const line = formatMessage(message(null, "v\nw", headers), "json", ":");
    assert.deepEqual(JSON.parse(line), {
      topic: "t",
      partition: 1,
      offset: 42,
      timestamp: 1700000000000,
      key: null,
      value: "v\nw",
      headers: { trace: "abc", multi: ["1", "2"] },
    });
    assert.ok(!line.includes("\n"), "one line per message even when the value has newlines");
  });
});

describe("sluice consume (child process against the embedded broker)", { concurrency: 2 }, () => {
  test("--group commits what it printed, so the next run continues after it", async (t) => {
    const broker = await brokerForTest(t);
    const brokers = ["--brokers", broker.address];
    assert.equal((await runCli(["produce", "jobs", ...brokers], { input: "first\nsecond\nthird\n" })).code, 0);
    const group = ["--group", "workers", "--from-beginning"];
    const firstRun = await runCli(["consume", "jobs", ...group, "--max-messages", "2", ...brokers]);
    assert.equal(firstRun.code, 0, firstRun.stderr);
    assert.equal(firstRun.stdout, "first\nsecond\n");
    const secondRun = await runCli(["consume", "jobs", ...group, "--max-messages", "1", ...brokers]);
    assert.equal(secondRun.code, 0, secondRun.stderr);
    assert.equal(secondRun.stdout, "third\n");
  });

  test("without --group nothing is committed: every run can start from the beginning", async (t) => {
    const broker = await brokerForTest(t);
    const brokers = ["--brokers", broker.address];
    assert.equal((await runCli(["produce", "replay", ...brokers], { input: "a\nb\n" })).code, 0);
    for (let run = 0; run < 2; run++) {
      const result = await runCli(["consume", "replay", "--from-beginning", "--max-messages", "2", ...brokers]);
      assert.equal(result.stdout, "a\nb\n");
    }
  });

  test("runs until SIGINT, then exits 0 with a summary", async (t) => {
    const broker = await brokerForTest(t);
    const brokers = ["--brokers", broker.address];
    assert.equal((await runCli(["produce", "live", ...brokers], { input: "hello\n" })).code, 0);
    const child = spawnCli(["consume", "live", "--from-beginning", ...brokers]);
    t.after(() => child.kill("SIGKILL"));
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    assert.equal(await waitForLine(child, /^hello$/), "hello");
    child.kill("SIGINT");
    assert.deepEqual(await exited(child), { code: 0, signal: null });
    assert.match(stderr, /consumed 1 message\(s\) from live/);
  });

  test("a topic that does not exist is an error, not a new topic", async (t) => {
    const broker = await brokerForTest(t, { autoCreateTopics: true });
    const result = await runCli(["consume", "missing", "--max-messages", "1", "--brokers", broker.address]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /UNKNOWN_TOPIC_OR_PARTITION|does not exist/);
    const listed = await runCli(["topics", "list", "--json", "--brokers", broker.address]);
    assert.deepEqual(JSON.parse(listed.stdout), []);
  });

  test("--group shows the broker's own reason when it refuses the group", async (t) => {
    const { broker, admin, bobFlags, allowBob } = await aclBrokerForTest(t);
    await admin.createTopics({ topics: [{ topic: "audited" }] });
    // Bob may read the topic, but no group.
    await allowBob("audited", [kafkajs.AclOperationTypes.DESCRIBE, kafkajs.AclOperationTypes.READ]);
    const result = await runCli([
      ...["consume", "audited", "--group", "auditors", "--max-messages", "1", "--brokers", broker.address],
      ...bobFlags,
    ]);
    assert.equal(result.code, 1);
    assert.match(
      result.stderr.split("\n")[0]!,
      /^sluice consume: FindCoordinator for group "auditors": GROUP_AUTHORIZATION_FAILED \(30\): finding group auditors needs DESCRIBE on it$/,
    );
    assert.match(result.stderr, /Check that the SASL user may use this consumer group/);
  });
});
