// The broker's hold on its data dir: a broker killed with SIGKILL and left a zombie is replaced at once by a new one
// that finds its topics, a stale PID in the lock file blocks nothing, and of two brokers started together on one
// dir exactly one runs.

import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { Kafka, logLevel } from "kafkajs";

import { startBroker } from "../../src/broker/index.js";
import { DATA_DIR_LOCK_FILE } from "../../src/platform/data-dir-lock.js";
import { temporaryDir } from "../helpers/environment.js";
import { killLeavingZombie, spawnUnreaped } from "../helpers/unreaped.js";

const BROKER = ["--import", "tsx", "test/fixtures/broker-process.ts"];
const KILL_ROUNDS = 20;

async function createTopic(address: string, topic: string): Promise<void> {
  const admin = new Kafka({ brokers: [address], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
  } finally {
    await admin.disconnect();
  }
}

test(`a broker killed with SIGKILL and left a zombie is replaced at once, ${KILL_ROUNDS} rounds`, async (t) => {
  const dataDir = temporaryDir(t);
  const brokers = await Promise.all(
    Array.from({ length: KILL_ROUNDS }, () => spawnUnreaped(t, [...BROKER, dataDir, "0", "signal"])),
  );
  await Promise.all(brokers.map((broker) => broker.waitFor(/^waiting/m)));
  for (const [round, killed] of brokers.entries()) {
    process.kill(killed.pid, "SIGUSR2");
    const address = (await killed.waitFor(/^listening on (\S+)$/m))[1] as string;
    await createTopic(address, `round-${round}`);
    await assert.rejects(startBroker({ dataDir }), {
      name: "DataDirInUseError",
      message: `data dir ${dataDir} is in use by process ${killed.pid}`,
    });
    await killLeavingZombie(killed);
    if (process.platform === "linux") assert.equal(killed.state(), "Z", "the killed broker is left unreaped");
    const restarted = await startBroker({ dataDir });
    try {
      assert.ok(restarted.broker.topics.get(`round-${round}`), "the restarted broker has the killed one's topics");
    } finally {
      await restarted.close();
    }
  }
});

test("a lock file naming a live unrelated process does not keep a broker from starting", async (t) => {
  const dataDir = temporaryDir(t);
  // The test runner's parent: alive, and not this broker.
  writeFileSync(join(dataDir, DATA_DIR_LOCK_FILE), `${process.ppid}\n`);
  const broker = await startBroker({ dataDir });
  await broker.close();
});

test("of two brokers started together on one data dir exactly one runs", async (t) => {
  const dataDir = temporaryDir(t);
  const startAt = String(Date.now() + 4_000);
  const brokers = await Promise.all([0, 1].map(() => spawnUnreaped(t, [...BROKER, dataDir, "0", startAt])));
  const outcomes = await Promise.all(brokers.map((broker) => broker.waitFor(/^(listening on \S+|in use: .*)$/m)));
  const running = brokers.filter((_, index) => outcomes[index]?.[1]?.startsWith("listening on "));
  assert.equal(running.length, 1, outcomes.map((outcome) => outcome[0]).join("\n"));
  const refused = outcomes.find((outcome) => outcome[1]?.startsWith("in use: "));
  assert.match(
    refused?.[1] ?? "",
    new RegExp(`^in use: data dir ${dataDir} is in use by (process ${running[0]?.pid}|another process)$`),
  );
});
