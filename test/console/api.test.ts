// The console's API through Fastify's inject against an embedded broker: topics, messages (browse, seek, search,
// produce), consumer groups (lag, reset with preview, delete), the overview's samples and the audit log, each with
// the bad input a browser or a script may send.

import assert from "node:assert/strict";
import { test } from "node:test";

import { kafkaFor } from "../helpers/broker.js";
import { api, consoleForTest } from "./harness.js";

test("topics: create, list, describe, change configs, delete with confirmation", async (t) => {
  const scene = await consoleForTest(t);

  const created = await api(scene, "POST", "/api/topics", {
    name: "orders",
    partitions: 3,
    configs: { "retention.ms": "3600000" },
  });
  assert.equal(created.status, 201);
  assert.equal((await api(scene, "POST", "/api/topics", { name: "orders" })).body.error, "SLUICE_CONFLICT");
  assert.equal((await api(scene, "POST", "/api/topics", { name: "bad name!" })).body.field, "name");
  assert.equal((await api(scene, "POST", "/api/topics", { name: "x", partitions: 0 })).body.field, "partitions");

  await scene.kafka.produce({ topic: "orders", partition: 1, records: [{ value: "a" }, { value: "b" }] });
  const listed = await api(scene, "GET", "/api/topics?filter=ORD");
  assert.equal(listed.status, 200);
  const [listedSize] = listed.body.topics.map((topic: { sizeBytes: number }) => topic.sizeBytes);
  assert.deepEqual(listed.body.topics, [
    { name: "orders", internal: false, partitions: 3, messages: 2, retentionMs: "3600000", sizeBytes: listedSize },
  ]);
  // The two records' batch, as the broker's log keeps it (DescribeLogDirs): more than its 61-byte header.
  assert.ok(listedSize > 61 && listedSize < 1_000, `size ${listedSize}`);
  assert.deepEqual((await api(scene, "GET", "/api/topics?filter=nothing")).body.topics, []);

  const described = await api(scene, "GET", "/api/topics/orders");
  assert.equal(described.status, 200);
  assert.deepEqual(
    described.body.partitions.map((partition: { logStartOffset: number; highWatermark: number }) => [
      partition.logStartOffset,
      partition.highWatermark,
    ]),
    [
      [0, 0],
      [0, 2],
      [0, 0],
    ],
  );
  assert.deepEqual(
    described.body.partitions.map((partition: { sizeBytes: number }) => partition.sizeBytes),
    [0, listedSize, 0],
    "each partition's log size; only partition 1 has records",
  );
  assert.equal(described.body.sizeBytes, listedSize);
  const retention = described.body.configs.find((entry: { name: string }) => entry.name === "retention.ms");
  assert.equal(retention.value, "3600000");

  const changed = await api(scene, "PATCH", "/api/topics/orders/configs", { set: { "retention.ms": "7200000" } });
  assert.equal(changed.status, 200);
  assert.equal(changed.body.configs.find((entry: { name: string }) => entry.name === "retention.ms").value, "7200000");

  const unknown = await api(scene, "GET", "/api/topics/nowhere");
  assert.equal(unknown.status, 404);
  assert.equal(unknown.body.error, "SLUICE_NOT_FOUND");

  const unconfirmed = await api(scene, "DELETE", "/api/topics/orders?confirm=order");
  assert.equal(unconfirmed.status, 400);
  assert.equal(unconfirmed.body.field, "confirm");
  assert.equal((await api(scene, "DELETE", "/api/topics/orders?confirm=orders")).status, 200);
  assert.equal((await api(scene, "GET", "/api/topics/orders")).status, 404);

  const audit = await api(scene, "GET", "/api/audit");
  assert.deepEqual(
    audit.body.entries.map((entry: { action: string; outcome: string }) => `${entry.action}:${entry.outcome}`),
    ["topic.delete:ok", "topic.configs:ok", "topic.create:failed", "topic.create:ok"],
  );
  assert.equal((await api(scene, "GET", "/api/nothing-here")).status, 404);
});

