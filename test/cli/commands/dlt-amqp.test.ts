// `sluice dlt list|redrive --amqp-url` against the RabbitMQ server on this machine: a consumer over the AMQP transport
// parks events it cannot handle in the queue `<topic>.dlt`; the CLI, a child process, lists them with their headers
// (and leaves them there), a dry run sends nothing, and a redrive puts them back on the topic, where the consumer,
// healed by then, stores each exactly once, and takes them off the dead-letter queue.

import assert from "node:assert/strict";
import { test } from "node:test";

import { Type } from "@sinclair/typebox";

import { openDatabase } from "../../../src/store/index.js";
import { createConsumer } from "../../../src/toolkit/consumer.js";
import { EVENT_HEADERS } from "../../../src/toolkit/event.js";
import { addToOutbox } from "../../../src/toolkit/outbox.js";
import { OutboxRelay } from "../../../src/toolkit/outbox-relay.js";
import { listDeadLetters } from "../../../src/toolkit/redrive.js";
import { NonRetriableError } from "../../../src/toolkit/retry.js";
import { defineTopic } from "../../../src/toolkit/topic.js";
import { amqpClientForTest, RABBITMQ_URL, requireRabbitmq, uniqueAmqpName } from "../../helpers/rabbitmq.js";
import { waitFor } from "../../store/harness.js";
import { runCli } from "../run-cli.js";

const STORED_TIMEOUT_MS = 60_000;

interface ListedLetter {
  eventId: string;
  originalTopic: string;
  attempts: number;
  errorCode: string;
  error: string;
  consumerGroup: string;
  key: string;
  value: string;
  headers: Record<string, string>;
}

