// The message board's group commit over real HTTP, on PGlite and on the PostgreSQL server: posts that arrive together
// share transactions, a post refused for its own reason (a changed repost of an id, in the same group or an earlier
// one) fails alone, and every accepted post is stored once.

import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test, type TestContext } from "node:test";

import { adminQuery, SERVER_URL, requirePostgresServer, uniqueSchemaName } from "../../store/harness.js";
import { boardForTest, request, waitUntilStored, type MessageBody } from "./harness.js";

/** Long enough that posts sent together land in one group even on a loaded machine. */
const WAIT_MS = 50;
const POSTS = 40;

/** The flags for one database kind; null when the server is not reachable (the test is then skipped). */
async function databaseFlags(t: TestContext, kind: "pglite" | "postgres"): Promise<string[] | null> {
  const common = ["--apps", "messages", "--group-commit-wait-ms", String(WAIT_MS), "--log-level", "warn"];
  if (kind === "pglite") return common;
  if (!(await requirePostgresServer(t))) return null;
  const schema = uniqueSchemaName();
  t.after(() => adminQuery(`DROP SCHEMA IF EXISTS ${schema} CASCADE`));
  return [...common, "--database-url", SERVER_URL, "--database-schema", schema];
}

/** The message board's group commit counters (process-wide: every system a test process starts adds to them). */
async function groupMetrics(url: string): Promise<{ groups: number; items: number }> {
  const metrics = await (await fetch(`${url}/metrics`)).text();
  const read = (name: string): number =>
    Number(new RegExp(`^sluice_group_commit_${name}_total\\{name="messages"\\} (\\d+)`, "m").exec(metrics)?.[1] ?? 0);
  return { groups: read("groups"), items: read("items") };
}

for (const kind of ["pglite", "postgres"] as const) {
  test(
    `posts sent together are accepted in groups, and a bad one fails alone [${kind}]`,
    { timeout: 180_000 },
    async (t) => {
      const flags = await databaseFlags(t, kind);
      if (flags === null) return;
      const { url } = await boardForTest(t, { flags });

      const earlierId = randomUUID();
      assert.equal(
        (await request(`${url}/api/messages`, { json: { id: earlierId, text: "the original" } })).status,
        202,
      );

      // One batch of concurrent posts: most are new; one changes the text of the earlier post (409); one id is sent
      // twice with different text (the first is accepted, the second refused); one id twice with the same text
      // (both accepted, stored once).
      const before = await groupMetrics(url);
      const clashId = randomUUID();
      const retryId = randomUUID();
      const posts: Array<{ id: string; text: string; expect: number }> = Array.from({ length: POSTS }, (_, index) => ({
        id: randomUUID(),
        text: `post ${index}`,
        expect: 202,
      }));
      posts.splice(5, 0, { id: earlierId, text: "a different text", expect: 409 });
      posts.splice(10, 0, { id: clashId, text: "first of the clash", expect: 202 });
      posts.splice(11, 0, { id: clashId, text: "second of the clash", expect: 409 });
      posts.splice(20, 0, { id: retryId, text: "a retry", expect: 202 });
      posts.splice(21, 0, { id: retryId, text: "a retry", expect: 202 });
      const answers = await Promise.all(
        posts.map((post) => request(`${url}/api/messages`, { json: { id: post.id, text: post.text } })),
      );
      for (const [index, post] of posts.entries()) {
        const answer = answers[index];
        assert.equal(answer?.status, post.expect, `${post.text}: ${JSON.stringify(answer?.body)}`);
        if (post.expect === 409) {
          assert.equal((answer?.body as { error: string }).error, "SLUICE_CONFLICT");
          assert.equal((answer?.body as { field: string }).field, "id");
        }
      }

      const acceptedIds = [...new Set(posts.filter((post) => post.expect === 202).map((post) => post.id))];
      const stored = await waitUntilStored(url, [earlierId, ...acceptedIds], 120_000);
      const byId = new Map<string, MessageBody[]>();
      for (const message of stored) byId.set(message.id, [...(byId.get(message.id) ?? []), message]);
      assert.equal(byId.get(earlierId)?.[0]?.text, "the original");
      assert.equal(byId.get(clashId)?.[0]?.text, "first of the clash");
      assert.equal(byId.get(retryId)?.length, 1, "a retry inside one group is stored once");
      assert.equal(stored.length, acceptedIds.length + 1, "nothing refused was stored");

      // The group commit's transactions held several posts each: the metrics count groups and their posts.
      const after = await groupMetrics(url);
      const items = after.items - before.items;
      const groups = after.groups - before.groups;
      assert.equal(items, posts.length);
      assert.ok(groups < items / 2, `${items} posts took ${groups} transactions`);
    },
  );
}
