// The overview's sampler against a real broker: while the cluster is still and nobody looks, samples come further
// apart; a look at the overview or records moving bring them back to the base interval.

import { test } from "node:test";

import pino from "pino";

import { OverviewSampler } from "../../src/console/overview.js";
import { SluiceKafkaClient } from "../../src/kafka/client/index.js";
import { brokerForTest } from "../helpers/broker.js";
import { waitFor } from "../store/harness.js";

test("an unwatched sampler of a still cluster slows down; a view or new records bring it back", async (t) => {
  const broker = await brokerForTest(t);
  const kafka = new SluiceKafkaClient({ bootstrapBrokers: [broker.address], clientId: "sampler-test" });
  await kafka.admin.createTopics([{ name: "moving", partitions: 1 }]);
  const sampler = new OverviewSampler(kafka, pino({ level: "silent" }), { intervalMs: 50, idleIntervalMaxMs: 400 });
  t.after(async () => {
    await sampler.stop();
    await kafka.close();
  });
  sampler.start();
  await waitFor("samples at the longest interval", () => sampler.nextSampleInMs === 400, 30_000);

  sampler.noteViewed();
  await waitFor("samples at the base interval after a view", () => sampler.nextSampleInMs === 50, 30_000);

  await waitFor("samples at the longest interval again", () => sampler.nextSampleInMs === 400, 30_000);
  await kafka.produce({ topic: "moving", partition: 0, records: [{ value: "m" }] });
  await waitFor(
    "the records in a sample, taken at the base interval",
    () => (sampler.samples().at(-1)?.messagesInPerSecond ?? 0) > 0 && sampler.nextSampleInMs === 50,
    30_000,
  );
});