test("messages: newest first, from an offset or a time, one partition or all, decoded", async (t) => {
  const scene = await consoleForTest(t);
  await api(scene, "POST", "/api/topics", { name: "events", partitions: 2 });
  const base = Date.now() - 100_000;
  for (let partition = 0; partition < 2; partition++) {
    await scene.kafka.produce({
      topic: "events",
      partition,
      records: Array.from({ length: 30 }, (_, index) => ({
        key: `k-${partition}-${index}`,
        value: JSON.stringify({ n: index, partition }),
        timestamp: base + index * 1000 + partition,
        headers: [{ key: "source", value: "test" }],
      })),
    });
  }
  await scene.kafka.produce({
    topic: "events",
    partition: 0,
    records: [
      { value: Buffer.from([0xff, 0x00, 0x01]), timestamp: base + 50_000 },
      { value: "plain text", timestamp: base + 51_000 },
    ],
  });

  const newest = await api(scene, "GET", "/api/topics/events/messages?limit=5");
  assert.equal(newest.body.order, "newest");
  assert.deepEqual(
    newest.body.messages.map(
      (message: { partition: number; offset: number }) => `${message.partition}@${message.offset}`,
    ),
    ["0@31", "0@30", "1@29", "0@29", "1@28"],
  );
  const [text, binary, json] = newest.body.messages as Array<{ value: { encoding: string; text: string } }>;
  assert.deepEqual([text!.value.encoding, text!.value.text], ["text", "plain text"]);
  assert.deepEqual([binary!.value.encoding, binary!.value.text], ["hex", "ff 00 01"]);
  assert.equal(json!.value.encoding, "json");
  assert.deepEqual(JSON.parse(json!.value.text), { n: 29, partition: 1 });
  assert.deepEqual(newest.body.messages[2].headers, [{ key: "source", value: "test", hex: false }]);

  const fromOffset = await api(scene, "GET", "/api/topics/events/messages?partition=1&offset=10&limit=3");
  assert.deepEqual(
    fromOffset.body.messages.map((message: { offset: number }) => message.offset),
    [10, 11, 12],
  );
  const fromTime = await api(scene, "GET", `/api/topics/events/messages?timestamp=${base + 20_000}&limit=4`);
  assert.deepEqual(
    fromTime.body.messages.map(
      (message: { partition: number; offset: number }) => `${message.partition}@${message.offset}`,
    ),
    ["0@20", "1@20", "0@21", "1@21"],
  );

  const pastEnd = await api(scene, "GET", "/api/topics/events/messages?partition=1&offset=31");
  assert.equal(pastEnd.status, 400);
  assert.equal(pastEnd.body.field, "offset");
  assert.match(pastEnd.body.message, /past the end of partition 1.*next offset is 30/);
  assert.equal((await api(scene, "GET", "/api/topics/events/messages?partition=1&offset=30")).body.messages.length, 0);
  assert.equal((await api(scene, "GET", "/api/topics/events/messages?partition=7")).status, 404);
  assert.equal((await api(scene, "GET", "/api/topics/missing/messages")).status, 404);
  assert.equal((await api(scene, "GET", "/api/topics/events/messages?limit=100000")).body.field, "limit");
  assert.equal((await api(scene, "GET", "/api/topics/events/messages?offset=1&timestamp=5")).status, 400);
  assert.equal((await api(scene, "GET", "/api/topics/events/messages?timestamp=yesterday")).body.field, "timestamp");
});

test("produce: by key to Kafka's default partition, to a chosen partition, with headers", async (t) => {
  const scene = await consoleForTest(t);
  await api(scene, "POST", "/api/topics", { name: "payments", partitions: 4 });
  const produced = await api(scene, "POST", "/api/topics/payments/messages", {
    key: "customer-42",
    value: '{"cents":100}',
    headers: [{ key: "trace", value: "abc" }],
  });
  assert.equal(produced.status, 201);

  // kafkajs's default partitioner is Kafka's (murmur2 of the key): a real client must agree on the partition.
  const kafkajs = kafkaFor({ address: scene.brokerAddress });
  const producer = kafkajs.producer();
  await producer.connect();
  const [sent] = await producer.send({ topic: "payments", messages: [{ key: "customer-42", value: "x" }] });
  assert.equal(produced.body.partition, sent!.partition);

  const read = await api(scene, "GET", `/api/topics/payments/messages?partition=${produced.body.partition}&offset=0`);
  assert.equal(read.body.messages[0].key.text, "customer-42");
  assert.deepEqual(read.body.messages[0].headers, [{ key: "trace", value: "abc", hex: false }]);

  const chosen = await api(scene, "POST", "/api/topics/payments/messages", { partition: 3, value: "v" });
  assert.deepEqual([chosen.body.partition, chosen.body.offset], [3, 0]);
  assert.equal((await api(scene, "POST", "/api/topics/payments/messages", { partition: 9, value: "v" })).status, 404);
  assert.equal((await api(scene, "POST", "/api/topics/payments/messages", { value: 5 })).body.field, "value");
  assert.equal((await api(scene, "POST", "/api/topics/payments/messages", { headers: [{ key: 1 }] })).status, 400);
});

