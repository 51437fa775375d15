import assert from "node:assert/strict";
import { createServer, connect, type AddressInfo, type Socket } from "node:net";
import { Writable } from "node:stream";
import { test, type TestContext } from "node:test";

import { Type } from "@sinclair/typebox";
import { pino } from "pino";
import { Registry } from "prom-client";

import { createGateway, type Gateway, type GatewayOptions } from "../../src/gateway/server.js";
import { GatewayError, GatewayErrorCode, validationFailed } from "../../src/gateway/errors.js";
import { defineTopic } from "../../src/toolkit/topic.js";
import { storeTest } from "../store/harness.js";

const silent = pino({ level: "silent" });

/** A gateway on its own metrics registry, closed after the test. */
async function gatewayFor(t: TestContext, options: GatewayOptions = {}): Promise<Gateway> {
  const gateway = await createGateway({ logger: silent, metricsRegistry: new Registry(), port: 0, ...options });
  t.after(() => gateway.close());
  return gateway;
}

/** A pino logger whose JSON lines are kept for the test to read. */
function capturedLogger(): { logger: pino.Logger; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString("utf8"));
      callback();
    },
  });
  const logger = pino({ level: "debug" }, stream);
  const lines = (): Record<string, unknown>[] =>
    chunks
      .join("")
      .split("\n")
      .filter((line) => line !== "")
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  return { logger, lines };
}

test("an unknown route answers 404 with the catalogue's JSON error", async (t) => {
  const gateway = await gatewayFor(t);
  const response = await gateway.app.inject({ method: "GET", url: "/no/such/page?x=1" });
  assert.equal(response.statusCode, 404);
  assert.match(response.headers["content-type"] as string, /^application\/json/);
  assert.deepEqual(response.json(), { error: "SLUICE_NOT_FOUND", message: "there is no GET /no/such/page here" });

  const post = await gateway.app.inject({ method: "POST", url: "/healthz", payload: {} });
  assert.equal(post.statusCode, 404);
  assert.equal(post.json().error, "SLUICE_NOT_FOUND");
});

test("malformed URLs get 400 JSON errors before routing", async (t) => {
  const gateway = await gatewayFor(t);
  await gateway.register(async (app) => {
    app.get("/items/:id", async () => ({ ok: true }));
  });
  for (const url of ["/%zz", "/items/%zz", `/items/${"x".repeat(500)}`]) {
    const response = await gateway.app.inject({ method: "GET", url });
    assert.equal(response.statusCode, 400, url);
    assert.equal(response.json().error, "SLUICE_BAD_REQUEST", url);
    assert.ok(response.body.length < 200, "the message does not echo the whole URL");
  }
});

test("malformed percent-encoding in the query string gets the same 400 as in the path", async (t) => {
  const gateway = await gatewayFor(t);
  await gateway.register(async (app) => {
    app.get("/items/:id", async (request) => ({ query: request.query }));
  });
  const inPath = await gateway.app.inject({ method: "GET", url: "/items/%E0%A4" });
  for (const url of ["/items/1?data=%E0%A4", "/items/1?ok=1&data=%zz", "/items/1?%E0=x", "/items/1?data=%"]) {
    const response = await gateway.app.inject({ method: "GET", url });
    assert.equal(response.statusCode, 400, url);
    assert.deepEqual(response.json(), inPath.json(), url);
  }
  const good = await gateway.app.inject({ method: "GET", url: "/items/1?text=a+b%20c%E2%9C%93&tag=x&tag=y&flag" });
  assert.equal(good.statusCode, 200);
  assert.deepEqual(good.json(), { query: { text: "a b c✓", tag: ["x", "y"], flag: "" } });
});

