import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { parseTimeReference } from "../../../src/cli/commands/dlt.js";
import { deadLetterHeaders } from "../../../src/toolkit/dead-letter.js";
import { ensureTopics } from "../../../src/toolkit/kafka/admin.js";
import { createKafkaClient } from "../../../src/toolkit/kafka/connection.js";
import { brokerForTest } from "../../helpers/broker.js";
import { runCli } from "../run-cli.js";

describe("dlt helpers", () => {
  test("--since and --until take an ISO time or a duration back from now", () => {
    const now = Date.parse("2030-06-01T12:00:00Z");
    assert.equal(parseTimeReference("90s", now).toISOString(), "2030-06-01T11:58:30.000Z");
    assert.equal(parseTimeReference("15m", now).toISOString(), "2030-06-01T11:45:00.000Z");
    assert.equal(parseTimeReference("2h", now).toISOString(), "2030-06-01T10:00:00.000Z");
    assert.equal(parseTimeReference("7d", now).toISOString(), "2030-05-25T12:00:00.000Z");
    assert.equal(parseTimeReference("2030-01-31T08:00:00Z", now).toISOString(), "2030-01-31T08:00:00.000Z");
    assert.equal(parseTimeReference("2030-01-31", now).toISOString(), "2030-01-31T00:00:00.000Z");
    assert.throws(() => parseTimeReference("yesterday", now), /neither an ISO 8601 time .* nor a duration/);
    assert.throws(() => parseTimeReference("5 minutes", now), /duration/);
    assert.throws(() => parseTimeReference("2030-13-45", now), /ISO 8601/);
  });
});