test("search: filters on key, value, header and JSON field, in slices, bounded by scanMax", async (t) => {
  const scene = await consoleForTest(t);
  await api(scene, "POST", "/api/topics", { name: "clicks", partitions: 2 });
  for (let partition = 0; partition < 2; partition++) {
    await scene.kafka.produce({
      topic: "clicks",
      partition,
      records: Array.from({ length: 500 }, (_, index) => ({
        key: `user-${index % 50}`,
        value: JSON.stringify({ page: index % 7 === 0 ? "checkout" : "home", n: index }),
        headers: index % 100 === 0 ? [{ key: "flag", value: "red" }] : [],
      })),
    });
  }

  const byValue = await api(scene, "POST", "/api/topics/clicks/search", { filter: { value: "checkout" }, limit: 500 });
  assert.equal(byValue.status, 200);
  assert.equal(byValue.body.matches.length, 2 * 72);
  assert.deepEqual([byValue.body.scanned, byValue.body.total, byValue.body.stoppedBy], [1000, 1000, "end"]);
  assert.equal(byValue.body.cursor, null);

  const byJson = await api(scene, "POST", "/api/topics/clicks/search", {
    partition: 1,
    filter: { jsonPath: "n", jsonEquals: "42" },
  });
  assert.deepEqual(
    byJson.body.matches.map((match: { partition: number; offset: number }) => `${match.partition}@${match.offset}`),
    ["1@42"],
  );
  const byHeader = await api(scene, "POST", "/api/topics/clicks/search", {
    filter: { header: "flag=red", key: "user-0" },
  });
  assert.equal(byHeader.body.matches.length, 10);

  // A filter that matches nothing would read the whole topic: scanMax bounds it and the answer says so.
  const bounded = await api(scene, "POST", "/api/topics/clicks/search", { filter: { value: "nowhere" }, scanMax: 300 });
  assert.deepEqual([bounded.body.scanned, bounded.body.stoppedBy, bounded.body.cursor], [300, "scanMax", null]);

  // Slices: the first answer stops at the match limit and hands a cursor; following it finds the rest.
  const first = await api(scene, "POST", "/api/topics/clicks/search", { filter: { key: "user-7" }, limit: 5 });
  assert.equal(first.body.matches.length, 5);
  assert.notEqual(first.body.cursor, null);
  let cursor = first.body.cursor;
  let found = 5;
  while (cursor !== null) {
    const next = await api(scene, "POST", "/api/topics/clicks/search", { filter: { key: "user-7" }, limit: 5, cursor });
    found += next.body.matches.length;
    cursor = next.body.cursor;
  }
  assert.equal(found, 20);
  assert.equal(
    (await api(scene, "POST", "/api/topics/clicks/search", { cursor: { positions: 3 } })).body.field,
    "cursor",
  );
  assert.equal((await api(scene, "POST", "/api/topics/clicks/search", { scanMax: 0 })).body.field, "scanMax");
  assert.equal((await api(scene, "POST", "/api/topics/clicks/search", { filter: { jsonPath: "a b" } })).status, 400);
});