test("bad bodies get 4xx JSON errors: invalid JSON, empty JSON, too large, wrong content type", async (t) => {
  const gateway = await gatewayFor(t, { bodyBytesMax: 64 });
  await gateway.register(async (app) => {
    app.post("/echo", async (request) => ({ received: request.body }));
  });

  const echoed = await gateway.app.inject({ method: "POST", url: "/echo", payload: { a: 1 } });
  assert.equal(echoed.statusCode, 200);
  assert.deepEqual(echoed.json(), { received: { a: 1 } });

  const invalid = await gateway.app.inject({
    method: "POST",
    url: "/echo",
    headers: { "content-type": "application/json" },
    payload: '{"text": ',
  });
  assert.equal(invalid.statusCode, 400);
  assert.equal(invalid.json().error, "SLUICE_INVALID_JSON");

  const empty = await gateway.app.inject({
    method: "POST",
    url: "/echo",
    headers: { "content-type": "application/json" },
    payload: "",
  });
  assert.equal(empty.statusCode, 400);
  assert.equal(empty.json().error, "SLUICE_INVALID_JSON");

  const poisoned = await gateway.app.inject({
    method: "POST",
    url: "/echo",
    headers: { "content-type": "application/json" },
    payload: '{"__proto__": {"admin": true}}',
  });
  assert.equal(poisoned.statusCode, 400);
  assert.equal(poisoned.json().error, "SLUICE_INVALID_JSON");

  const large = await gateway.app.inject({ method: "POST", url: "/echo", payload: { text: "x".repeat(100) } });
  assert.equal(large.statusCode, 413);
  assert.equal(large.json().error, "SLUICE_BODY_TOO_LARGE");

  const plain = await gateway.app.inject({
    method: "POST",
    url: "/echo",
    headers: { "content-type": "text/plain" },
    payload: "hello",
  });
  assert.equal(plain.statusCode, 415);
  assert.equal(plain.json().error, "SLUICE_UNSUPPORTED_MEDIA_TYPE");
});

test("route errors map to the catalogue: gateway errors, schema validation, event validation, crashes", async (t) => {
  const { logger, lines } = capturedLogger();
  const gateway = await gatewayFor(t, { logger });
  const topic = defineTopic({ name: "notes.saved", schema: Type.Object({ text: Type.String({ maxLength: 5 }) }) });
  await gateway.register(async (app) => {
    app.post("/validated", async () => {
      throw validationFailed("text", "text must not be empty");
    });
    app.post(
      "/schema",
      { schema: { body: { type: "object", required: ["text"], properties: { text: { type: "string" } } } } },
      async () => ({ ok: true }),
    );
    app.post("/event", async (request) => topic.validate(request.body));
    app.get("/conflict", async () => {
      throw new GatewayError(GatewayErrorCode.CONFLICT, "already there", { field: "name" });
    });
    app.get("/crash", async () => {
      throw new Error("secret internal detail");
    });
    app.get("/throws-string", async () => {
      throw "not an error";
    });
  });

  const validated = await gateway.app.inject({ method: "POST", url: "/validated", payload: {} });
  assert.equal(validated.statusCode, 400);
  assert.deepEqual(validated.json(), {
    error: "SLUICE_VALIDATION_FAILED",
    message: "text must not be empty",
    field: "text",
  });

  const missing = await gateway.app.inject({ method: "POST", url: "/schema", payload: {} });
  assert.equal(missing.statusCode, 400);
  assert.equal(missing.json().error, "SLUICE_VALIDATION_FAILED");
  assert.equal(missing.json().field, "text");

  const wrongType = await gateway.app.inject({ method: "POST", url: "/schema", payload: { text: { nested: 1 } } });
  assert.equal(wrongType.statusCode, 400);
  assert.equal(wrongType.json().field, "text");
  assert.match(wrongType.json().message, /string/);

  const tooLong = await gateway.app.inject({ method: "POST", url: "/event", payload: { text: "far too long" } });
  assert.equal(tooLong.statusCode, 400);
  assert.equal(tooLong.json().error, "SLUICE_VALIDATION_FAILED");
  assert.equal(tooLong.json().field, "text");

  const conflict = await gateway.app.inject({ method: "GET", url: "/conflict" });
  assert.equal(conflict.statusCode, 409);
  assert.deepEqual(conflict.json(), { error: "SLUICE_CONFLICT", message: "already there", field: "name" });

  for (const url of ["/crash", "/throws-string"]) {
    const crash = await gateway.app.inject({ method: "GET", url });
    assert.equal(crash.statusCode, 500);
    assert.equal(crash.json().error, "SLUICE_INTERNAL");
    assert.doesNotMatch(crash.body, /secret internal detail|not an error/);
  }
  const failures = lines().filter((line) => line.msg === "request failed");
  assert.equal(failures.length, 2);
  assert.match(JSON.stringify(failures[0]?.err), /secret internal detail/);
});

