import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseConfigEntry } from "../../../src/cli/commands/topics.js";
import kafkajs from "kafkajs";
import { brokerForTest } from "../../helpers/broker.js";
import { aclBrokerForTest } from "../acl-broker.js";
import { runCli } from "../run-cli.js";

describe("topics helpers", () => {
  test("--config takes name=value, splitting at the first =", () => {
    assert.deepEqual(parseConfigEntry("retention.ms=1000"), { name: "retention.ms", value: "1000" });
    assert.deepEqual(parseConfigEntry("a=b=c"), { name: "a", value: "b=c" });
    assert.deepEqual(parseConfigEntry("a="), { name: "a", value: "" });
    assert.throws(() => parseConfigEntry("retention.ms"), /is not name=value/);
    assert.throws(() => parseConfigEntry("=1"), /is not name=value/);
  });
});

describe("sluice topics (child process against the embedded broker)", { concurrency: 2 }, () => {
  test("create, list, describe and delete", async (t) => {
    const broker = await brokerForTest(t);
    const topics = (...args: string[]) => runCli(["topics", ...args, "--brokers", broker.address]);

    const created = await topics("create", "orders", "--partitions", "3", "--config", "retention.ms=60000");
    assert.equal(created.code, 0, created.stderr);
    assert.equal(created.stdout, "created topic orders with 3 partition(s)\n");
    assert.equal((await topics("create", "audit", "--json")).code, 0);

    const again = await topics("create", "orders", "--partitions", "3");
    assert.equal(again.code, 1);
    assert.match(again.stderr, /topic "orders" already exists/);
    assert.match(again.stderr, /--if-not-exists/);
    const tolerated = await topics("create", "orders", "--if-not-exists", "--json");
    assert.equal(tolerated.code, 0, tolerated.stderr);
    assert.deepEqual(JSON.parse(tolerated.stdout), { topic: "orders", created: false, partitions: 1 });

    const produced = await runCli(["produce", "orders", "--brokers", broker.address, "--partition", "1"], {
      input: "a\nb\n",
    });
    assert.equal(produced.code, 0, produced.stderr);

    const listed = await topics("list");
    assert.equal(listed.code, 0, listed.stderr);
    const rows = listed.stdout.trimEnd().split("\n");
    assert.match(rows[0]!, /^TOPIC +PARTITIONS +MESSAGES$/);
    assert.match(rows[1]!, /^audit +1 +0$/);
    assert.match(rows[2]!, /^orders +3 +2$/);
    assert.equal(rows.length, 3);
    assert.deepEqual(JSON.parse((await topics("list", "--json")).stdout), [
      { name: "audit", partitions: 1, messages: 0 },
      { name: "orders", partitions: 3, messages: 2 },
    ]);

    const described = await topics("describe", "orders");
    assert.equal(described.code, 0, described.stderr);
    assert.match(described.stdout, /^Topic: orders\nPartitions: 3\n/);
    assert.match(described.stdout, /PARTITION +LEADER +REPLICAS +ISR +START OFFSET +END OFFSET/);
    assert.match(described.stdout, /^ +1 +\d+ +\d+ +\d+ +0 +2$/m);
    assert.match(described.stdout, /^retention\.ms +60000 +topic$/m);
    const json = JSON.parse((await topics("describe", "orders", "--json")).stdout) as {
      name: string;
      partitions: { partition: number; startOffset: number; endOffset: number; leader: number }[];
      configs: { name: string; value: string; source: string }[] | null;
    };
    assert.equal(json.name, "orders");
    assert.deepEqual(
      json.partitions.map((partition) => [partition.partition, partition.startOffset, partition.endOffset]),
      [
        [0, 0, 0],
        [1, 0, 2],
        [2, 0, 0],
      ],
    );
    assert.deepEqual(
      json.configs?.find((config) => config.name === "retention.ms"),
      { name: "retention.ms", value: "60000", source: "topic", readOnly: false, sensitive: false },
    );

    const deleted = await topics("delete", "orders");
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.equal(deleted.stdout, "deleted topic orders\n");
    assert.deepEqual(
      (JSON.parse((await topics("list", "--json")).stdout) as { name: string }[]).map((topic) => topic.name),
      ["audit"],
    );
  });

  test("--log-level shows the Kafka client's own logs on stderr (topics and produce), and silent shows none", async (t) => {
    const broker = await brokerForTest(t);
    const clientLogs = (stderr: string) =>
      stderr
        .split("\n")
        .filter((line) => line.startsWith("{"))
        .map((line) => JSON.parse(line) as { level: number; msg: string; broker?: string });
    const listed = await runCli(["topics", "list", "--brokers", broker.address, "--log-level", "debug"]);
    assert.equal(listed.code, 0, listed.stderr);
    const opened = clientLogs(listed.stderr).filter((line) => line.msg === "kafka connection opened");
    assert.ok(opened.length >= 1, listed.stderr);
    assert.equal(opened[0]!.level, 20);
    assert.equal((await runCli(["topics", "create", "logged", "--brokers", broker.address])).code, 0);
    const produced = await runCli(["produce", "logged", "--brokers", broker.address, "--log-level", "debug"], {
      input: "a\n",
    });
    assert.equal(produced.code, 0, produced.stderr);
    assert.ok(
      clientLogs(produced.stderr).some((line) => line.msg === "kafka connection opened"),
      produced.stderr,
    );
    const quiet = await runCli(["topics", "list", "--brokers", broker.address]);
    assert.equal(quiet.code, 0, quiet.stderr);
    assert.deepEqual(clientLogs(quiet.stderr), []);
    const warnOnly = await runCli(["topics", "list", "--brokers", broker.address, "--log-level", "warn"]);
    assert.deepEqual(clientLogs(warnOnly.stderr), []);
  });

  test("a missing topic is an error that is not papered over by auto-creation", async (t) => {
    const broker = await brokerForTest(t, { autoCreateTopics: true });
    const described = await runCli(["topics", "describe", "ghost", "--brokers", broker.address]);
    assert.equal(described.code, 1);
    assert.match(described.stderr, /topic "ghost" does not exist/);
    assert.match(described.stderr, /sluice topics list/);
    const deleted = await runCli(["topics", "delete", "ghost", "--brokers", broker.address]);
    assert.equal(deleted.code, 1);
    assert.match(deleted.stderr, /topic "ghost" does not exist/);
    const listed = await runCli(["topics", "list", "--json", "--brokers", broker.address]);
    assert.deepEqual(JSON.parse(listed.stdout), []);
  });

  test("a config the broker refuses is reported with a hint", async (t) => {
    const broker = await brokerForTest(t);
    const result = await runCli([
      "topics",
      "create",
      "bad",
      "--config",
      "no.such.config=1",
      "--brokers",
      broker.address,
    ]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /INVALID_CONFIG/);
    assert.match(result.stderr, /Check the --config names and values/);
  });

  test("the broker's own reason for refusing a config is shown", async (t) => {
    const broker = await brokerForTest(t);
    const args = ["topics", "create", "retained", "--config", "retention.ms=soon", "--brokers", broker.address];
    const result = await runCli(args);
    assert.equal(result.code, 1);
    assert.match(
      result.stderr.split("\n")[0]!,
      /^sluice topics create: creating topic "retained": INVALID_CONFIG \(40\): Invalid value soon for configuration retention\.ms/,
    );
    assert.doesNotMatch(result.stderr, /log/, "the reason is on screen, not in a log");
  });

  test("the broker's own reason for refusing to delete a topic is shown", async (t) => {
    const { broker, admin, bobFlags, allowBob } = await aclBrokerForTest(t);
    await admin.createTopics({ topics: [{ topic: "kept" }] });
    // Bob may see the topic but not delete it.
    await allowBob("kept", [kafkajs.AclOperationTypes.DESCRIBE]);
    const result = await runCli([...["topics", "delete", "kept", "--brokers", broker.address], ...bobFlags]);
    assert.equal(result.code, 1);
    assert.match(
      result.stderr.split("\n")[0]!,
      /^sluice topics delete: deleting topic "kept": TOPIC_AUTHORIZATION_FAILED \(29\): deleting topic kept needs DELETE on it$/,
    );
    assert.match(result.stderr, /Check that the SASL user may use this topic/);
    assert.deepEqual(await admin.listTopics(), ["kept"]);
  });
});