test("groups: lag, reset with preview refused while members are live, delete", async (t) => {
  const scene = await consoleForTest(t);
  await api(scene, "POST", "/api/topics", { name: "jobs", partitions: 2 });
  for (let partition = 0; partition < 2; partition++) {
    await scene.kafka.produce({
      topic: "jobs",
      partition,
      records: Array.from({ length: 10 }, (_, index) => ({
        value: `job ${index}`,
        timestamp: 1_000_000 + index * 1000,
      })),
    });
  }
  await scene.kafka.admin.commitGroupOffsets("workers", [
    { topic: "jobs", partition: 0, offset: 4 },
    { topic: "jobs", partition: 1, offset: 10 },
  ]);

  const group = await api(scene, "GET", "/api/groups/workers");
  assert.equal(group.status, 200);
  assert.equal(group.body.lag, 6);
  assert.deepEqual(
    group.body.offsets.map((entry: { partition: number; committed: number; lag: number }) => [
      entry.partition,
      entry.committed,
      entry.lag,
    ]),
    [
      [0, 4, 6],
      [1, 10, 0],
    ],
  );
  const listed = await api(scene, "GET", "/api/groups");
  assert.deepEqual(
    listed.body.groups.map((entry: { groupId: string; members: number }) => [entry.groupId, entry.members]),
    [["workers", 0]],
  );

  const preview = await api(scene, "POST", "/api/groups/workers/reset", {
    topic: "jobs",
    to: "shift",
    by: -3,
    dryRun: true,
  });
  assert.equal(preview.body.applied, false);
  assert.deepEqual(
    preview.body.offsets.map((row: { current: number; next: number }) => [row.current, row.next]),
    [
      [4, 1],
      [10, 7],
    ],
  );
  assert.deepEqual(
    (await scene.kafka.admin.fetchGroupOffsets("workers")).map((entry) => entry.offset).sort((a, b) => a - b),
    [4, 10],
    "a dry run commits nothing",
  );
  const byTime = await api(scene, "POST", "/api/groups/workers/reset", {
    topic: "jobs",
    partitions: [1],
    to: "timestamp",
    timestamp: 1_005_000,
  });
  assert.equal(byTime.body.applied, true);
  assert.deepEqual(
    byTime.body.offsets.map((row: { partition: number; next: number }) => [row.partition, row.next]),
    [[1, 5]],
  );
  const committed = await scene.kafka.admin.fetchGroupOffsets("workers");
  assert.equal(committed.find((entry) => entry.partition === 1)!.offset, 5);

  assert.equal(
    (await api(scene, "POST", "/api/groups/workers/reset", { topic: "jobs", to: "sideways" })).body.field,
    "to",
  );
  assert.equal(
    (await api(scene, "POST", "/api/groups/workers/reset", { topic: "jobs", to: "offset" })).body.field,
    "offset",
  );
  assert.equal(
    (await api(scene, "POST", "/api/groups/workers/reset", { topic: "jobs", partitions: [5], to: "earliest" })).status,
    404,
  );

  // A live member: the preview says why the reset would be refused, and applying it is refused with 409.
  const kafkajs = kafkaFor({ address: scene.brokerAddress });
  const consumer = kafkajs.consumer({ groupId: "live", sessionTimeout: 6000 });
  await consumer.connect();
  await consumer.subscribe({ topic: "jobs", fromBeginning: true });
  let seen = 0;
  await consumer.run({
    eachMessage: async () => {
      seen++;
    },
  });
  while (seen < 20) await new Promise((resolve) => setTimeout(resolve, 50));
  const live = await api(scene, "GET", "/api/groups/live");
  assert.equal(live.body.state, "Stable");
  assert.equal(live.body.members.length, 1);
  assert.equal(live.body.members[0].assignment.length, 2);
  const livePreview = await api(scene, "POST", "/api/groups/live/reset", {
    topic: "jobs",
    to: "earliest",
    dryRun: true,
  });
  assert.match(livePreview.body.blockedBy, /has 1 member/);
  const refused = await api(scene, "POST", "/api/groups/live/reset", { topic: "jobs", to: "earliest" });
  assert.equal(refused.status, 409);
  assert.match(refused.body.message, /stop its consumers first/);
  assert.equal((await api(scene, "DELETE", "/api/groups/live")).status, 409);
  await consumer.disconnect();

  assert.equal((await api(scene, "DELETE", "/api/groups/workers")).status, 200);
  assert.equal((await api(scene, "GET", "/api/groups/workers")).status, 404);
});

test("overview: brokers, counts, and rates sampled into a ring", async (t) => {
  const scene = await consoleForTest(t);
  await api(scene, "POST", "/api/topics", { name: "metrics", partitions: 1 });
  await scene.console.context.sampler.sample();
  await scene.kafka.produce({
    topic: "metrics",
    partition: 0,
    records: Array.from({ length: 100 }, () => ({ value: "m" })),
  });
  await scene.console.context.sampler.sample();
  const overview = await api(scene, "GET", "/api/overview");
  assert.equal(overview.status, 200);
  assert.equal(overview.body.brokers.length, 1);
  assert.equal(overview.body.topics, 1);
  assert.equal(overview.body.partitions, 1);
  const last = overview.body.samples.at(-1);
  assert.ok(last.messagesInPerSecond > 0, "the produced records show as a rate");
  const session = await api(scene, "GET", "/api/session");
  assert.deepEqual(session.body, { authMode: "off", user: null, registry: false, database: false });
});

test("schemas without a registry: the views say how to configure one", async (t) => {
  const scene = await consoleForTest(t);
  const answer = await api(scene, "GET", "/api/schemas");
  assert.equal(answer.status, 503);
  assert.match(answer.body.message, /--registry-url/);
});