test(
  "sluice dlt list|redrive --amqp-url lists RabbitMQ's dead letters with their headers and redrives them, stored once",
  { timeout: 180_000 },
  async (t) => {
    if (!(await requireRabbitmq(t))) return;
    const client = amqpClientForTest(t);
    const db = await openDatabase({ url: null });
    t.after(() => db.close());
    await db.exec("CREATE TABLE stored (id bigserial PRIMARY KEY, event_id text NOT NULL, order_id text NOT NULL)");
    const topic = defineTopic({
      name: uniqueAmqpName("dlt-cli"),
      eventType: "OrderPlaced",
      schema: Type.Object({ orderId: Type.String() }),
      key: (value) => value.orderId,
    });
    const groupId = uniqueAmqpName("shipping");
    let healed = false;
    const consumer = createConsumer({
      client,
      db,
      groupId,
      topics: [topic],
      lagRefreshIntervalMs: 60_000,
      async handler(event, tx) {
        if (!healed) throw new NonRetriableError(`no stock for ${event.value.orderId}`);
        await tx.query("INSERT INTO stored (event_id, order_id) VALUES ($1, $2)", [event.id, event.value.orderId]);
      },
    });
    const relay = new OutboxRelay({ db, client, backoffBaseMs: 20, backoffMaxMs: 500 });
    t.after(async () => {
      await relay.stop();
      await consumer.stop();
    });
    await consumer.start();
    await consumer.whenReady(30_000);
    await relay.start();
    const ids = await db.transaction(async (tx) => [
      await addToOutbox(tx, topic, { orderId: "a" }, { headers: { tenant: "acme" } }),
      await addToOutbox(tx, topic, { orderId: "b" }, { headers: { tenant: "globex" } }),
    ]);
    await waitFor(
      "both events dead-lettered",
      async () => (await listDeadLetters(client, topic)).length >= 2,
      STORED_TIMEOUT_MS,
      100,
    );

    const dlt = (...args: string[]) => runCli(["dlt", ...args, "--amqp-url", RABBITMQ_URL]);
    const table = await dlt("list", topic.name);
    assert.equal(table.code, 0, table.stderr);
    const rows = table.stdout.trimEnd().split("\n");
    assert.match(rows[0]!, /^TIME +EVENT ID +PARTITION +OFFSET +ATTEMPTS +GROUP +CODE +ERROR$/);
    assert.equal(rows.length, 3);
    for (const [index, id] of ids.entries()) {
      assert.match(
        rows[index + 1]!,
        new RegExp(`${id} .* 1 +${groupId} +SLUICE_HANDLER_NON_RETRIABLE +.*no stock for ${"ab"[index]}`),
      );
    }

    const listed = await dlt("list", topic.name, "--json");
    assert.equal(listed.code, 0, listed.stderr);
    const letters = (JSON.parse(listed.stdout) as { deadLetters: ListedLetter[] }).deadLetters;
    assert.deepEqual(
      letters.map((letter) => letter.eventId),
      ids,
      "in the order they were parked",
    );
    for (const [index, letter] of letters.entries()) {
      assert.equal(letter.originalTopic, topic.name);
      assert.equal(letter.consumerGroup, groupId);
      assert.equal(letter.attempts, 1);
      assert.equal(letter.errorCode, "SLUICE_HANDLER_NON_RETRIABLE");
      assert.equal(letter.key, "ab"[index]);
      assert.deepEqual(JSON.parse(letter.value), { orderId: "ab"[index] });
      // The event's own headers, as on the topic: the standard ones and the caller's, no bookkeeping.
      assert.equal(letter.headers[EVENT_HEADERS.id], ids[index]);
      assert.equal(letter.headers[EVENT_HEADERS.type], "OrderPlaced");
      assert.equal(letter.headers.tenant, index === 0 ? "acme" : "globex");
      assert.equal(
        Object.keys(letter.headers).some((name) => name.startsWith("sluice-dlt-") || name.startsWith("x-")),
        false,
        JSON.stringify(letter.headers),
      );
    }

    const dryRun = await dlt("redrive", topic.name, "--dry-run");
    assert.equal(dryRun.code, 0, dryRun.stderr);
    assert.match(dryRun.stdout, /would redrive 2 dead letter\(s\) .* \(dry run: nothing was sent\)/);
    assert.equal((await listDeadLetters(client, topic)).length, 2, "a dry run and listing leave the letters in place");

    healed = true;
    const one = await dlt("redrive", topic.name, "--event-id", ids[1]!, "--json");
    assert.equal(one.code, 0, one.stderr);
    const report = JSON.parse(one.stdout) as { redriven: number; deadLetters: Array<{ eventId: string }> };
    assert.equal(report.redriven, 1);
    assert.deepEqual(
      report.deadLetters.map((letter) => letter.eventId),
      [ids[1]],
    );
    const stored = async (): Promise<Array<{ event_id: string; order_id: string }>> =>
      (await db.query<{ event_id: string; order_id: string }>("SELECT event_id, order_id FROM stored ORDER BY id"))
        .rows;
    await waitFor("the redriven event stored", async () => (await stored()).length >= 1, STORED_TIMEOUT_MS, 50);
    assert.deepEqual(
      (await listDeadLetters(client, topic)).map((letter) => letter.eventId),
      [ids[0]],
      "the redriven letter left the dead-letter queue, the other stayed",
    );

    const rest = await dlt("redrive", topic.name);
    assert.equal(rest.code, 0, rest.stderr);
    assert.match(rest.stdout, /^redrove 1 dead letter\(s\) from .*\.dlt to /);
    await waitFor("both events stored", async () => (await stored()).length >= 2, STORED_TIMEOUT_MS, 50);
    const empty = await dlt("list", topic.name);
    assert.equal(empty.code, 0, empty.stderr);
    assert.equal(empty.stdout, `no dead letters in ${topic.name}.dlt\n`);
    // A redrive is a new delivery of the same event id: the inbox would skip a second one, so each is stored once.
    const rows2 = await stored();
    assert.deepEqual(rows2.map((row) => row.event_id).sort(), [...ids].sort());
    assert.deepEqual(rows2.map((row) => row.order_id).sort(), ["a", "b"]);
  },
);
