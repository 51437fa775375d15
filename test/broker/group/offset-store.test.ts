// The committed-offset store and the group log on their own: what a commit accepts or refuses per partition, what
// reaches the log (read back by replaying it into a fresh store), OffsetDelete's refusal of consumed topics, and
// expiry past the retention.

import assert from "node:assert/strict";
import { test, type TestContext } from "node:test";
import pino from "pino";

import { ConsumerGroup } from "../../../src/broker/group/group.js";
import { defaultGroupLimits } from "../../../src/broker/group/limits.js";
import { CommittedOffsets } from "../../../src/broker/group/offsets.js";
import { OffsetStore } from "../../../src/broker/group/offset-store.js";
import { GroupPersistence } from "../../../src/broker/group/persistence.js";
import type { CommitOffsetInput } from "../../../src/broker/group/types.js";
import { ErrorCode } from "../../../src/kafka/protocol/error-codes.js";
import { temporaryDir } from "../../helpers/environment.js";

const LOGGER = pino({ level: "silent" });
const TOPICS = new Map([["orders", 2]]);
const NOW_MS = 1_700_000_000_000;
const DAY_MS = 24 * 60 * 60 * 1000;

interface Opened {
  groups: Map<string, ConsumerGroup>;
  offsets: CommittedOffsets;
  persistence: GroupPersistence;
  store: OffsetStore;
}

/** A store whose log lives in dataDir, loaded from whatever an earlier store left there. */
async function openStore(t: TestContext, dataDir: string): Promise<Opened> {
  const groups = new Map<string, ConsumerGroup>();
  const offsets = new CommittedOffsets();
  const persistence = new GroupPersistence(groups, offsets);
  persistence.attach(await persistence.load(dataDir, { compactBytesMin: 1 << 20, logger: LOGGER }));
  t.after(() => persistence.close());
  const store = new OffsetStore({
    offsets,
    persistence,
    limits: { ...defaultGroupLimits(), offsetMetadataBytesMax: 16 },
    logger: LOGGER,
    partitionCount: (topic) => TOPICS.get(topic),
  });
  return { groups, offsets, persistence, store };
}

function offset(partition: number, value: number, extra: Partial<CommitOffsetInput> = {}): CommitOffsetInput {
  return { topic: "orders", partition, offset: value, leaderEpoch: -1, metadata: null, ...extra };
}

test("a commit stores what it can, refuses the rest per partition, and the log replays what it stored", async (t) => {
  const dataDir = temporaryDir(t);
  const first = await openStore(t, dataDir);
  const errors = first.store.commit(
    {
      groupId: "billing",
      generationId: -1,
      memberId: "",
      groupInstanceId: null,
      offsets: [
        offset(0, 41),
        offset(1, 7, { metadata: "m".repeat(17) }),
        offset(2, 1),
        { ...offset(0, 3), topic: "unknown" },
        offset(1, 9, { commitTimestampMs: NOW_MS - 5 }),
      ],
    },
    NOW_MS,
  );
  assert.deepEqual(
    errors.map((error) => error.errorCode),
    [
      ErrorCode.NONE,
      ErrorCode.OFFSET_METADATA_TOO_LARGE,
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      ErrorCode.NONE,
    ],
  );
  await first.persistence.sync();
  await first.persistence.close();

  const second = await openStore(t, dataDir);
  assert.deepEqual(second.store.committed("billing"), [
    {
      topic: "orders",
      partition: 0,
      committed: { offset: 41, leaderEpoch: -1, metadata: null, commitTimestampMs: NOW_MS },
    },
    {
      topic: "orders",
      partition: 1,
      committed: { offset: 9, leaderEpoch: -1, metadata: null, commitTimestampMs: NOW_MS - 5 },
    },
  ]);
  assert.ok(second.groups.has("billing"), "replaying an offset brings back its group");
  assert.deepEqual(
    second.store.fetch("billing", [
      { topic: "orders", partitions: [0, 1] },
      { topic: "x", partitions: [0] },
    ]),
    [
      {
        topic: "orders",
        partitions: [
          { partition: 0, offset: 41, leaderEpoch: -1, metadata: null, errorCode: ErrorCode.NONE },
          { partition: 1, offset: 9, leaderEpoch: -1, metadata: null, errorCode: ErrorCode.NONE },
        ],
      },
      {
        topic: "x",
        partitions: [{ partition: 0, offset: -1, leaderEpoch: -1, metadata: "", errorCode: ErrorCode.NONE }],
      },
    ],
  );
});

