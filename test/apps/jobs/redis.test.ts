// The jobs board's cache and sessions: in Redis with REDIS_URL (a server of the test's own), in the process
// without it, and a Redis that stops mid-test, which turns cached reads into uncached ones and never into errors.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";

import { jobsForTest, redisForTest, register, request, waitFor, type Account } from "./harness.js";

function redisKeys(url: string, pattern: string): string[] {
  const port = new URL(url).port;
  const scan = spawnSync("redis-cli", ["-p", port, "--scan", "--pattern", pattern], { encoding: "utf8" });
  return scan.stdout.split("\n").filter((line) => line !== "");
}

async function listing(url: string): Promise<{ cache: string | null; count: number }> {
  const response = await request(`${url}/api/jobs/`);
  assert.equal(response.status, 200, JSON.stringify(response.body));
  return { cache: response.headers.get("x-cache"), count: (response.body as { count: number }).count };
}

async function postJob(url: string, employer: Account, title: string): Promise<number> {
  const response = await request(`${url}/api/jobs/`, { headers: employer.headers, json: { title, description: "x" } });
  return response.status;
}

test(
  "with REDIS_URL the listing cache and the sessions live in Redis, and survive its outage",
  { timeout: 120_000 },
  async (t) => {
    const redis = await redisForTest(t);
    if (redis === null) return;
    const board = await jobsForTest(t, { REDIS_URL: redis.url });
    const url = board.url;
    const employer = await register(url, "ella", "employer");
    assert.equal(redisKeys(redis.url, "jobs:session:*").length, 1, "the refresh token's session is in Redis");

    assert.deepEqual(await listing(url), { cache: "miss", count: 0 });
    assert.deepEqual(await listing(url), { cache: "hit", count: 0 });
    assert.equal(redisKeys(redis.url, "jobs:listing:*").length, 1, "the cached listing is in Redis");
    assert.equal(await postJob(url, employer, "Welder"), 201);
    assert.deepEqual(await listing(url), { cache: "miss", count: 1 }, "the new job invalidated the cached listing");
    // The job's event invalidates the listing once more when the jobs service consumes it, which may come between
    // two reads; after that the listing is served from Redis again.
    await waitFor("the listing is cached again", async () => {
      const read = await listing(url);
      return read.cache === "hit" && read.count === 1;
    });

    const refreshed = await request(`${url}/api/users/token/refresh/`, { json: { refresh: employer.refresh } });
    assert.equal(refreshed.status, 200);
    assert.equal(typeof (refreshed.body as { access: string }).access, "string");

    await redis.stop();
    assert.deepEqual(await listing(url), { cache: "miss", count: 1 }, "an outage reads uncached");
    assert.deepEqual(await listing(url), { cache: "miss", count: 1 });
    assert.equal(await postJob(url, employer, "Plumber"), 201, "writes go on");
    assert.deepEqual(await listing(url), { cache: "miss", count: 2 });
    const health = await request(`${url}/health/`);
    assert.equal(health.status, 200, "an outage degrades the services without making them unhealthy");
    const jobsState = (health.body as { services: Record<string, { cache: string }> }).services.jobs;
    assert.equal(jobsState?.cache, "redis down");
    const refreshDuringOutage = await request(`${url}/api/users/token/refresh/`, {
      json: { refresh: employer.refresh },
    });
    assert.equal(refreshDuringOutage.status, 503, "a session that cannot be checked is a clear, retryable error");
    assert.equal((refreshDuringOutage.body as { error: string }).error, "SLUICE_UNAVAILABLE");
    const login = await request(`${url}/api/users/login/`, { json: { username: "ella", password: "secret123" } });
    assert.equal(login.status, 200, "signing in works without Redis");
    assert.equal((login.body as { refresh: string | null }).refresh, null, "but gives no refresh token");

    await redis.start();
    await waitFor("the cache is back", async () => (await listing(url)).cache === "hit", 15_000);
    // The restarted server kept nothing; sessions from before the outage are gone and say so.
    const stale = await request(`${url}/api/users/token/refresh/`, { json: { refresh: employer.refresh } });
    assert.equal(stale.status, 401);
  },
);

test(
  "without REDIS_URL the cache and sessions are in the process; logout revokes the refresh token",
  { timeout: 120_000 },
  async (t) => {
    const board = await jobsForTest(t);
    const url = board.url;
    const employer = await register(url, "ezra", "employer");
    assert.deepEqual(await listing(url), { cache: "miss", count: 0 });
    assert.deepEqual(await listing(url), { cache: "hit", count: 0 });
    const jobsState = ((await request(`${url}/health/`)).body as { services: Record<string, { cache: string }> })
      .services.jobs;
    assert.equal(jobsState?.cache, "in-process");

    assert.equal(
      (await request(`${url}/api/users/token/refresh/`, { json: { refresh: employer.refresh } })).status,
      200,
    );
    assert.equal((await request(`${url}/api/users/logout/`, { json: { refresh: employer.refresh } })).status, 200);
    const afterLogout = await request(`${url}/api/users/token/refresh/`, { json: { refresh: employer.refresh } });
    assert.equal(afterLogout.status, 401);
    assert.equal((afterLogout.body as { error: string }).error, "SLUICE_UNAUTHORIZED");
  },
);
