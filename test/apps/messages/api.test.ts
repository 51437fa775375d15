// The message board's HTTP API end to end, against the real embedded system (broker, PGlite, relay, worker, HTTP
// server) started the way `sluice up` starts it: posting, storing, listing, paging, the compatibility endpoints,
// and every kind of bad input.

import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";

import { allMessages, boardForTest, request, waitUntilStored, type MessageBody, type PageBody } from "./harness.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

interface Accepted {
  id: string;
  status: string;
  acceptedAt: string;
}

async function post(url: string, json: unknown): Promise<Accepted> {
  const response = await request(`${url}/api/messages`, { json });
  assert.equal(response.status, 202, JSON.stringify(response.body));
  return response.body as Accepted;
}

test("the message board API, end to end", { timeout: 120_000 }, async (t) => {
  const { url } = await boardForTest(t);

  await t.test("a posted message is accepted with its event id, then stored by the worker", async () => {
    const response = await request(`${url}/api/messages`, { json: { text: "  hello, board  ", template: "space" } });
    assert.equal(response.status, 202);
    const accepted = response.body as Accepted;
    assert.match(accepted.id, UUID);
    assert.equal(accepted.status, "accepted");
    assert.equal(response.headers.get("location"), `/api/messages/${accepted.id}`);

    const [newest] = await waitUntilStored(url, [accepted.id]);
    assert.equal(newest?.id, accepted.id, "the newest message comes first");
    const stored = await request(`${url}/api/messages/${accepted.id}`);
    assert.equal(stored.status, 200);
    const message = stored.body as MessageBody;
    assert.equal(message.text, "hello, board", "surrounding whitespace is trimmed");
    assert.equal(message.template, "space");
    assert.equal(message.author, null);
    assert.equal(message.acceptedAt, accepted.acceptedAt);
    assert.ok(Date.parse(message.storedAt) >= Date.parse(message.acceptedAt));
  });

  await t.test("the template defaults to classic", async () => {
    const { id } = await post(url, { text: "no template given" });
    await waitUntilStored(url, [id]);
    const stored = (await request(`${url}/api/messages/${id}`)).body as MessageBody;
    assert.equal(stored.template, "classic");
  });

  await t.test("a retried post with the same id is accepted again but stored once", async () => {
    const id = randomUUID();
    const first = await post(url, { id, text: "sent twice" });
    const second = await post(url, { id, text: "sent twice" });
    assert.equal(first.id, id);
    assert.equal(second.id, id);
    await waitUntilStored(url, [id]);
    const copies = (await allMessages(url)).filter((message) => message.id === id);
    assert.equal(copies.length, 1);
  });

  await t.test("reposting an id with other text or template is refused with 409; the first message stays", async () => {
    const id = randomUUID();
    await post(url, { id, text: "the first words" });
    const changedAtOnce = await request(`${url}/api/messages`, { json: { id, text: "other words" } });
    assert.equal(changedAtOnce.status, 409, JSON.stringify(changedAtOnce.body));
    assert.deepEqual(Object.keys(changedAtOnce.body as object).sort(), ["error", "field", "message"]);
    assert.equal((changedAtOnce.body as { error: string }).error, "SLUICE_CONFLICT");
    assert.equal((changedAtOnce.body as { field: string }).field, "id");
    await waitUntilStored(url, [id]);
    const changedLater = await request(`${url}/save?id=${id}&data=the+first+words&template=space`);
    assert.equal(changedLater.status, 409, JSON.stringify(changedLater.body));
    await post(url, { id, text: "the first words" });
    const stored = (await request(`${url}/api/messages/${id}`)).body as MessageBody;
    assert.equal(stored.text, "the first words");
    assert.equal(stored.template, "classic");
  });

  await t.test("listing pages newest first without gaps or overlaps", async () => {
    const ids: string[] = [];
    // Posted one at a time, each stored before the next, so that the stored order is known.
    for (let index = 0; index < 7; index++) {
      const { id } = await post(url, { text: `page test ${index}` });
      await waitUntilStored(url, [id]);
      ids.push(id);
    }
    const everything = await allMessages(url);
    const expectedNewestFirst = [...ids].reverse();
    assert.deepEqual(
      everything.slice(0, 7).map((message) => message.id),
      expectedNewestFirst,
    );

    const pages: MessageBody[][] = [];
    let before: string | null = null;
    do {
      const query: string = before === null ? "limit=3" : `limit=3&before=${before}`;
      const response = await request(`${url}/api/messages?${query}`);
      assert.equal(response.status, 200);
      const page = response.body as PageBody;
      assert.ok(page.messages.length <= 3);
      pages.push(page.messages);
      before = page.nextCursor;
    } while (before !== null);
    assert.deepEqual(
      pages.flat().map((message) => message.id),
      everything.map((message) => message.id),
    );
    assert.ok(
      pages.slice(0, -1).every((page) => page.length === 3),
      "every page but the last is full",
    );
    const cursors = everything.map((message) => Number(message.cursor));
    assert.deepEqual(
      cursors,
      [...cursors].sort((left, right) => right - left),
      "cursors fall from page to page",
    );

    const defaultPage = (await request(`${url}/api/messages`)).body as PageBody;
    assert.equal(defaultPage.messages.length, Math.min(20, everything.length));
  });

  await t.test("GET /save accepts like POST; browsers are sent on to /view", async () => {
    const curl = await request(`${url}/save?data=${encodeURIComponent("from curl <b>")}&template=space`);
    assert.equal(curl.status, 202);
    const { id } = curl.body as Accepted;
    await waitUntilStored(url, [id]);
    const stored = (await request(`${url}/api/messages/${id}`)).body as MessageBody;
    assert.deepEqual([stored.text, stored.template], ["from curl <b>", "space"]);

    const browser = await fetch(`${url}/save?data=from+a+browser`, {
      headers: { accept: "text/html,application/xhtml+xml,*/*;q=0.8" },
      redirect: "manual",
    });
    assert.equal(browser.status, 303);
    const location = browser.headers.get("location") ?? "";
    assert.match(location, /^\/view\?accepted=[0-9a-f-]{36}$/);
    await waitUntilStored(url, [location.slice("/view?accepted=".length)]);
  });

  await t.test("GET /view answers HTML to browsers, with the text escaped, and JSON to others", async () => {
    const html = await fetch(`${url}/view?template=space`, { headers: { accept: "text/html" } });
    assert.equal(html.status, 200);
    assert.match(html.headers.get("content-type") ?? "", /^text\/html/);
    const page = await html.text();
    assert.match(page, /<body data-template="space">/);
    assert.ok(page.includes("from curl &lt;b&gt;"), "message text is escaped");
    assert.ok(!page.includes("from curl <b>"));

    const json = await request(`${url}/view?limit=2`);
    assert.equal(json.status, 200);
    assert.equal((json.body as PageBody).messages.length, 2);
  });

  await t.test("the web page and its files are served", async () => {
    const index = await fetch(`${url}/`);
    assert.equal(index.status, 200);
    assert.match(index.headers.get("content-type") ?? "", /^text\/html/);
    assert.match(await index.text(), /<script type="module" src="\/messages\/board.js"><\/script>/);
    const script = await fetch(`${url}/messages/board.js`);
    assert.match(script.headers.get("content-type") ?? "", /^text\/javascript/);
    const etag = script.headers.get("etag");
    assert.ok(etag !== null);
    const again = await fetch(`${url}/messages/board.js`, { headers: { "if-none-match": etag } });
    assert.equal(again.status, 304);
  });

  await t.test("every bad input gets a 4xx JSON error naming the field", async () => {
    const long = "x".repeat(1001);
    const cases: Array<{
      name: string;
      path?: string;
      method?: string;
      body?: string;
      json?: unknown;
      headers?: Record<string, string>;
      status: number;
      error: string;
      field?: string;
    }> = [
      { name: "invalid JSON", body: '{"text": ', headers: json(), status: 400, error: "SLUICE_INVALID_JSON" },
      { name: "empty JSON body", body: "", headers: json(), status: 400, error: "SLUICE_INVALID_JSON" },
      { name: "an array", json: ["hello"], status: 400, error: "SLUICE_VALIDATION_FAILED", field: "(body)" },
      { name: "a string", json: "hello", status: 400, error: "SLUICE_VALIDATION_FAILED", field: "(body)" },
      { name: "null", json: null, status: 400, error: "SLUICE_VALIDATION_FAILED", field: "(body)" },
      { name: "no text", json: {}, status: 400, error: "SLUICE_VALIDATION_FAILED", field: "text" },
      { name: "text null", json: { text: null }, status: 400, error: "SLUICE_VALIDATION_FAILED", field: "text" },
      { name: "text a number", json: { text: 42 }, status: 400, error: "SLUICE_VALIDATION_FAILED", field: "text" },
      { name: "text empty", json: { text: "" }, status: 400, error: "SLUICE_VALIDATION_FAILED", field: "text" },
      { name: "text blank", json: { text: " \n\t " }, status: 400, error: "SLUICE_VALIDATION_FAILED", field: "text" },
      { name: "text too long", json: { text: long }, status: 400, error: "SLUICE_VALIDATION_FAILED", field: "text" },
      {
        name: "text of zero-width characters only",
        json: { text: "\u200b\u200c\u200d\u2060 \ufe0f" },
        status: 400,
        error: "SLUICE_VALIDATION_FAILED",
        field: "text",
      },
      {
        name: "/save with zero-width characters only",
        path: "/save?data=%E2%80%8B%E2%80%8D",
        status: 400,
        error: "SLUICE_VALIDATION_FAILED",
        field: "data",
      },
      {
        name: "/save with malformed percent-encoding",
        path: "/save?data=%E0%A4",
        status: 400,
        error: "SLUICE_BAD_REQUEST",
      },
      {
        name: "a path with malformed percent-encoding",
        path: "/api/messages/%",
        status: 400,
        error: "SLUICE_BAD_REQUEST",
      },
      {
        name: "text with NUL",
        json: { text: "a\u0000b" },
        status: 400,
        error: "SLUICE_VALIDATION_FAILED",
        field: "text",
      },
      {
        name: "text with a lone surrogate",
        body: '{"text":"a\\ud800b"}',
        headers: json(),
        status: 400,
        error: "SLUICE_VALIDATION_FAILED",
        field: "text",
      },
      {
        name: "unknown template",
        json: { text: "hi", template: "neon" },
        status: 400,
        error: "SLUICE_VALIDATION_FAILED",
        field: "template",
      },
      {
        name: "template a number",
        json: { text: "hi", template: 1 },
        status: 400,
        error: "SLUICE_VALIDATION_FAILED",
        field: "template",
      },
      {
        name: "an unknown field",
        json: { text: "hi", txt: "typo" },
        status: 400,
        error: "SLUICE_VALIDATION_FAILED",
        field: "txt",
      },
      {
        name: "id not a UUID",
        json: { id: "42", text: "hi" },
        status: 400,
        error: "SLUICE_VALIDATION_FAILED",
        field: "id",
      },
      {
        name: "a body over the size limit",
        json: { text: "y".repeat(1024 * 1024 + 10) },
        status: 413,
        error: "SLUICE_BODY_TOO_LARGE",
      },
      {
        name: "not JSON at all",
        body: "text=hello",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        status: 415,
        error: "SLUICE_UNSUPPORTED_MEDIA_TYPE",
      },
      {
        name: "limit 0",
        path: "/api/messages?limit=0",
        status: 400,
        error: "SLUICE_VALIDATION_FAILED",
        field: "limit",
      },
      {
        name: "limit over the page size maximum",
        path: "/api/messages?limit=101",
        status: 400,
        error: "SLUICE_VALIDATION_FAILED",
        field: "limit",
      },
      {
        name: "limit text",
        path: "/api/messages?limit=ten",
        status: 400,
        error: "SLUICE_VALIDATION_FAILED",
        field: "limit",
      },
      {
        name: "limit twice",
        path: "/api/messages?limit=1&limit=2",
        status: 400,
        error: "SLUICE_VALIDATION_FAILED",
        field: "limit",
      },
      {
        name: "a cursor that is no cursor",
        path: "/api/messages?before=-1",
        status: 400,
        error: "SLUICE_VALIDATION_FAILED",
        field: "before",
      },
      {
        name: "a huge cursor",
        path: `/api/messages?before=${"9".repeat(40)}`,
        status: 400,
        error: "SLUICE_VALIDATION_FAILED",
        field: "before",
      },
      {
        name: "a message id that is no UUID",
        path: "/api/messages/abc",
        status: 400,
        error: "SLUICE_VALIDATION_FAILED",
        field: "id",
      },
      { name: "a message never posted", path: `/api/messages/${randomUUID()}`, status: 404, error: "SLUICE_NOT_FOUND" },
      { name: "/save without data", path: "/save", status: 400, error: "SLUICE_VALIDATION_FAILED", field: "data" },
      {
        name: "/save with data twice",
        path: "/save?data=a&data=b",
        status: 400,
        error: "SLUICE_VALIDATION_FAILED",
        field: "data",
      },
      {
        name: "/save with an unknown template",
        path: "/save?data=a&template=comic",
        status: 400,
        error: "SLUICE_VALIDATION_FAILED",
        field: "template",
      },
      {
        name: "/view with an unknown template",
        path: "/view?template=comic",
        headers: { accept: "text/html" },
        status: 400,
        error: "SLUICE_VALIDATION_FAILED",
        field: "template",
      },
      { name: "an unknown route", path: "/api/nothing-here", status: 404, error: "SLUICE_NOT_FOUND" },
      { name: "a wrong method", path: "/api/messages", method: "DELETE", status: 404, error: "SLUICE_NOT_FOUND" },
    ];
    const before = (await allMessages(url)).length;
    for (const bad of cases) {
      const path = bad.path ?? "/api/messages";
      const method = bad.method ?? (bad.path === undefined ? "POST" : "GET");
      const response = await request(`${url}${path}`, { method, body: bad.body, json: bad.json, headers: bad.headers });
      assert.equal(response.status, bad.status, `${bad.name}: ${JSON.stringify(response.body)}`);
      const body = response.body as { error: string; message: string; field?: string };
      assert.equal(body.error, bad.error, bad.name);
      assert.equal(typeof body.message, "string", bad.name);
      assert.ok(body.message.length > 0, bad.name);
      if (bad.field !== undefined) assert.equal(body.field, bad.field, bad.name);
    }
    // Nothing bad was accepted, and the board still works after all of it.
    const { id } = await post(url, { text: "still working" });
    const after = await waitUntilStored(url, [id]);
    assert.equal(after.length, before + 1);
  });

  await t.test("the longest allowed text, counted in characters, is accepted", async () => {
    const text = "😀".repeat(1000);
    const { id } = await post(url, { text });
    await waitUntilStored(url, [id]);
    assert.equal(((await request(`${url}/api/messages/${id}`)).body as MessageBody).text, text);
  });

  await t.test("health, readiness and metrics", async () => {
    assert.equal((await request(`${url}/healthz`)).status, 200);
    const ready = await request(`${url}/readyz`);
    assert.equal(ready.status, 200, JSON.stringify(ready.body));
    const checks = (ready.body as { checks: Array<{ name: string }> }).checks.map((check) => check.name);
    for (const name of ["database", "migrations", "broker", "relay", "worker"]) assert.ok(checks.includes(name), name);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    assert.match(metrics, /sluice_messages_accepted_total\{endpoint="api"\} [1-9]/);
    assert.match(metrics, /sluice_messages_accepted_total\{endpoint="save"\} [1-9]/);
  });

  await t.test("a scrape of /metrics reads the relay's and the worker's lag, with everything stored: 0", async () => {
    // Read when scraped, not on a timer; a scrape waits at most 2 s for the readings, so the first ones (which open
    // an admin connection) may show the last values: the scrape is repeated until both gauges are there.
    const outboxLag = /^sluice_outbox_waiting_events\{schema="[^"]+"\} (\d+)$/m;
    const consumerLag = /^sluice_consumer_lag\{[^}]*group="[^"]+"[^}]*\} (\d+)$/m;
    const lagsIn = (text: string): number[] =>
      [...text.matchAll(new RegExp(consumerLag.source, "gm"))].map((match) => Number(match[1]));
    // The worker commits its offsets just after it stores, and a reading is reused for 5 s: wait for the lag to drain.
    let metrics = "";
    for (let attempt = 0; attempt < 60; attempt++) {
      metrics = await (await fetch(`${url}/metrics`)).text();
      const lags = lagsIn(metrics);
      if (outboxLag.test(metrics) && lags.length > 0 && lags.every((lag) => lag === 0)) break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    assert.equal(outboxLag.exec(metrics)?.[1], "0", "no outbox row waits");
    const lags = lagsIn(metrics);
    assert.ok(lags.length > 0, "the worker's lag is on /metrics");
    assert.ok(
      lags.every((lag) => lag === 0),
      `every stored message was consumed: ${lags.join(", ")}`,
    );
  });
});

function json(): Record<string, string> {
  return { "content-type": "application/json" };
}
