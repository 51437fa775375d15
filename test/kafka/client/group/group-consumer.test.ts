// Sluice's group consumer against the embedded broker: members joining and leaving while records flow, a member that
// dies without leaving, a native member sharing a group with a kafkajs one, committed offsets after a broker restart,
// pausing, an idle member's long fetch wait cut short, and refused input.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test, type TestContext } from "node:test";
import {
  KafkaBrokerError,
  KafkaConfigError,
  type GroupConsumer,
  type GroupConsumerOptions,
  type SluiceKafkaClient,
} from "../../../../src/kafka/client/index.js";
import { brokerForTest, eventually, kafkaFor } from "../../../helpers/broker.js";
import { startBroker } from "../../../../src/broker/index.js";
import { clientFor } from "../support.js";

const HEARTBEAT = 12;
/**
 * The long fetch wait tests: an idle member's wait doubles from LONG_WAIT_BASE_MS, so after LONG_WAIT_IDLE_MS the fetch
 * in flight has seconds more to wait than LONG_WAIT_READ_MS, the time a read that does not wait for it is given.
 */
const LONG_WAIT_BASE_MS = 100;
const LONG_WAIT_IDLE_MS = 8_000;
const LONG_WAIT_READ_MS = 3_500;
const FAST = { sessionTimeoutMs: 2_000, heartbeatIntervalMs: 200, rebalanceTimeoutMs: 5_000, maxWaitMs: 200 } as const;

async function produceMany(client: SluiceKafkaClient, topic: string, partitions: number, count: number, tag: string) {
  for (let index = 0; index < count; index++) {
    await client.produce({ topic, partition: index % partitions, records: [{ value: `${tag}-${index}` }] });
  }
}

interface Member {
  readonly name: string;
  readonly client: SluiceKafkaClient;
  readonly consumer: GroupConsumer;
  readonly seen: string[];
}

/** A member on a client of its own that records what it saw and commits after every batch. */
async function member(
  t: TestContext,
  broker: { address: string },
  name: string,
  options: Partial<GroupConsumerOptions> & Pick<GroupConsumerOptions, "groupId" | "topics">,
): Promise<Member> {
  const client = clientFor(t, broker, { clientId: name });
  const consumer = client.groupConsumer({ ...FAST, resetTo: "earliest", ...options });
  const seen: string[] = [];
  await consumer.start({
    eachBatch: async (batch) => {
      let next: number | null = null;
      for (const record of batch.records) {
        if (!batch.active()) break;
        seen.push(record.value!.toString());
        batch.markDone(record.offset);
        next = record.offset + 1;
      }
      if (next !== null) await batch.commit(next);
    },
  });
  return { name, client, consumer, seen };
}

