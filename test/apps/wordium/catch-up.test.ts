// The posts service keeps accepting posts while the users and notifications services are down, and they catch up
// from the topics when they start: in one data directory with PGlite (the roles started again with the rest), and
// as separate `--only` processes' worth of roles against a PostgreSQL server, each with its own database.

import assert from "node:assert/strict";
import { test } from "node:test";

import { TestClient } from "../../gateway/websocket/fixture.js";
import { bearer, profileOnceConsumed, request, serverDatabaseFlags, signup, startWordium } from "./harness.js";

const TIMEOUT_MS = 180_000;
const WRITING_ROLES = ["wordium-auth", "wordium-posts"];
const CONSUMING_ROLES = ["wordium-users", "wordium-notifications"];

test(
  "posts are accepted while the users service is down, and counted when it starts",
  { timeout: TIMEOUT_MS },
  async (t) => {
    const writing = await startWordium(t, { roles: WRITING_ROLES });
    const grace = await signup(writing.url, "grace");
    for (const title of ["One", "Two", "Three"]) {
      const posted = await request(`${writing.url}/api/posts`, {
        json: { title, body: `${title} body` },
        headers: bearer(grace.token),
      });
      assert.equal(posted.status, 202, JSON.stringify(posted.body));
    }
    const listed = (await request(`${writing.url}/api/posts?author=grace`)).body as { posts: unknown[] };
    assert.equal(listed.posts.length, 3, "the posts service serves its posts on its own");
    const noProfiles = await request(`${writing.url}/api/users/grace`);
    assert.equal(noProfiles.status, 404, "no users service runs here");
    await writing.system.stop();

    const everything = await startWordium(t, { dataDir: writing.dataDir });
    const profile = await profileOnceConsumed(everything.url, "grace", (p) => p.postCount === 3);
    assert.equal(profile.userId, grace.user.id);
  },
);

test(
  "separate roles against a PostgreSQL server: the consumers start late and catch up, live notifications cross processes",
  { timeout: TIMEOUT_MS },
  async (t) => {
    const database = await serverDatabaseFlags(t);
    if (database === null) return;
    const shared = [...database, "--jwt-secret", "a shared secret of thirty-two characters or more"];

    const writing = await startWordium(t, { roles: WRITING_ROLES, flags: shared });
    const ada = await signup(writing.url, "ada");
    const grace = await signup(writing.url, "grace");
    const posted = await request(`${writing.url}/api/posts`, {
      json: { title: "Written while the users service was down", body: "And still counted." },
      headers: bearer(grace.token),
    });
    assert.equal(posted.status, 202);

    const consuming = await startWordium(t, {
      roles: CONSUMING_ROLES,
      broker: false,
      flags: [...shared, "--kafka-brokers", writing.kafka],
    });
    const profile = await profileOnceConsumed(consuming.url, "grace", (p) => p.postCount === 1);
    assert.equal(profile.userId, grace.user.id);
    await profileOnceConsumed(consuming.url, "ada");

    // grace watches her notifications on the writing process's gateway; ada follows her through the other.
    const socket = await TestClient.open(t, writing.ws, ["sluice.v1", `sluice.token.${grace.token}`]);
    await socket.subscribe({ topic: "user-notifications", key: grace.user.id });
    const follow = await request(`${consuming.url}/api/users/grace/follow`, {
      method: "POST",
      headers: bearer(ada.token),
    });
    assert.equal(follow.status, 200, JSON.stringify(follow.body));
    const [followed] = await socket.waitForEvents("user-notifications", 1, 30_000);
    assert.equal((followed?.value as { actor: string }).actor, "ada");
  },
);