storeTest(
  "a database that goes away answers 503 with Retry-After, not a hang or a 500",
  async (t, target) => {
    // The database is reached through a TCP proxy that the test can pull out, as when the server goes down.
    const upstream = new URL(target.url ?? "");
    const sockets = new Set<Socket>();
    const proxy = createServer((client) => {
      const server = connect(Number(upstream.port || 5432), upstream.hostname);
      for (const socket of [client, server]) {
        sockets.add(socket);
        socket.on("close", () => sockets.delete(socket));
        socket.on("error", () => undefined);
      }
      client.pipe(server).pipe(client);
    });
    await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
    const proxied = new URL(upstream);
    proxied.hostname = "127.0.0.1";
    proxied.port = String((proxy.address() as AddressInfo).port);
    const database = await target.open({ url: proxied.toString(), migrate: false, connectTimeoutMs: 500 });

    const gateway = await gatewayFor(t);
    await gateway.register(async (app) => {
      app.get("/count", async () => (await database.query("SELECT 1 AS one")).rows);
    });
    assert.equal((await gateway.app.inject({ method: "GET", url: "/count" })).statusCode, 200);

    await new Promise<void>((resolve) => {
      proxy.close(() => resolve());
      for (const socket of sockets) socket.destroy();
    });
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const started = Date.now();
      const response = await gateway.app.inject({ method: "GET", url: "/count" });
      assert.ok(Date.now() - started < 5_000, "the request must not hang");
      assert.equal(response.statusCode, 503, response.body);
      assert.equal(response.json().error, "SLUICE_UNAVAILABLE");
      assert.equal(response.headers["retry-after"], "1");
    }

    await database.close();
    const closed = await gateway.app.inject({ method: "GET", url: "/count" });
    assert.equal(closed.statusCode, 503);
  },
  { kinds: ["postgres"] },
);