test("OffsetDelete refuses consumed topics, forgets the rest, and the log remembers the deletion", async (t) => {
  const dataDir = temporaryDir(t);
  const first = await openStore(t, dataDir);
  first.store.commit(
    { groupId: "g", generationId: -1, memberId: "", groupInstanceId: null, offsets: [offset(0, 1), offset(1, 2)] },
    NOW_MS,
  );
  const consumed = first.store.delete("g", [{ topic: "orders", partitions: [0] }], () => true);
  assert.deepEqual(consumed, [
    { topic: "orders", partitions: [{ partition: 0, errorCode: ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC }] },
  ]);
  const deleted = first.store.delete("g", [{ topic: "orders", partitions: [0, 5] }], () => false);
  assert.deepEqual(deleted, [
    {
      topic: "orders",
      partitions: [
        { partition: 0, errorCode: ErrorCode.NONE },
        { partition: 5, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION },
      ],
    },
  ]);
  await first.persistence.sync();
  await first.persistence.close();
  const second = await openStore(t, dataDir);
  assert.deepEqual(
    second.store.committed("g").map((entry) => entry.partition),
    [1],
  );
});

test("an empty group's offsets expire a retention after the later of its emptiness and their commit", async (t) => {
  const { store } = await openStore(t, temporaryDir(t));
  store.commit(
    {
      groupId: "g",
      generationId: -1,
      memberId: "",
      groupInstanceId: null,
      offsets: [offset(0, 1, { commitTimestampMs: NOW_MS - 3 * DAY_MS }), offset(1, 2, { commitTimestampMs: NOW_MS })],
    },
    NOW_MS,
  );
  const group = new ConsumerGroup("g");
  group.emptySinceMs = NOW_MS - 2 * DAY_MS;
  assert.equal(store.expire(group, NOW_MS, 3 * DAY_MS), 0, "empty for two days only: nothing is old enough");
  assert.equal(
    store.expire(group, NOW_MS + DAY_MS, 3 * DAY_MS),
    1,
    "the old commit goes once the group is empty long enough",
  );
  assert.deepEqual(
    store.committed("g").map((entry) => entry.partition),
    [1],
  );
  assert.equal(store.hasGroup("g"), true);
});

test("a snapshot replayed into fresh state rebuilds the same groups and offsets", async (t) => {
  const { groups, persistence, store } = await openStore(t, temporaryDir(t));
  store.commit(
    { groupId: "a", generationId: -1, memberId: "", groupInstanceId: null, offsets: [offset(0, 5)] },
    NOW_MS,
  );
  const b = new ConsumerGroup("b");
  b.protocolType = "consumer";
  b.generationId = 4;
  groups.set("a", new ConsumerGroup("a"));
  groups.set("b", b);

  const rebuiltGroups = new Map<string, ConsumerGroup>();
  const rebuiltOffsets = new CommittedOffsets();
  const rebuilt = new GroupPersistence(rebuiltGroups, rebuiltOffsets);
  for (const record of persistence.snapshot()) rebuilt.replay(record);
  assert.deepEqual(rebuilt.snapshot(), persistence.snapshot());
  assert.equal(rebuiltGroups.get("b")?.generationId, 4);
  assert.equal(rebuiltOffsets.get("a", "orders", 0)?.offset, 5);

  rebuilt.replay({ kind: "group-deleted", groupId: "a" });
  assert.equal(rebuiltGroups.has("a"), false);
  assert.equal(rebuiltOffsets.hasGroup("a"), false, "a deleted group takes its offsets with it");
});
