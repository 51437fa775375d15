// A database failure in a Wordium consumer: the users service's profiles table is taken away on the PostgreSQL
// server while a signup arrives, so the handler fails; the toolkit retries it with backoff (through the retry
// topic), and once the table is back the retry succeeds and the profile appears, once.

import assert from "node:assert/strict";
import { test } from "node:test";

import pg from "pg";

import { userSignedUpTopic } from "../../../src/apps/wordium/topics.js";
import { eventually, kafkaFor } from "../../helpers/broker.js";
import { profileOnceConsumed, request, serverDatabaseFlags, signup, startWordium } from "./harness.js";

test(
  "a database failure in the users consumer is retried with backoff, then succeeds",
  { timeout: 180_000 },
  async (t) => {
    const database = await serverDatabaseFlags(t);
    if (database === null) return;
    const wordium = await startWordium(t, { flags: database });
    const databaseUrl = database[1] as string;
    const onServer = async (sql: string) => {
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      try {
        await client.query(sql);
      } finally {
        await client.end();
      }
    };
    await onServer("ALTER TABLE wordium_users.profiles RENAME TO profiles_away");
    const failedAt = Date.now();
    const ada = await signup(wordium.url, "ada");

    const admin = kafkaFor({ address: wordium.kafka }).admin();
    await admin.connect();
    t.after(() => admin.disconnect());
    const retryTopic = `${userSignedUpTopic.name}.retry.1`;
    const retried = await eventually(
      async () => {
        const offsets = await admin.fetchTopicOffsets(retryTopic).catch(() => []);
        return offsets.some((partition) => partition.high !== "0");
      },
      30_000,
      100,
    );
    assert.ok(retried, "the failed signup went to the first retry topic");
    await onServer("ALTER TABLE wordium_users.profiles_away RENAME TO profiles");

    const profile = await profileOnceConsumed(wordium.url, "ada");
    assert.equal(profile.userId, ada.user.id);
    assert.ok(Date.now() - failedAt >= 1_000, "the retry waited for its backoff (1 s at first)");
    const dead = await admin.fetchTopicOffsets(`${userSignedUpTopic.name}.dlt`).catch(() => []);
    assert.ok(
      dead.every((partition) => partition.high === "0"),
      "nothing was given up on",
    );
    assert.equal((await request(`${wordium.url}/api/users/ada`)).status, 200);
  },
);
