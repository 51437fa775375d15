// The users service's consumer killed mid-batch: its process dies after the database committed a batch of post
// counts but before their offsets were committed, so the next consumer of the group gets those events again; the
// author's postCount still counts every post exactly once.

import assert from "node:assert/strict";
import { test } from "node:test";

import { wordiumMigrations } from "../../../src/apps/wordium/app.js";
import { postCreatedTopic, type PostCreated } from "../../../src/apps/wordium/topics.js";
import { createUsersConsumer, USERS_CONSUMER_GROUP } from "../../../src/apps/wordium/users-service.js";
import { openDatabase, runMigrations } from "../../../src/store/index.js";
import { encodeEvent, ensureTopics, newEventId } from "../../../src/toolkit/index.js";
import { brokerForTest, eventually, kafkaFor } from "../../helpers/broker.js";
import { sharedPgliteSnapshot } from "../../store/harness.js";
import { FAST_GROUP, toolkitClientFor } from "../../toolkit/consumer-support.js";

const POSTS = 20;
const CRASH_AFTER = 8;

test(
  "a users consumer killed between its commit and its offset commit counts every post once",
  { timeout: 120_000 },
  async (t) => {
    const broker = await brokerForTest(t);
    const client = toolkitClientFor(broker);
    const base = await openDatabase({ pgliteSnapshot: await sharedPgliteSnapshot() });
    t.after(() => base.close());
    const db = base.withSchema("wordium_users");
    await runMigrations(db);
    for (const migrations of wordiumMigrations("users")) await runMigrations(db, migrations);
    await ensureTopics(client, [{ name: postCreatedTopic.name, partitions: postCreatedTopic.partitions }]);

    const authorId = newEventId();
    const producer = kafkaFor(broker).producer();
    await producer.connect();
    const messages = [];
    for (let i = 0; i < POSTS; i += 1) {
      const post: PostCreated = {
        postId: newEventId(),
        authorId,
        author: "grace",
        title: `Post ${i}`,
        excerpt: "",
        createdAt: new Date().toISOString(),
      };
      const event = await encodeEvent(postCreatedTopic, post);
      messages.push({ key: event.key, value: event.value, headers: event.headers });
    }
    await producer.send({ topic: postCreatedTopic.name, messages });

    let handled = 0;
    const doomed = createUsersConsumer({
      client,
      db,
      ...FAST_GROUP,
      hooks: {
        at: (context) => {
          if (context.point !== "after-commit") return;
          handled += 1;
          if (handled === CRASH_AFTER) throw new Error("the consumer's process died after its database commit");
        },
      },
    });
    await doomed.start();
    await doomed.whenStopped();
    assert.equal(doomed.state, "crashed");
    const countNow = async (): Promise<number> => {
      const { rows } = await db.query<{ post_count: string }>("SELECT post_count FROM post_counts WHERE user_id = $1", [
        authorId,
      ]);
      return Number(rows[0]?.post_count ?? 0);
    };
    assert.ok((await countNow()) >= CRASH_AFTER, "the crashed consumer's events were committed to the database");
    const admin = kafkaFor(broker).admin();
    await admin.connect();
    const committedOffset = async (): Promise<number> => {
      const [offsets] = await admin.fetchOffsets({ groupId: USERS_CONSUMER_GROUP, topics: [postCreatedTopic.name] });
      return (offsets?.partitions ?? []).reduce((sum, partition) => sum + Math.max(0, Number(partition.offset)), 0);
    };
    assert.ok((await committedOffset()) < POSTS, "some committed events' offsets were not, so they come again");

    const successor = createUsersConsumer({ client, db, ...FAST_GROUP });
    t.after(() => successor.stop());
    await successor.start();
    assert.ok(await eventually(async () => (await committedOffset()) === POSTS, 30_000, 50), "the successor caught up");
    assert.equal(await countNow(), POSTS, "every post counted exactly once, the redelivered ones too");
    const counted = await db.query("SELECT 1 FROM counted_posts WHERE author_id = $1", [authorId]);
    assert.equal(counted.rowCount, POSTS);
  },
);
