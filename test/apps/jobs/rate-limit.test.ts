// The jobs gateway's rate limit per client, on a real gateway server: a burst is served, what goes past it is
// refused with 429 and Retry-After, and the bucket refills with time.

import assert from "node:assert/strict";
import { test } from "node:test";

import { createRateLimiter, rateLimiterFromEnv } from "../../../src/apps/jobs/rate-limit.js";
import { createGateway } from "../../../src/gateway/server.js";
import { silent } from "../../cli/up/harness.js";

test("a client past its burst gets 429 with Retry-After until the bucket refills", async (t) => {
  const limiter = createRateLimiter(20, 5);
  const gateway = await createGateway({ port: 0, logger: silent, collectProcessMetrics: false });
  await gateway.register(async (app) => {
    app.addHook("onRequest", (request, reply) => limiter.onRequest(request, reply));
    app.get("/api/jobs", async () => ({ ok: true }));
  });
  const url = await gateway.listen();
  t.after(() => gateway.close());

  const statuses: number[] = [];
  let refused: Response | null = null;
  for (let index = 0; index < 8; index++) {
    const response = await fetch(`${url}/api/jobs`);
    statuses.push(response.status);
    if (response.status === 429) refused ??= response;
    else await response.arrayBuffer();
  }
  assert.deepEqual(statuses.slice(0, 5), [200, 200, 200, 200, 200], "the burst is served");
  assert.ok(statuses.slice(5).includes(429), `past the burst some are refused: ${statuses.join(", ")}`);
  assert.equal(refused?.headers.get("retry-after"), "1");
  assert.equal(((await refused?.json()) as { error: string }).error, "SLUICE_LIMIT_EXCEEDED");

  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal((await fetch(`${url}/api/jobs`)).status, 200, "the bucket refilled (20 a second)");
});

test("the limit's settings are read from the environment, and off turns it off", () => {
  assert.equal(rateLimiterFromEnv({ JOBS_RATE_LIMIT_PER_SECOND: "off" }), null);
  const limiter = rateLimiterFromEnv({ JOBS_RATE_LIMIT_PER_SECOND: "50" });
  assert.deepEqual([limiter?.perSecond, limiter?.burst], [50, 100]);
  assert.throws(() => rateLimiterFromEnv({ JOBS_RATE_LIMIT_BURST: "-3" }), /JOBS_RATE_LIMIT_BURST must be a positive/);
});