describe("sluice dlt (child process against the embedded broker)", { concurrency: 2 }, () => {
  test("list and redrive dead letters, with filters, JSON and a dry run", async (t) => {
    const broker = await brokerForTest(t);
    const client = createKafkaClient({ brokers: [broker.address], env: {} });
    await ensureTopics(client, [
      { name: "orders", partitions: 2 },
      { name: "orders.dlt", partitions: 2 },
    ]);
    const parkedAt = new Date(Date.now() - 30 * 60_000);
    const letters = [
      { id: "11111111-1111-4111-8111-111111111111", partition: 1, offset: "40", value: '{"orderId":"a"}' },
      { id: "22222222-2222-4222-8222-222222222222", partition: 0, offset: "41", value: '{"orderId":"b"}' },
    ];
    const producer = client.producer();
    t.after(() => producer.disconnect());
    await producer.send(
      letters.map((letter, index) => ({
        topic: "orders.dlt",
        key: `key-${index}`,
        value: Buffer.from(letter.value),
        partition: letter.partition,
        headers: deadLetterHeaders({ "sluice-event-id": letter.id, tenant: "acme" }, letter.id, {
          originalTopic: "orders",
          originalPartition: letter.partition,
          originalOffset: letter.offset,
          error: `Error: no stock for ${index}`,
          errorCode: "SLUICE_HANDLER_FAILED",
          attempts: 5,
          time: new Date(parkedAt.getTime() + index * 1_000),
          consumerGroup: "shipping",
        }),
      })),
    );
    const dlt = (...args: string[]) => runCli(["dlt", ...args, "--brokers", broker.address]);

    const listed = await dlt("list", "orders");
    assert.equal(listed.code, 0, listed.stderr);
    const rows = listed.stdout.trimEnd().split("\n");
    assert.match(rows[0]!, /^TIME +EVENT ID +PARTITION +OFFSET +ATTEMPTS +GROUP +CODE +ERROR$/);
    assert.match(
      rows[1]!,
      new RegExp(
        `^${parkedAt.toISOString()} +${letters[0]!.id} +1 +40 +5 +shipping +SLUICE_HANDLER_FAILED +Error: no stock for 0$`,
      ),
    );
    assert.match(rows[2]!, new RegExp(`${letters[1]!.id} +0 +41 +5`));
    assert.equal(rows.length, 3);

    const json = await dlt("list", "orders", "--json", "--limit", "1");
    assert.equal(json.code, 0, json.stderr);
    const parsed = JSON.parse(json.stdout) as { topic: string; deadLetters: Array<Record<string, unknown>> };
    assert.equal(parsed.topic, "orders");
    assert.equal(parsed.deadLetters.length, 1);
    assert.deepEqual(parsed.deadLetters[0], {
      eventId: letters[0]!.id,
      time: parkedAt.toISOString(),
      originalTopic: "orders",
      originalPartition: 1,
      originalOffset: "40",
      attempts: 5,
      errorCode: "SLUICE_HANDLER_FAILED",
      error: "Error: no stock for 0",
      consumerGroup: "shipping",
      key: "key-0",
      value: '{"orderId":"a"}',
      headers: { "sluice-event-id": letters[0]!.id, tenant: "acme" },
      valueDropped: null,
      deadLetterPartition: 1,
      deadLetterOffset: "0",
    });

    assert.equal((await dlt("list", "orders", "--since", "10m")).stdout, "no dead letters in orders.dlt\n");
    const since = await dlt("list", "orders", "--since", new Date(parkedAt.getTime() + 500).toISOString(), "--json");
    assert.deepEqual(
      (JSON.parse(since.stdout) as { deadLetters: Array<{ eventId: string }> }).deadLetters.map((l) => l.eventId),
      [letters[1]!.id],
    );

    const dryRun = await dlt("redrive", "orders", "--dry-run");
    assert.equal(dryRun.code, 0, dryRun.stderr);
    assert.match(
      dryRun.stdout,
      /would redrive 2 dead letter\(s\) from orders\.dlt to orders \(dry run: nothing was sent\)/,
    );
    const afterDryRun = await runCli(["topics", "list", "--json", "--brokers", broker.address]);
    const messagesIn = (name: string) =>
      (JSON.parse(afterDryRun.stdout) as Array<{ name: string; messages: number }>).find((topic) => topic.name === name)
        ?.messages;
    assert.equal(messagesIn("orders"), 0);

    const one = await dlt("redrive", "orders", "--event-id", letters[1]!.id, "--json");
    assert.equal(one.code, 0, one.stderr);
    const report = JSON.parse(one.stdout) as {
      redriven: number;
      dryRun: boolean;
      deadLetters: Array<{ eventId: string }>;
    };
    assert.equal(report.redriven, 1);
    assert.equal(report.dryRun, false);
    assert.deepEqual(
      report.deadLetters.map((letter) => letter.eventId),
      [letters[1]!.id],
    );

    const all = await dlt("redrive", "orders", "--since", "1h");
    assert.equal(all.code, 0, all.stderr);
    assert.equal(all.stdout, "redrove 2 dead letter(s) from orders.dlt to orders\n");

    // Back on the original topic: original key, value, partition and headers (no dead-letter bookkeeping).
    const consumed = await runCli([
      "consume",
      "orders",
      "--from-beginning",
      "--max-messages",
      "3",
      "--format",
      "json",
      "--brokers",
      broker.address,
    ]);
    assert.equal(consumed.code, 0, consumed.stderr);
    const records = consumed.stdout
      .trimEnd()
      .split("\n")
      .map(
        (line) =>
          JSON.parse(line) as { partition: number; key: string; value: string; headers: Record<string, string> },
      );
    assert.equal(records.length, 3);
    const ofB = records.filter((record) => record.key === "key-1");
    assert.equal(ofB.length, 2, "b was redriven twice");
    for (const record of ofB) {
      assert.equal(record.partition, 0);
      assert.equal(record.value, '{"orderId":"b"}');
      assert.deepEqual(record.headers, { "sluice-event-id": letters[1]!.id, tenant: "acme" });
    }
    const ofA = records.find((record) => record.key === "key-0");
    assert.equal(ofA?.partition, 1);
  });

  test("bad input and a missing dead-letter topic get clear errors", async (t) => {
    const broker = await brokerForTest(t);
    const badSince = await runCli(["dlt", "list", "orders", "--since", "yesterday", "--brokers", broker.address]);
    assert.equal(badSince.code, 2);
    assert.match(badSince.stderr, /invalid value for --since: "yesterday" is neither an ISO 8601 time/);
    const reversed = await runCli([
      "dlt",
      "redrive",
      "orders",
      "--since",
      "1h",
      "--until",
      "2h",
      "--brokers",
      broker.address,
    ]);
    assert.equal(reversed.code, 2);
    assert.match(reversed.stderr, /--until must not be before --since/);
    const missing = await runCli(["dlt", "list", "nope", "--brokers", broker.address]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /there is no dead-letter topic "nope\.dlt"/);
    assert.match(missing.stderr, /SLUICE_DEAD_LETTER_TOPIC_UNKNOWN/);
    const unreachable = await runCli(["dlt", "list", "orders", "--brokers", "127.0.0.1:1", "--timeout-ms", "1000"]);
    assert.equal(unreachable.code, 1);
    assert.match(unreachable.stderr, /127\.0\.0\.1:1/);
  });
});