describe("group consumer", () => {
  test("members join and leave while records flow: every record is handled, the partitions spread", async (t) => {
    const broker = await brokerForTest(t);
    const admin = clientFor(t, broker);
    await admin.admin.createTopics([{ name: "flow", partitions: 6 }]);
    const options = { groupId: "flowing", topics: ["flow"] };
    const a = await member(t, broker, "a", options);
    await produceMany(admin, "flow", 6, 30, "first");
    const b = await member(t, broker, "b", options);
    const c = await member(t, broker, "c", options);
    await produceMany(admin, "flow", 6, 30, "second");
    assert.ok(
      await eventually(() => a.consumer.assignment().length === 2 && c.consumer.assignment().length === 2, 20_000),
      "three members hold two partitions each",
    );
    await b.consumer.stop();
    assert.ok(await eventually(() => a.consumer.assignment().length === 3, 20_000), "b's partitions moved at once");
    await produceMany(admin, "flow", 6, 30, "third");
    const everyone = (): Set<string> => new Set([...a.seen, ...b.seen, ...c.seen]);
    assert.ok(await eventually(() => everyone().size === 90, 30_000), `handled ${everyone().size} of 90`);
    for (const tag of ["first", "second", "third"]) {
      for (let index = 0; index < 30; index++) assert.ok(everyone().has(`${tag}-${index}`), `${tag}-${index}`);
    }
    assert.ok(b.seen.length > 0 || a.seen.length > 0);
    await a.consumer.stop();
    await c.consumer.stop();
    const committed = await admin.admin.fetchGroupOffsets("flowing");
    assert.deepEqual(
      committed.map((entry) => entry.offset),
      [15, 15, 15, 15, 15, 15],
      "every record's offset is committed",
    );
    const [described] = await admin.admin.describeGroups(["flowing"]);
    assert.equal(described!.state, "Empty", "stopped members left the group");
  });

  test("a member that dies without leaving loses its partitions after the session timeout", async (t) => {
    const broker = await brokerForTest(t);
    const admin = clientFor(t, broker);
    await admin.admin.createTopics([{ name: "orphaned", partitions: 2 }]);
    const options = { groupId: "survivors", topics: ["orphaned"] };
    const a = await member(t, broker, "a", options);
    const b = await member(t, broker, "b", options);
    assert.ok(await eventually(() => a.consumer.assignment().length === 1 && b.consumer.assignment().length === 1));
    // Closing b's connections stops its heartbeats without a LeaveGroup, as a killed process would.
    await b.client.close();
    assert.ok(
      await eventually(() => a.consumer.assignment().length === 2, 20_000),
      "a took over b's partition after the session timeout",
    );
    await produceMany(admin, "orphaned", 2, 10, "after");
    assert.ok(await eventually(() => new Set(a.seen).size === 10, 20_000), `a handled ${a.seen.length} of 10`);
  });

  test("a Sluice member and a kafkajs member share a group, on kafkajs's default assignor", async (t) => {
    const broker = await brokerForTest(t);
    const admin = clientFor(t, broker);
    await admin.admin.createTopics([{ name: "mixed", partitions: 4 }]);
    const native = await member(t, broker, "native", { groupId: "mixed-group", topics: ["mixed"] });
    const kafkajsSeen: string[] = [];
    const kafkajs = kafkaFor(broker).consumer({
      groupId: "mixed-group",
      sessionTimeout: 6_000,
      heartbeatInterval: 200,
      maxWaitTimeInMs: 100,
    });
    await kafkajs.connect();
    await kafkajs.subscribe({ topic: "mixed", fromBeginning: true });
    await kafkajs.run({ eachMessage: async ({ message }) => void kafkajsSeen.push(message.value!.toString()) });
    assert.ok(await eventually(() => native.consumer.assignment().length === 2, 20_000), "the partitions are shared");
    const [described] = await admin.admin.describeGroups(["mixed-group"]);
    assert.equal(described!.protocol, "RoundRobinAssigner");
    assert.equal(described!.members.length, 2);
    await produceMany(admin, "mixed", 4, 40, "m");
    const all = (): Set<string> => new Set([...native.seen, ...kafkajsSeen]);
    assert.ok(await eventually(() => all().size === 40, 20_000), `handled ${all().size} of 40`);
    assert.ok(native.seen.length > 0 && kafkajsSeen.length > 0, "both members handled records");
    await native.consumer.stop();
  });

  test("committed offsets survive a broker restart; a paused partition is not fetched until resumed", async (t) => {
    const dataDir = mkdtempSync(join(tmpdir(), "sluice-group-test-"));
    const first = await startBroker({ port: 0, dataDir, groupMinSessionTimeoutMs: 1000 });
    const firstClient = clientFor(t, first);
    await firstClient.admin.createTopics([{ name: "kept", partitions: 2 }]);
    await produceMany(firstClient, "kept", 2, 10, "before");
    const before = await member(t, first, "before", { groupId: "keepers", topics: ["kept"] });
    assert.ok(await eventually(() => before.seen.length === 10, 20_000));
    await before.consumer.stop();
    await firstClient.close();
    await before.client.close();
    await first.close();

    const second = await brokerForTest(t, { dataDir });
    // After-hooks run in the order they were added: the directory goes after the broker that uses it has closed.
    t.after(() => rmSync(dataDir, { recursive: true, force: true }));
    const client = clientFor(t, second);
    assert.deepEqual(
      (await client.admin.fetchGroupOffsets("keepers")).map((entry) => entry.offset),
      [5, 5],
    );
    await produceMany(client, "kept", 2, 4, "after");
    const after = await member(t, second, "after", { groupId: "keepers", topics: ["kept"] });
    after.consumer.pause("kept", 1);
    assert.ok(await eventually(() => after.seen.length === 2, 20_000));
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.deepEqual(after.seen.sort(), ["after-0", "after-2"], "only the committed-after records of partition 0");
    after.consumer.resume("kept", 1);
    assert.ok(await eventually(() => after.seen.length === 4, 20_000));
    assert.deepEqual(after.seen.sort(), ["after-0", "after-1", "after-2", "after-3"]);
    await after.consumer.stop();
  });

  test("an idle member's long fetch wait: a resumed partition cuts it short, records end it at once", async (t) => {
    const broker = await brokerForTest(t);
    const admin = clientFor(t, broker);
    await admin.admin.createTopics([{ name: "quiet", partitions: 2 }]);
    const quiet = await member(t, broker, "quiet", {
      groupId: "quiet-group",
      topics: ["quiet"],
      maxWaitMs: LONG_WAIT_BASE_MS,
      idleMaxWaitMs: 30_000,
    });
    assert.ok(await eventually(() => quiet.consumer.assignment().length === 2, 20_000));
    quiet.consumer.pause("quiet", 1);
    await produceMany(admin, "quiet", 2, 2, "early");
    assert.ok(await eventually(() => quiet.seen.length === 1, 20_000), "partition 0's record while 1 is paused");
    // The wait doubles from 100 ms while fetches come back empty: the fetch out after 8 s idle waits 6.4 s (from
    // about 6.3 s), so without the cut the resumed partition would wait at least 4.7 s more.
    await new Promise((resolve) => setTimeout(resolve, LONG_WAIT_IDLE_MS));
    quiet.consumer.resume("quiet", 1);
    assert.ok(
      await eventually(() => quiet.seen.includes("early-1"), LONG_WAIT_READ_MS),
      "the resumed partition is read at once",
    );
    await new Promise((resolve) => setTimeout(resolve, LONG_WAIT_IDLE_MS));
    await admin.produce({ topic: "quiet", partition: 0, records: [{ value: "busy" }] });
    assert.ok(
      await eventually(() => quiet.seen.includes("busy"), LONG_WAIT_READ_MS),
      "a record ends the long wait at once",
    );
    await quiet.consumer.stop();
  });

  test("a member joining during an idle member's long fetch wait: the rebalance completes and both read at once", async (t) => {
    const broker = await brokerForTest(t);
    const admin = clientFor(t, broker);
    await admin.admin.createTopics([{ name: "joined", partitions: 2 }]);
    const options = {
      groupId: "joined-group",
      topics: ["joined"],
      maxWaitMs: LONG_WAIT_BASE_MS,
      idleMaxWaitMs: 30_000,
    };
    const a = await member(t, broker, "a", options);
    assert.ok(await eventually(() => a.consumer.assignment().length === 2, 20_000));
    // As in the test above: after 8 s idle, a's fetch in flight waits 6.4 s, from about 6.3 s.
    await new Promise((resolve) => setTimeout(resolve, LONG_WAIT_IDLE_MS));
    const b = await member(t, broker, "b", options);
    assert.ok(
      await eventually(() => a.consumer.assignment().length === 1 && b.consumer.assignment().length === 1, 10_000),
      "the rebalance completed",
    );
    await produceMany(admin, "joined", 2, 2, "after");
    // a's new generation reads at once, whatever its old generation's long fetch still waits for.
    const everyone = (): Set<string> => new Set([...a.seen, ...b.seen]);
    assert.ok(
      await eventually(() => everyone().size === 2, LONG_WAIT_READ_MS),
      `read ${[...everyone()].join(", ")} of 2`,
    );
    assert.ok(a.seen.length === 1 && b.seen.length === 1, "each member read its partition");
    await a.consumer.stop();
    await b.consumer.stop();
  });

  test("an idle member heartbeats every idleHeartbeatIntervalMs; records bring it back to heartbeatIntervalMs", async (t) => {
    const broker = await brokerForTest(t);
    const admin = clientFor(t, broker);
    await admin.admin.createTopics([{ name: "sleepy", partitions: 1 }]);
    let heartbeats = 0;
    // A rule that matches nothing counts the group's heartbeats as the broker receives them.
    broker.injectFault({
      apiKey: HEARTBEAT,
      action: { kind: "delay", delayMs: 0 },
      match: (request) => {
        if ((request as { groupId: string }).groupId === "sleepy-group") heartbeats++;
        return false;
      },
    });
    const sleepy = await member(t, broker, "sleepy", {
      groupId: "sleepy-group",
      topics: ["sleepy"],
      sessionTimeoutMs: 10_000,
      heartbeatIntervalMs: 100,
      idleHeartbeatIntervalMs: 1_500,
      idleMaxWaitMs: 400,
    });
    // Idle from the first empty fetch (after 200 ms): about 3 heartbeats in 4 s, against 40 at heartbeatIntervalMs.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    heartbeats = 0;
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    assert.ok(heartbeats >= 1 && heartbeats <= 5, `${heartbeats} heartbeats in 4 s idle`);
    // A record makes the member busy again: the heartbeat due in up to 1.5 s goes out 100 ms after it instead.
    heartbeats = 0;
    await admin.produce({ topic: "sleepy", partition: 0, records: [{ value: "wake" }] });
    assert.ok(await eventually(() => sleepy.seen.includes("wake"), 6_000));
    assert.ok(await eventually(() => heartbeats >= 1, 1_000), "a heartbeat within 1 s of the record");
    await sleepy.consumer.stop();
  });

  test("a member joining while the others idle with far-apart heartbeats: the broker ends their fetches, they rejoin at once", async (t) => {
    const broker = await brokerForTest(t);
    const admin = clientFor(t, broker);
    await admin.admin.createTopics([{ name: "prompt", partitions: 2 }]);
    // Without an early end to its fetch, a would hear of the rebalance only from a heartbeat 20 s after its join.
    const options = {
      groupId: "prompt-group",
      topics: ["prompt"],
      sessionTimeoutMs: 60_000,
      heartbeatIntervalMs: 20_000,
      idleHeartbeatIntervalMs: 20_000,
      rebalanceTimeoutMs: 30_000,
      idleMaxWaitMs: 25_000,
    };
    const a = await member(t, broker, "a", options);
    assert.ok(await eventually(() => a.consumer.assignment().length === 2, 20_000));
    // a's fetch waits grow 200, 400, 800, 1,600 ms: one is in flight now, with seconds to go.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    // b's start resolves once its first join completes, which waits for a to rejoin.
    const joining = member(t, broker, "b", options);
    // Awaited below; a failed assertion first must not leave its rejection unhandled.
    joining.catch(() => undefined);
    assert.ok(
      await eventually(() => a.consumer.assignment().length === 1, 8_000),
      "the rebalance completed long before a's next heartbeat was due",
    );
    const b = await joining;
    assert.equal(b.consumer.assignment().length, 1);
    await a.consumer.stop();
    await b.consumer.stop();
  });

  test("refused input: bad options name the option; a refused group carries the broker's reason", async (t) => {
    const users = { admin: "admin-secret", bob: "bob-secret" };
    const broker = await brokerForTest(t, {
      sasl: { mechanisms: ["PLAIN"], users },
      authorizer: { superUsers: ["User:admin"], allowEveryoneIfNoAclFound: false },
    });
    const client = clientFor(t, broker, { sasl: { mechanism: "PLAIN", username: "bob", password: users.bob } });
    assert.throws(
      () => client.groupConsumer({ groupId: "", topics: ["t"] }),
      (error: unknown) => error instanceof KafkaConfigError && error.field === "groupId",
    );
    assert.throws(
      () => client.groupConsumer({ groupId: "g", topics: [] }),
      (error: unknown) => error instanceof KafkaConfigError && error.field === "topics",
    );
    assert.throws(
      () => client.groupConsumer({ groupId: "g", topics: ["t"], sessionTimeoutMs: 1000, heartbeatIntervalMs: 1000 }),
      (error: unknown) => error instanceof KafkaConfigError && error.field === "heartbeatIntervalMs",
    );
    assert.throws(
      () => client.groupConsumer({ groupId: "g", topics: ["t"], assignors: ["sticky" as "range"] }),
      (error: unknown) => error instanceof KafkaConfigError && error.field === "assignors",
    );
    const consumer = client.groupConsumer({ groupId: "forbidden", topics: ["t"] });
    await assert.rejects(
      consumer.start({ eachBatch: async () => undefined }),
      (error: unknown) =>
        error instanceof KafkaBrokerError &&
        error.errorName === "GROUP_AUTHORIZATION_FAILED" &&
        /finding group forbidden needs DESCRIBE on it/.test(error.message),
    );
    assert.throws(() => consumer.start({ eachBatch: async () => undefined }), /started already/);
  });
});
