// The console's views of the toolkit's parts: dead letters (listed with their reasons and redriven with the
// toolkit's redrive, dry run first) and the outbox and inbox tables (pending rows, relay leases, inbox sizes, and one
// event's path), against an embedded broker and PGlite.

import assert from "node:assert/strict";
import { test } from "node:test";

import { openDatabase, runMigrations } from "../../src/store/index.js";
import { deadLetterHeaders, deadLetterTopicName } from "../../src/toolkit/dead-letter.js";
import { EVENT_HEADERS } from "../../src/toolkit/event.js";
import { createKafkaClient } from "../../src/toolkit/index.js";
import { api, consoleForTest } from "./harness.js";

test("dead letters and the outbox and inbox, seen and operated through the console", async (t) => {
  const database = await openDatabase({});
  t.after(() => database.close());
  const service = database.withSchema("billing_service");
  await runMigrations(service);

  const scene = await consoleForTest(t, { database });
  const toolkitKafka = createKafkaClient({ brokers: [scene.brokerAddress], env: {} });
  Object.assign(scene.console.context, { toolkitKafka });

  await t.test("dead letters: listed per topic with their reason, redriven after a dry run", async () => {
    await scene.kafka.admin.createTopics([
      { name: "invoices", partitions: 1 },
      { name: deadLetterTopicName("invoices"), partitions: 1 },
    ]);
    const parked = Array.from({ length: 3 }, (_, index) => {
      const eventId = `00000000-0000-4000-8000-00000000000${index}`;
      const headers = deadLetterHeaders({ [EVENT_HEADERS.id]: eventId }, eventId, {
        originalTopic: "invoices",
        originalPartition: 0,
        originalOffset: String(index),
        error: `invoice ${index} has no customer`,
        errorCode: "SLUICE_HANDLER_FAILED",
        attempts: 3,
        time: new Date(Date.UTC(2026, 0, 1, 12, index)),
        consumerGroup: "mailer",
      });
      return {
        key: `invoice-${index}`,
        value: JSON.stringify({ invoice: index }),
        headers: Object.entries(headers).map(([key, value]) => ({ key, value })),
      };
    });
    await scene.kafka.produce({ topic: deadLetterTopicName("invoices"), partition: 0, records: parked });

    const topics = await api(scene, "GET", "/api/dead-letters");
    assert.deepEqual(topics.body.topics, [{ topic: "invoices", deadLetterTopic: "invoices.dlt", messages: 3 }]);
    const listed = await api(scene, "GET", "/api/dead-letters/invoices");
    assert.equal(listed.status, 200);
    assert.deepEqual(
      listed.body.deadLetters.map((letter: { error: string; attempts: number; consumerGroup: string }) => [
        letter.error,
        letter.attempts,
        letter.consumerGroup,
      ]),
      [0, 1, 2].map((index) => [`invoice ${index} has no customer`, 3, "mailer"]),
    );

    const dryRun = await api(scene, "POST", "/api/dead-letters/invoices/redrive", {
      eventIds: ["00000000-0000-4000-8000-000000000001"],
      dryRun: true,
    });
    assert.deepEqual([dryRun.body.dryRun, dryRun.body.redriven.length], [true, 1]);
    assert.equal((await scene.kafka.admin.topicOffsets("invoices"))[0]!.latest, 0, "a dry run sends nothing");

    const redriven = await api(scene, "POST", "/api/dead-letters/invoices/redrive", {
      since: "2026-01-01T12:01:00Z",
    });
    assert.deepEqual(
      redriven.body.redriven.map((letter: { eventId: string }) => letter.eventId),
      ["00000000-0000-4000-8000-000000000001", "00000000-0000-4000-8000-000000000002"],
    );
    const back = await api(scene, "GET", "/api/topics/invoices/messages?partition=0&offset=0");
    assert.deepEqual(
      back.body.messages.map((message: { key: { text: string } }) => message.key.text),
      ["invoice-1", "invoice-2"],
    );
    assert.equal((await api(scene, "GET", "/api/dead-letters/nothing")).status, 404);
    assert.equal(
      (await api(scene, "POST", "/api/dead-letters/invoices/redrive", { since: "soon" })).body.field,
      "since",
    );
    const audit = await api(scene, "GET", "/api/audit");
    assert.deepEqual(
      audit.body.entries.map((entry: { action: string }) => entry.action),
      ["dead-letters.redrive"],
    );
  });

  await t.test("outbox and inbox: pending rows per topic, relay leases, inbox sizes, and an event's path", async () => {
    const eventId = "7d1f0a52-5a9b-4a55-9c1e-2f1f7d7e0001";
    // Row x is published (the relay's cursor has passed it), relay-1 is sending row y, and row z waits.
    await service.query(
      `INSERT INTO sluice_outbox (event_id, topic, value, created_at)
       VALUES ($1, 'invoices', 'x', now() - interval '2 minutes')`,
      [eventId],
    );
    await service.query(
      `INSERT INTO sluice_outbox (event_id, topic, value, created_at) VALUES
         ('7d1f0a52-5a9b-4a55-9c1e-2f1f7d7e0002', 'invoices', 'y', now() - interval '30 seconds')`,
    );
    await service.query(
      "INSERT INTO sluice_outbox (event_id, topic, value, created_at) VALUES (gen_random_uuid(), 'payments', 'z', now())",
    );
    await service.query(
      `UPDATE sluice_outbox_cursor c
       SET (position_xid, position_id) = (SELECT xid, id FROM sluice_outbox WHERE value = 'x'),
         (read_xid, read_id) = (SELECT xid, id FROM sluice_outbox WHERE value = 'y'),
         relay_id = 'relay-1', lease_expires_at = now() + interval '10 seconds'`,
    );
    await database.query(
      `INSERT INTO sluice_inbox (consumer_group, event_id, topic, partition, record_offset) VALUES ('mailer', $1, 'invoices', 0, 7)`,
      [eventId],
    );

    const summary = await api(scene, "GET", "/api/outbox");
    assert.equal(summary.status, 200);
    const billing = summary.body.outboxes.find((outbox: { schema: string }) => outbox.schema === "billing_service");
    assert.deepEqual(
      billing.pending.map((row: { topic: string; pending: number }) => [row.topic, row.pending]),
      [
        ["invoices", 1],
        ["payments", 1],
      ],
    );
    assert.ok(billing.pending[0].oldestAgeMs >= 29_000);
    assert.deepEqual(
      billing.relays.map((relay: { relay: string; claimedRows: number }) => [relay.relay, relay.claimedRows]),
      [["relay-1", 1]],
    );
    const inbox = summary.body.inboxes.find((entry: { schema: string }) => entry.schema === "public");
    assert.deepEqual(
      inbox.groups.map((group: { group: string; records: number }) => [group.group, group.records]),
      [["mailer", 1]],
    );

    // The record the relay published for the row, among others: found by its event-id header.
    const { baseOffset } = await scene.kafka.produce({
      topic: "invoices",
      partition: 0,
      records: [
        { value: "other", headers: [{ key: "sluice-event-id", value: "00000000-0000-4000-8000-000000000099" }] },
        { value: "x", headers: [{ key: "sluice-event-id", value: eventId }] },
      ],
    });

    const path = await api(scene, "GET", `/api/events/${eventId}`);
    assert.deepEqual(
      path.body.steps.map(
        (step: { step: string; schema?: string; topic?: string }) => `${step.step}:${step.schema ?? step.topic}`,
      ),
      ["outbox:billing_service", "topic:invoices", "inbox:public"],
    );
    assert.deepEqual([path.body.steps[1].partition, path.body.steps[1].offset], [0, baseOffset + 1]);
    assert.equal(path.body.steps[2].offset, 7);
    assert.deepEqual((await api(scene, "GET", "/api/events/unknown-id")).body.steps, []);

    // A row the relay parked (the broker refused it for good) is listed with why, and its path says it was not sent.
    await service.query(
      "UPDATE sluice_outbox SET parked_at = now(), failed_attempts = 5, last_error = 'MESSAGE_TOO_LARGE' WHERE value = 'x'",
    );
    const parked = (await api(scene, "GET", "/api/outbox")).body.outboxes.find(
      (outbox: { schema: string }) => outbox.schema === "billing_service",
    );
    assert.equal(parked.parkedCount, 1);
    assert.deepEqual(
      parked.parked.map((row: { eventId: string; lastError: string }) => [row.eventId, row.lastError]),
      [[eventId, "MESSAGE_TOO_LARGE"]],
    );
    const parkedPath = await api(scene, "GET", `/api/events/${eventId}`);
    assert.equal(parkedPath.body.steps[0].published, false);
    assert.ok(parkedPath.body.steps[0].parkedAt !== null);
  });
});

test("without a database, the outbox views say how to get one", async (t) => {
  const scene = await consoleForTest(t);
  const answer = await api(scene, "GET", "/api/outbox");
  assert.equal(answer.status, 503);
  assert.match(answer.body.message, /--database-url/);
});
