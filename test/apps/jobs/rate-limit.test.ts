// The jobs gateway's rate limit per client, on a real gateway server: a burst is served, what goes past it is
// refused with 429 and Retry-After, and the bucket refills with time.

import assert from "node:assert/strict";
import { test } from "node:test";

import { createRateLimiter, rateLimiterFromEnv } from "../../../src/apps/jobs/rate-limit.js";
import { createGateway } from "../../../src/gateway/server.js";
import { silent } from "../../cli/up/harness.js";

test("a client past its burst gets 429 with Retry-After until the bucket refills", async (t) => {
  // One request a second after a burst of five: twelve requests at once cannot all refill in time.
  const limiter = createRateLimiter(1, 5);
  const gateway = await createGateway({ port: 0, logger: silent, collectProcessMetrics: false });
  await gateway.register(async (app) => {
    app.addHook("onRequest", (request, reply) => limiter.onRequest(request, reply));
    app.get("/api/jobs", async () => ({ ok: true }));
  });
  const url = await gateway.listen();
  t.after(() => gateway.close());

  const responses = await Promise.all(Array.from({ length: 12 }, () => fetch(`${url}/api/jobs`)));
  const statuses = responses.map((response) => response.status);
  const served = statuses.filter((status) => status === 200).length;
  assert.ok(served >= 5, `the burst of five is served: ${statuses.join(", ")}`);
  assert.ok(served < 12, `and what goes past it is refused: ${statuses.join(", ")}`);
  const refused = responses.find((response) => response.status === 429);
  assert.equal(refused?.headers.get("retry-after"), "1");
  assert.equal(((await refused?.json()) as { error: string }).error, "SLUICE_LIMIT_EXCEEDED");

  await new Promise((resolve) => setTimeout(resolve, 1_100));
  assert.equal((await fetch(`${url}/api/jobs`)).status, 200, "the bucket refilled");
});

test("the limit's settings are read from the environment, and off turns it off", () => {
  assert.equal(rateLimiterFromEnv({ JOBS_RATE_LIMIT_PER_SECOND: "off" }), null);
  const limiter = rateLimiterFromEnv({ JOBS_RATE_LIMIT_PER_SECOND: "50" });
  assert.deepEqual([limiter?.perSecond, limiter?.burst], [50, 100]);
  assert.throws(() => rateLimiterFromEnv({ JOBS_RATE_LIMIT_BURST: "-3" }), /JOBS_RATE_LIMIT_BURST must be a positive/);
});
