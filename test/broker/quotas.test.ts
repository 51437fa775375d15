// Client quotas enforced through the protocol, with @platformatic/kafka setting them (AlterClientQuotas) and sending
// raw Produce and Fetch requests, so that throttle_time_ms is visible: a client over producer_byte_rate gets a
// throttle time and its connection is muted, which bounds its rate; a fetch over consumer_byte_rate is answered
// without records; a client without a quota is never throttled.

import assert from "node:assert/strict";
import { test } from "node:test";
import { Admin, Connection, fetchV12, produceV9 } from "@platformatic/kafka";
import { brokerForTest } from "../helpers/broker.js";
import type { RunningBroker } from "../../src/broker/index.js";
import { QUOTA_WINDOW_MS, QUOTA_WINDOW_SAMPLES } from "../../src/broker/quotas/enforcer.js";

async function setQuota(
  t: { after: (fn: () => Promise<void>) => void },
  broker: RunningBroker,
  key: "producer_byte_rate" | "consumer_byte_rate" | "request_percentage",
  value: number,
  clientId: string,
): Promise<void> {
  const admin = new Admin({ clientId: "quota-admin", bootstrapBrokers: [broker.address], retries: 0 });
  t.after(() => admin.close());
  await admin.createTopics({ topics: ["metered"], partitions: 1, replicas: 1 });
  await admin.alterClientQuotas({
    entries: [{ entities: [{ entityType: "client-id", entityName: clientId }], ops: [{ key, value, remove: false }] }],
  });
}

async function connect(
  t: { after: (fn: () => Promise<void>) => void },
  broker: RunningBroker,
  clientId: string,
): Promise<Connection> {
  const connection = new Connection(clientId);
  await connection.connect(broker.host, broker.port);
  t.after(() => connection.close());
  return connection;
}

const VALUE = Buffer.alloc(10 * 1024, "q");

async function produceSome(
  connection: Connection,
  requests: number,
): Promise<{ throttles: number[]; durationsMs: number[]; bytes: number }> {
  const throttles: number[] = [];
  const durationsMs: number[] = [];
  let bytes = 0;
  for (let i = 0; i < requests; i++) {
    const started = Date.now();
    const response = await produceV9.api.async(connection, 1, 30_000, [
      { topic: "metered", partition: 0, key: Buffer.from(`k${i}`), value: VALUE },
    ]);
    assert.ok(typeof response === "object");
    assert.equal(response.responses[0]!.partitionResponses[0]!.errorCode, 0);
    throttles.push(response.throttleTimeMs);
    durationsMs.push(Date.now() - started);
    bytes += VALUE.length;
  }
  return { throttles, durationsMs, bytes };
}

test("a producer over producer_byte_rate gets throttle_time_ms and its rate is bounded", async (t) => {
  const broker = await brokerForTest(t);
  const quotaBytesPerSecond = 10 * 1024;
  await setQuota(t, broker, "producer_byte_rate", quotaBytesPerSecond, "slow-producer");

  // A client with no quota is never throttled.
  const free = await connect(t, broker, "free-producer");
  const unthrottled = await produceSome(free, 20);
  assert.deepEqual(new Set(unthrottled.throttles), new Set([0]));

  const slow = await connect(t, broker, "slow-producer");
  const started = Date.now();
  const metered = await produceSome(slow, 12);
  const elapsedMs = Date.now() - started;
  t.diagnostic(`throttle times: ${metered.throttles.join(", ")}; ${metered.bytes} bytes in ${elapsedMs} ms`);
  assert.ok(
    metered.throttles.some((ms) => ms > 0),
    "the producer was told to back off",
  );
  // The connection is muted for the throttle time: the request after a throttled answer waits at least that long.
  metered.throttles.forEach((throttleMs, i) => {
    if (throttleMs > 0 && i + 1 < metered.durationsMs.length) {
      assert.ok(metered.durationsMs[i + 1]! >= throttleMs - 20, `request ${i + 1} was read while muted`);
    }
  });
  // Like Kafka, a new rate is measured over at least ten windows, so the first ~10 s of quota pass unthrottled;
  // after that the muted connection holds the client to its quota.
  const allowanceMs = (QUOTA_WINDOW_SAMPLES - 1) * QUOTA_WINDOW_MS;
  assert.ok(
    metered.bytes <= (quotaBytesPerSecond * (elapsedMs + allowanceMs)) / 1000 + 2 * VALUE.length,
    `${metered.bytes} bytes in ${elapsedMs} ms is over the quota`,
  );
});

test("a fetch over consumer_byte_rate is answered without records and a throttle time", async (t) => {
  const broker = await brokerForTest(t);
  await setQuota(t, broker, "consumer_byte_rate", 2048, "slow-consumer");
  const producer = await connect(t, broker, "loader");
  await produceSome(producer, 5);

  const consumer = await connect(t, broker, "slow-consumer");
  const fetchFrom = (offset: number) =>
    fetchV12.api.async(
      consumer,
      0,
      1,
      1024 * 1024,
      0,
      0,
      -1,
      [
        {
          topicId: "metered",
          partitions: [
            {
              partition: 0,
              currentLeaderEpoch: -1,
              fetchOffset: BigInt(offset),
              lastFetchedEpoch: -1,
              partitionMaxBytes: VALUE.length + 1024,
            },
          ],
        },
      ],
      [],
      "",
    );
  // 2 KB/s over the ten-window minimum allows about 20 KB: two fetches of one 10 KB batch are served, the third
  // goes over and comes back empty, with the time to wait.
  const served = [];
  for (let offset = 0; offset < 5; offset++) {
    const response = await fetchFrom(offset);
    const partition = response.responses[0]!.partitions[0]!;
    if (response.throttleTimeMs > 0) {
      assert.equal(partition.records?.length ?? 0, 0, "a throttled fetch carries no records");
      assert.equal(partition.highWatermark, 5n);
      break;
    }
    assert.ok((partition.records?.length ?? 0) > 0);
    served.push(offset);
  }
  assert.ok(served.length >= 1 && served.length < 5, `served ${served.length} fetches before throttling`);
});

test("a client over request_percentage is throttled; another client id is not", async (t) => {
  const broker = await brokerForTest(t);
  // A millionth of a percent of one thread: 0.1 µs of handling per ten seconds, which any produce exceeds. (A
  // thousandth, 0.1 ms, is more than a 10 KiB produce takes on Node 24: 0.04 to 0.1 ms.)
  await setQuota(t, broker, "request_percentage", 0.000001, "busy-client");
  const busy = await connect(t, broker, "busy-client");
  const first = await produceSome(busy, 1);
  assert.ok(first.throttles[0]! > 0, `throttle ${first.throttles[0]}`);
  assert.ok(first.throttles[0]! <= QUOTA_WINDOW_SAMPLES * QUOTA_WINDOW_MS, "at most the whole window");
  const other = await connect(t, broker, "other-client");
  assert.deepEqual((await produceSome(other, 3)).throttles, [0, 0, 0]);
});