test("GET /favicon.ico answers an icon, not a 404", async (t) => {
  const gateway = await gatewayFor(t);
  const response = await gateway.app.inject({ method: "GET", url: "/favicon.ico" });
  assert.equal(response.statusCode, 200);
  assert.equal(response.headers["content-type"], "image/svg+xml");
  assert.match(response.headers["cache-control"] as string, /max-age=\d+/);
  assert.match(response.body, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"[^>]*>[\s\S]*<\/svg>\n$/);
});

test("GET /healthz answers while the process lives", async (t) => {
  const gateway = await gatewayFor(t);
  const response = await gateway.app.inject({ method: "GET", url: "/healthz" });
  assert.equal(response.statusCode, 200);
  assert.deepEqual(response.json(), { status: "ok" });
});

test("GET /readyz runs every check and names the parts that are not ready", async (t) => {
  let brokerReason: string | null = "broker unreachable at 127.0.0.1:1";
  const gateway = await gatewayFor(t, {
    readinessCheckTimeoutMs: 100,
    readinessChecks: [{ name: "broker", check: async () => brokerReason }],
  });
  gateway.addReadinessCheck({ name: "always", check: async () => null });

  const notReady = await gateway.app.inject({ method: "GET", url: "/readyz" });
  assert.equal(notReady.statusCode, 503);
  const body = notReady.json();
  assert.equal(body.error, "SLUICE_UNAVAILABLE");
  assert.equal(body.message, "not ready: broker: broker unreachable at 127.0.0.1:1");
  assert.deepEqual(body.checks, [
    { name: "broker", ready: false, reason: "broker unreachable at 127.0.0.1:1" },
    { name: "always", ready: true, reason: null },
  ]);

  brokerReason = null;
  const ready = await gateway.app.inject({ method: "GET", url: "/readyz" });
  assert.equal(ready.statusCode, 200);
  assert.equal(ready.json().status, "ready");

  gateway.addReadinessCheck({ name: "throws", check: () => Promise.reject(new Error("boom")) });
  gateway.addReadinessCheck({ name: "hangs", check: () => new Promise(() => undefined) });
  const started = Date.now();
  const failing = await gateway.app.inject({ method: "GET", url: "/readyz" });
  assert.ok(Date.now() - started < 2_000, "a hanging check must not hang the probe");
  assert.equal(failing.statusCode, 503);
  const reasons = Object.fromEntries(
    (failing.json().checks as { name: string; reason: string | null }[]).map((check) => [check.name, check.reason]),
  );
  assert.equal(reasons.throws, "check failed: boom");
  assert.equal(reasons.hangs, "did not answer within 100 ms");
});

test("readiness refuses duplicate and badly named checks", async (t) => {
  const gateway = await gatewayFor(t, { readinessChecks: [{ name: "database", check: async () => null }] });
  assert.throws(() => gateway.addReadinessCheck({ name: "database", check: async () => null }), /already registered/);
  assert.throws(() => gateway.addReadinessCheck({ name: "Bad Name", check: async () => null }), /invalid/);
});

test("GET /metrics serves HTTP request metrics with bounded route labels, plus the registry's own metrics", async (t) => {
  const registry = new Registry();
  const gateway = await gatewayFor(t, { metricsRegistry: registry, collectProcessMetrics: true });
  await gateway.register(async (app) => {
    app.get("/items/:id", async () => ({ ok: true }));
  });
  await gateway.app.inject({ method: "GET", url: "/items/1" });
  await gateway.app.inject({ method: "GET", url: "/items/2" });
  await gateway.app.inject({ method: "GET", url: "/random-probe-1" });
  await gateway.app.inject({ method: "GET", url: "/random-probe-2" });

  const response = await gateway.app.inject({ method: "GET", url: "/metrics" });
  assert.equal(response.statusCode, 200);
  assert.match(response.headers["content-type"] as string, /^text\/plain/);
  const text = response.body;
  assert.match(
    text,
    /sluice_http_request_duration_seconds_count\{method="GET",route="\/items\/:id",status_code="200"\} 2/,
  );
  assert.match(
    text,
    /sluice_http_request_duration_seconds_count\{method="GET",route="unmatched",status_code="404"\} 2/,
  );
  assert.doesNotMatch(text, /random-probe/);
  assert.match(text, /process_cpu_user_seconds_total/);
});

test("each request is logged once with method, status and duration; tokens in URLs are redacted", async (t) => {
  const { logger, lines } = capturedLogger();
  const gateway = await gatewayFor(t, { logger });
  await gateway.register(async (app) => {
    app.get("/hello", async () => ({ hello: "world" }));
  });
  const response = await gateway.app.inject({
    method: "GET",
    url: "/hello?token=abc.def.ghi&x=1",
    headers: { "x-request-id": "trace-42" },
  });
  assert.equal(response.statusCode, 200);
  assert.equal(response.headers["x-request-id"], "trace-42");

  const generated = await gateway.app.inject({
    method: "GET",
    url: "/hello",
    headers: { "x-request-id": "not a valid id because of spaces" },
  });
  assert.match(generated.headers["x-request-id"] as string, /^[0-9a-f-]{36}$/);

  const completed = lines().filter((line) => line.msg === "request completed");
  assert.equal(completed.length, 2);
  const first = completed[0] ?? {};
  assert.equal(first.method, "GET");
  assert.equal(first.url, "/hello?token=[redacted]&x=1");
  assert.equal(first.statusCode, 200);
  assert.equal(first.reqId, "trace-42");
  assert.equal(typeof first.durationMs, "number");
  assert.doesNotMatch(JSON.stringify(lines()), /abc\.def\.ghi/);
});

test("listen() serves real HTTP; close() lets requests in flight finish and reports not ready meanwhile", async (t) => {
  const gateway = await gatewayFor(t);
  let release: () => void = () => undefined;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  let arrived: () => void = () => undefined;
  const slowArrived = new Promise<void>((resolve) => {
    arrived = resolve;
  });
  await gateway.register(async (app) => {
    app.get("/slow", async () => {
      arrived();
      await released;
      return { finished: true };
    });
  });
  const url = await gateway.listen();
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.equal(gateway.url, url);
  await assert.rejects(
    gateway.register(async () => undefined),
    /before listen/,
  );

  const health = await fetch(`${url}/healthz`);
  assert.equal(health.status, 200);

  const slow = fetch(`${url}/slow`);
  await slowArrived;
  const closed = gateway.close();
  const report = await gateway.readiness.evaluate();
  assert.equal(report.ready, false);
  assert.equal(report.checks[0]?.reason, "the gateway is shutting down");

  release();
  const answer = await slow;
  assert.equal(answer.status, 200);
  assert.deepEqual(await answer.json(), { finished: true });
  await closed;
  await assert.rejects(fetch(`${url}/healthz`));
});

test("close() cuts off a request that outlives closeTimeoutMs", async (t) => {
  const gateway = await gatewayFor(t, { closeTimeoutMs: 100 });
  let arrived: () => void = () => undefined;
  const hangingArrived = new Promise<void>((resolve) => {
    arrived = resolve;
  });
  await gateway.register(async (app) => {
    app.get("/hang", async () => {
      arrived();
      return new Promise(() => undefined);
    });
  });
  const url = await gateway.listen();
  const hanging = fetch(`${url}/hang`).then(
    () => "answered",
    () => "cut off",
  );
  await hangingArrived;
  const started = Date.now();
  await gateway.close();
  assert.ok(Date.now() - started < 2_000, `close took ${Date.now() - started} ms`);
  assert.equal(await hanging, "cut off");
});

test("options are validated with errors that name the setting", async () => {
  await assert.rejects(createGateway({ logger: silent, port: 70_000 }), /port must be an integer from 0 to 65535/);
  await assert.rejects(createGateway({ logger: silent, bodyBytesMax: 0 }), /bodyBytesMax/);
  await assert.rejects(createGateway({ logger: silent, readinessCheckTimeoutMs: -1 }), /readinessCheckTimeoutMs/);
});
